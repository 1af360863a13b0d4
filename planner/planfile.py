"""Saved plans (``wbplan plan -out FILE``): the JSON plan document, the validated policy it was
computed from (apply re-observes exactly what that policy names), and a checksum over both so a
hand-edited or truncated file is refused before anything is read or written.

No secrets are in a plan: the policy holds none, and observations hold only directory data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pydantic

from planner.errors import PlanFileError
from planner.fileio import write_text_atomic
from planner.model.plan import PLAN_FORMAT_VERSION, Plan
from planner.model.policy import Policy

PLANFILE_FORMAT = "wbplan-planfile"


def plan_document(plan: Plan) -> dict[str, Any]:
    """The public JSON document (``plan --format json``)."""
    return plan.model_dump(mode="json", by_alias=True)


def _checksum(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_plan(plan: Plan, policy: Policy, path: Path) -> None:
    """Write atomically."""
    body = {"plan": plan_document(plan), "policy": policy.model_dump(mode="json", by_alias=True)}
    doc = {"format": PLANFILE_FORMAT, "checksum": _checksum(body), **body}
    write_text_atomic(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def load_plan(path: Path) -> tuple[Plan, Policy]:
    """Read and verify a saved plan."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path} is not a wbplan plan file (not JSON: {exc.msg})",
            hint="create one with `wbplan plan -out FILE`",
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != PLANFILE_FORMAT:
        raise PlanFileError(
            f"{path} is not a wbplan plan file", hint="create one with `wbplan plan -out FILE`"
        )
    body = {"plan": doc.get("plan"), "policy": doc.get("policy")}
    if doc.get("checksum") != _checksum(body):
        raise PlanFileError(
            f"{path} was modified after it was saved (checksum mismatch)",
            hint="never edit a saved plan; create a new one with `wbplan plan -out FILE`",
        )
    version = (body["plan"] or {}).get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path} has plan format {version}; this wbplan reads {PLAN_FORMAT_VERSION}",
            hint="re-create the plan with this wbplan version",
        )
    try:
        return Plan.model_validate(body["plan"]), Policy.model_validate(body["policy"])
    except pydantic.ValidationError as exc:
        raise PlanFileError(
            f"{path} does not match the plan format: {exc.error_count()} problem(s)"
        ) from exc
