"""Benchmark: offline ``make_plan`` against a baseline measured in the same run.

    python bench/plan_offline.py [--repeat N]

Two workloads:

- **example**: ``policies/example.yaml`` against ``state/example.json`` (what ``wbplan plan``
  does with no flags);
- **synthetic**: the same forest with password writeback scoped to 1,000 OUs (3,000 ACE
  requirements, half of them already granted) and a scope scan holding 10,000 OUs with protected
  DACLs and 50,000 users below them, i.e. a large snapshot.

The baseline of each workload is reading the snapshot the way ``--state`` does: JSON text →
schema validation → pydantic model (``planner.observe.snapshot.parse_state``). The plan time
covers requirements, diff (effective rights), DAG, fingerprints and the plan document. Printed:
best-of-N wall times and the ratio plan / baseline, which is comparable across machines where
absolute times are not. No assertion is made: a benchmark informs, a test decides.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS, EXTENDED_RIGHTS
from planner.model.policy import Policy
from planner.model.state import (
    Ace,
    AdObject,
    ObservedState,
    ScopedObject,
    ScopeScan,
    SecurityDescriptor,
)
from planner.observe.ad_scan import dacl_digest
from planner.observe.sd import descriptor_bytes
from planner.observe.snapshot import dump_state, parse_state
from planner.planfile import plan_document
from planner.planning import make_plan
from planner.policy.loader import load_policies

REPO = Path(__file__).resolve().parent.parent
BASE = "DC=contoso,DC=test"
SCOPE_OUS = 1_000
PROTECTED_OUS = 10_000
USERS = 50_000


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _defaults(inherited: bool) -> list[Ace]:
    flags = 0x12 if inherited else 0x02
    return [
        Ace(qualifier="allow", trustee="S-1-5-18", mask=0xF01FF, flags=flags),
        Ace(qualifier="allow", trustee="S-1-5-11", mask=0x20094, flags=flags),
    ]


def synthetic(
    policy: Policy,
    state: ObservedState,
    *,
    scope_ous: int = SCOPE_OUS,
    protected_ous: int = PROTECTED_OUS,
    users: int = USERS,
) -> tuple[Policy, ObservedState]:
    """The example forest, grown: many scope OUs and a large protected-OU scan."""
    assert state.ad is not None and state.ad.connector is not None
    assert policy.writeback.password is not None
    sid = state.ad.connector.sid or ""
    grants = [
        Ace(
            qualifier="allow",
            trustee=sid,
            mask=mask,
            flags=0x0A,
            object_type=guid,
            inherited_object_type=CLASS_GUIDS["user"],
        )
        for mask, guid in (
            (0x100, EXTENDED_RIGHTS["User-Force-Change-Password"]),
            (0x20, ATTRIBUTE_GUIDS["lockoutTime"]),
            (0x20, ATTRIBUTE_GUIDS["pwdLastSet"]),
        )
    ]
    scope = tuple(f"OU=Site{i:05d},OU=Sites,{BASE}" for i in range(scope_ous))
    ous = [
        AdObject(
            dn=dn,
            exists=True,
            object_class=("top", "organizationalUnit"),
            usn_changed=20_000 + i,
            security=SecurityDescriptor(
                dacl_protected=False,
                aces=(*(grants if i % 2 else ()), *_defaults(inherited=True)),
            ),
        )
        for i, dn in enumerate(scope)
    ]
    # The scope scan as refresh stores it since per-object verdicts: containers and objects
    # reference their DACL by digest in ``ad.dacls`` (equal DACLs stored once).
    locked = SecurityDescriptor(dacl_protected=True, aces=tuple(_defaults(False)))
    open_user = SecurityDescriptor(dacl_protected=False, aces=tuple(_defaults(True)))
    dacls = {dacl_digest(descriptor_bytes(sd)): sd for sd in (locked, open_user)}
    locked_key, user_key = list(dacls)
    protected = tuple(
        ScopedObject(
            dn=f"OU=Locked{i:05d},OU=Sites,{BASE}",
            object_class="organizationalUnit",
            dacl=locked_key,
        )
        for i in range(protected_ous)
    )
    people = tuple(
        ScopedObject(
            dn=f"CN=User{i:06d},OU=Locked{i % protected_ous:05d},OU=Sites,{BASE}",
            object_class="user",
            dacl=user_key,
        )
        for i in range(users)
    )
    ad = state.ad.model_copy(
        update={
            "objects": tuple(sorted((*state.ad.objects, *ous), key=lambda o: o.dn.lower())),
            "dacls": {**state.ad.dacls, **dacls},
            "scopes": (
                *state.ad.scopes,
                # every scope root is scanned (an unscanned root reads as not observed)
                *(ScopeScan(root=dn) for dn in scope),
                ScopeScan(
                    root=f"OU=Sites,{BASE}",
                    containers=tuple(sorted(protected, key=lambda o: o.dn.lower())),
                    objects=tuple(sorted(people, key=lambda o: o.dn.lower())),
                    ous_total=scope_ous + protected_ous,
                ),
            ),
        }
    )
    password = policy.writeback.password.model_copy(update={"scope": scope})
    grown = policy.model_copy(
        update={"writeback": policy.writeback.model_copy(update={"password": password})}
    )
    return grown, state.model_copy(update={"ad": ad})


def measure(name: str, policy: Policy, text: str, repeat: int) -> None:
    """Time the baseline (read the snapshot) and the plan, print both and the ratio."""
    state = parse_state(json.loads(text), name)

    def plan() -> object:
        return plan_document(
            make_plan(
                policy,
                state,
                policy_file="policy",
                policy_digest="sha256:bench",
                state_source=name,
                timestamp="2026-11-22T18:00:00Z",
            )
        )

    baseline = best_of(lambda: parse_state(json.loads(text), name), repeat)
    planning = best_of(plan, repeat)
    doc = plan()
    assert isinstance(doc, dict)
    changes = len(doc["resource_changes"]) + len(doc["deferred_changes"])
    print(
        f"{name:<10} snapshot {len(text) / 1e6:6.2f} MB  resources {changes:>5}  "
        f"read+validate {baseline * 1e3:9.1f} ms  plan {planning * 1e3:9.1f} ms  "
        f"ratio plan/read {planning / baseline:5.2f}"
    )


def main() -> None:
    """Run both workloads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best kept)")
    args = parser.parse_args()
    loaded = load_policies([REPO / "policies" / "example.yaml"]).policies[0]
    text = (REPO / "state" / "example.json").read_text(encoding="utf-8")
    measure("example", loaded.policy, text, args.repeat)
    policy, state = synthetic(loaded.policy, parse_state(json.loads(text), "example"))
    measure("synthetic", policy, dump_state(state), max(1, args.repeat // 2))


if __name__ == "__main__":
    main()
