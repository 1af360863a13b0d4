"""The benchmarks' synthetic inputs stay valid for the current models (bench/plan_offline.py
built a scope scan in a shape the models had dropped and crashed unnoticed: benchmarks assert
nothing, so this test runs their input builders, small, and checks what they feed the plan)."""

from __future__ import annotations

import json

from bench.plan_offline import REPO, synthetic
from planner.observe.snapshot import dump_state, parse_state
from planner.planning import make_plan
from planner.policy.loader import load_policies


def test_the_synthetic_forest_is_a_valid_snapshot_whose_scope_is_planned() -> None:
    policy = load_policies([REPO / "policies" / "example.yaml"]).policies[0].policy
    text = (REPO / "state" / "example.json").read_text(encoding="utf-8")
    grown_policy, grown = synthetic(
        policy, parse_state(json.loads(text), "example"), scope_ous=6, protected_ous=4, users=9
    )
    # a round trip through the snapshot format: what the benchmark times is a valid file
    again = parse_state(json.loads(dump_state(grown)), "synthetic")
    assert again.ad is not None
    scan = again.ad.scopes[-1]
    assert (len(scan.containers), len(scan.objects)) == (4, 9)
    assert all(o.dacl in again.ad.dacls for o in (*scan.containers, *scan.objects))
    plan = make_plan(
        grown_policy,
        again,
        policy_file="policy",
        policy_digest="sha256:test",
        state_source="synthetic",
        timestamp="2026-11-22T18:00:00Z",
    )
    assert grown_policy.writeback.password is not None
    addresses = " ".join(c.address for c in plan.resource_changes if c.change.actions != ("no-op",))
    # half of the six scope OUs lack the grants: the plan grants on exactly those
    for i in range(6):
        planned = f"OU=Site{i:05d}" in addresses
        assert planned == (i % 2 == 0), (i, addresses)
