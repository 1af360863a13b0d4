"""Saved plans (``wbplan plan -out FILE``): the JSON plan document, the validated policy it was
computed from (apply re-observes exactly what that policy names), what the plan was observed
from (``observation``: a snapshot or a live reading, when, from where), the DACL of every
existing object an ACE change targets as it was observed (``dacls``: what ``apply PLAN --emit
ldif`` merges into when no connection is given), and a checksum over all of them so a
hand-edited or truncated file is refused before anything is read or written.

``observation`` and ``dacls`` are optional (files written before they existed have neither).
No secrets are in a plan: the policy holds none, and observations hold only directory data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from planner.errors import PlanFileError
from planner.fileio import BadFileError, first_problem, read_json, write_text_atomic
from planner.model.base import Frozen
from planner.model.dn import dn_key
from planner.model.plan import PLAN_FORMAT_VERSION, Plan
from planner.model.policy import Policy
from planner.model.state import ObservedState, SecurityDescriptor

PLANFILE_FORMAT = "wbplan-planfile"
OPTIONAL_PARTS = ("observation", "dacls")
"""Parts of a plan file besides ``plan`` and ``policy``; covered by the checksum when present."""


class Observation(Frozen):
    """What a saved plan was computed from."""

    source: str
    """``live``, a snapshot path, ``bundled example state``, or ``<AD> + tenant <file>``."""
    observed_at: str
    ldap_url: str | None = None
    """The DC read (live, or by the ``refresh`` that wrote the snapshot)."""
    graph_url: str | None = None

    def describe(self) -> str:
        """One line: ``snapshot state/prod.json, observed 2026-11-22T18:00:00Z (AD from
        ldaps://dc1.contoso.com)`` or ``a live reading at … (AD ldaps://…, Graph https://…)``."""
        where = [
            f"AD {self.ldap_url}" if self.ldap_url else "",
            f"Graph {self.graph_url}" if self.graph_url else "",
        ]
        parts = ", ".join(w for w in where if w)
        if self.source == "live":
            return f"a live reading at {self.observed_at}" + (f" ({parts})" if parts else "")
        return f"{self.source}, observed {self.observed_at}" + (f" ({parts})" if parts else "")


@dataclass(frozen=True)
class SavedPlan:
    """A verified plan file."""

    plan: Plan
    policy: Policy
    observation: Observation | None = None
    dacls: dict[str, SecurityDescriptor] = field(default_factory=dict)
    """``dn_key(dn)`` → DACL as observed, for every existing object an ACE change targets (empty
    in plan files written before wbplan recorded them)."""


def observation_of(state: ObservedState, source: str) -> Observation:
    """The ``observation`` part for a plan computed from ``state`` (labelled ``source``)."""
    return Observation(
        source=source,
        observed_at=state.observed_at,
        ldap_url=state.source.ldap_url,
        graph_url=state.source.graph_url,
    )


def ace_target_dacls(plan: Plan, state: ObservedState) -> dict[str, SecurityDescriptor]:
    """DN → observed DACL of every existing object an ACE change of ``plan`` adds to or removes
    from (objects the plan creates have none yet)."""
    from planner.observations import Index

    index = Index(state)
    out: dict[str, SecurityDescriptor] = {}
    for c in (*plan.resource_changes, *plan.deferred_changes):
        if c.type != "ad.ace" or not c.dn or c.change.actions[0] not in ("create", "delete"):
            continue
        found = index.object(c.dn)
        if found is not None and found.exists and found.security is not None:
            out.setdefault(c.dn, found.security)
    return out


def plan_document(plan: Plan) -> dict[str, Any]:
    """The public JSON document (``plan --format json``)."""
    return plan.model_dump(mode="json", by_alias=True)


def _checksum(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_plan(
    plan: Plan,
    policy: Policy,
    path: Path,
    *,
    observation: Observation | None = None,
    dacls: dict[str, SecurityDescriptor] | None = None,
) -> None:
    """Write atomically (``observation`` and ``dacls``: see the module docstring)."""
    body: dict[str, Any] = {
        "plan": plan_document(plan),
        "policy": policy.model_dump(mode="json", by_alias=True),
    }
    if observation is not None:
        body["observation"] = observation.model_dump(mode="json")
    if dacls:
        body["dacls"] = {dn: sd.model_dump(mode="json") for dn, sd in sorted(dacls.items())}
    doc = {"format": PLANFILE_FORMAT, "checksum": _checksum(body), **body}
    from planner.signing import sign_document

    signature = sign_document(doc)  # with WBPLAN_PLAN_KEY set (planner/signing.py)
    if signature is not None:
        doc["signature"] = signature
    write_text_atomic(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def load_plan(path: Path) -> tuple[Plan, Policy]:
    """Read and verify a saved plan: its plan and policy."""
    saved = load_plan_file(path)
    return saved.plan, saved.policy


def load_plan_file(path: Path) -> SavedPlan:
    """Read and verify a saved plan, with what it records besides the plan and policy.

    Every way the file can be bad — unreadable, too large, not UTF-8, not JSON, nested too
    deep, a huge number, a missing or mistyped part — is a ``PlanFileError`` naming the file."""
    hint = "create one with `wbplan plan -out FILE`"
    try:
        doc = read_json(path)
    except OSError as exc:
        raise PlanFileError(
            f"cannot read plan file {path}: {exc.strerror or exc}", hint="check the path"
        ) from exc
    except BadFileError as exc:
        raise PlanFileError(
            f"{path} is not a wbplan plan file ({exc.problem}{exc.at()})", hint=hint
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != PLANFILE_FORMAT:
        raise PlanFileError(f"{path} is not a wbplan plan file", hint=hint)
    body = {"plan": doc.get("plan"), "policy": doc.get("policy")}
    body |= {k: doc[k] for k in OPTIONAL_PARTS if k in doc}
    if doc.get("checksum") != _checksum(body):
        raise PlanFileError(
            f"{path} was modified after it was saved (checksum mismatch)",
            hint="never edit a saved plan; create a new one with `wbplan plan -out FILE`",
        )
    from planner.signing import verify_plan_document

    verify_plan_document(doc, path)
    for part in ("plan", "policy"):
        if not isinstance(body[part], dict):
            found = "missing" if body[part] is None else f"a JSON {type(body[part]).__name__}"
            raise PlanFileError(
                f"{path} does not match the plan format: its {part} is {found}, not an object",
                hint=hint,
            )
    version = dict(body["plan"] or {}).get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path} has plan format {version}; this wbplan reads {PLAN_FORMAT_VERSION}",
            hint="re-create the plan with this wbplan version",
        )
    observation = body.get("observation")
    dacls = body.get("dacls") or {}
    if not isinstance(dacls, dict):
        raise PlanFileError(f"{path} does not match the plan format: dacls is not a mapping")
    try:
        return SavedPlan(
            Plan.model_validate(body["plan"]),
            Policy.model_validate(body["policy"]),
            Observation.model_validate(observation) if observation is not None else None,
            {dn_key(dn): SecurityDescriptor.model_validate(sd) for dn, sd in dacls.items()},
        )
    except pydantic.ValidationError as exc:
        raise PlanFileError(
            f"{path} does not match the plan format: "
            f"{first_problem(exc.errors(), exc.error_count())}",
            hint=hint,
        ) from exc
