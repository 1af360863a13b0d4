"""Golden files of ``apply --emit`` (LDIF and PowerShell) for plan scenarios, and the command
that rewrites them: ``python -m tests.apply.emit_regen`` (then review
``git diff tests/apply/emit_goldens``).

Inputs are the plan scenarios' committed ``plan.json`` and ``state.json``
(tests/plan/scenarios): the security descriptors an emit would read from the DC are rebuilt from
each snapshot's observed DACLs with :func:`planner.observe.sd.descriptor_bytes`, so the output is
deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

from planner.apply.emit import render_emit
from planner.model.dn import dn_key
from planner.model.plan import Plan
from planner.model.state import ObservedState
from planner.observe.sd import descriptor_bytes

SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "plan" / "scenarios"
GOLDEN_DIR = Path(__file__).resolve().parent / "emit_goldens"
SCENARIOS = (
    "device-from-nothing",
    "password-from-nothing",
    "group-from-nothing",
    "device-remove-preparation",
    "ngc-keys-from-nothing",
    "keys-and-hybrid-join-remove-preparation",
    "drs-location-drift",
    "scp-tenant-drift",
    "hybrid-join-from-nothing",
    "exchange-hybrid-from-nothing",
    "schema-too-old",
    "connector-not-found",
    "fully-prepared",
)
OUTPUTS = {"ldif": "emit.ldif", "powershell": "emit.ps1"}


def scenario_plan(name: str) -> Plan:
    """The scenario's golden plan."""
    return Plan.model_validate(json.loads((SCENARIOS_DIR / name / "plan.json").read_text()))


def scenario_descriptors(name: str) -> dict[str, bytes]:
    """``dn_key`` → DACL-only descriptor of every object the scenario's snapshot read."""
    state = ObservedState.model_validate(
        json.loads((SCENARIOS_DIR / name / "state.json").read_text())
    )
    if state.ad is None:
        return {}
    return {
        dn_key(o.dn): descriptor_bytes(o.security)
        for o in state.ad.objects
        if o.exists and o.security is not None
    }


def render(name: str, fmt: str) -> str:
    """What ``apply --emit FMT`` writes for the scenario."""
    assert fmt in ("ldif", "powershell")
    return render_emit(
        scenario_plan(name),
        "ldif" if fmt == "ldif" else "powershell",
        scenario_descriptors(name),
    )


def main() -> None:
    """Rewrite every golden file."""
    for name in SCENARIOS:
        folder = GOLDEN_DIR / name
        folder.mkdir(parents=True, exist_ok=True)
        for fmt, filename in OUTPUTS.items():
            (folder / filename).write_text(render(name, fmt), encoding="utf-8", newline="\n")
        print(f"wrote {folder.relative_to(GOLDEN_DIR.parent)}")


if __name__ == "__main__":
    main()
