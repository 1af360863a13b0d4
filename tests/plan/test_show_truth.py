"""What a reviewer reads is what apply writes (issue 14 §2, issue 15 §4): the text renderer —
used by `wbplan plan` and `wbplan show` — describes each ACE from ``change.after`` (the concrete
ACE apply writes; ``change.before`` for a removal), not from the requirement's spec, with the
trustee's name beside its SID."""

from __future__ import annotations

import copy
import json
from typing import Any

from planner.render.plan_text import render_text
from tests.plan.harness import SCENARIOS_DIR


def _doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SCENARIOS_DIR / name / "plan.json").read_text("utf-8"))
    return doc


def test_an_edited_after_is_what_the_text_shows() -> None:
    doc = _doc("password-from-nothing")
    change = next(
        c
        for c in doc["resource_changes"]
        if c["address"].endswith("/password-writeback/reset-password]")
    )
    honest = render_text(doc)
    assert (
        "allow CA Reset Password on descendant user objects to CONTOSO\\MSOL_1a2b3c4d5e6f (S-1-5-21-"
        in honest
    )
    forged = copy.deepcopy(doc)
    forged_change = next(c for c in forged["resource_changes"] if c["address"] == change["address"])
    forged_change["change"]["after"].update(
        {
            "mask": 0xF01FF,
            "object_type": None,
            "inherited_object_type": None,
            "trustee": "S-1-1-0",
            "flags": 0x02,
        }
    )
    text = render_text(forged)
    # the spec (change.ace) still says Reset Password; the renderer shows what would be written
    assert "ace: allow GA on this object and descendants to Everyone" in text
    assert text.count("allow CA Reset Password") == honest.count("allow CA Reset Password") - 1


def test_every_planned_ace_is_shown_from_its_after() -> None:
    from planner.acewords import Names
    from planner.model.state import Ace

    for folder in sorted(SCENARIOS_DIR.iterdir()):
        if not (folder / "plan.json").exists():
            continue
        doc = _doc(folder.name)
        names = Names(None)
        names.sids.update(doc.get("principals") or {})
        text = render_text(doc)
        for c in doc["resource_changes"]:  # deferred changes are listed, not detailed
            action = c["change"]["actions"][0]
            if c["type"] != "ad.ace" or action not in ("create", "delete"):
                continue
            concrete = c["change"]["after"] if action == "create" else c["change"]["before"]
            assert f"ace: {names.ace(Ace.model_validate(concrete))}" in text, (
                folder.name,
                c["address"],
            )
