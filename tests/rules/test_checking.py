"""make_report on built observations (the shipped example policy and snapshot, and variations
of them): waivers (waived, expired, scope not covering, not waivable), rule error isolation,
fail_on, applicability, lineage, and rules whose pass needs data no Samba fixture has (the
Windows Server 2016 schema for WB-KEY-001)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from planner.checking import active_waiver, catalogue, make_report
from planner.errors import WbplanError
from planner.model.policy import Policy
from planner.model.report import Report
from planner.model.state import ObservedState
from planner.observe.snapshot import load_state
from planner.policy.loader import load_policies
from planner.policy.semantics import scope_covers
from planner.rules import base
from tests.rules.support import one

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 22)
ADM = "CN=adm-jdoe,OU=Admins,OU=Staff,DC=contoso,DC=test"


@pytest.fixture(scope="module")
def example() -> tuple[Policy, ObservedState]:
    loaded = load_policies([REPO / "policies" / "example.yaml"], TODAY)
    assert not loaded.errors
    return loaded.policies[0].policy, load_state(REPO / "state" / "example.json")


def build(policy: Policy, state: ObservedState, **kw: Any) -> Report:
    return make_report(
        policy,
        state,
        policy_file="policies/example.yaml",
        policy_digest="sha256:x",
        state_source="state/example.json",
        timestamp="2026-11-22T18:00:00Z",
        today=kw.pop("today", TODAY),
        **kw,
    )


def with_waivers(policy: Policy, *waivers: dict[str, Any]) -> Policy:
    doc = policy.model_dump(mode="json", by_alias=True)
    doc["waivers"] = list(waivers)
    return Policy.model_validate(doc)


def waiver(rule: str, scope: str, expires: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "scope": scope,
        "reason": "why",
        "approved_by": "ciso",
        "expires": expires,
    }


def test_waived_failure_shows_its_waiver(example: tuple[Policy, ObservedState]) -> None:
    rep = build(*example)
    f = one(rep, "WB-PWD-003", ADM)
    assert f.status == "waived"
    assert f.waiver is not None and f.waiver.approved_by == "ciso@contoso.test"
    assert "waived: Tier-0 administrators" in f.message
    assert rep.summary.waived == 1
    assert one(rep, "WB-WVR-001").status == "pass"


def test_expired_waiver_stops_applying_and_is_itself_a_failure(
    example: tuple[Policy, ObservedState],
) -> None:
    policy, state = example
    lapsed = with_waivers(
        policy, waiver("WB-PWD-003", "OU=Admins,OU=Staff,DC=contoso,DC=test", "2026-11-21")
    )
    rep = build(lapsed, state)
    assert one(rep, "WB-PWD-003", ADM).status == "fail"
    expired = one(rep, "WB-WVR-001")
    assert (expired.status, expired.criticality, expired.address) == (
        "fail",
        "SHALL",
        "policy.waivers[0]",
    )
    assert expired.evidence["days_left"] == -1
    # the last day is still covered
    rep = build(lapsed, state, today=dt.date(2026, 11, 21))
    assert one(rep, "WB-PWD-003", ADM).status == "waived"


def test_waiver_scope_or_rule_not_covering_leaves_the_failure(
    example: tuple[Policy, ObservedState],
) -> None:
    policy, state = example
    elsewhere = with_waivers(
        policy,
        waiver("WB-PWD-003", "OU=Legacy,DC=contoso,DC=test", "2099-01-01"),
        waiver("WB-PWD-002", "OU=Admins,OU=Staff,DC=contoso,DC=test", "2099-01-01"),
    )
    rep = build(elsewhere, state)
    assert one(rep, "WB-PWD-003", ADM).status == "fail"
    # the second waiver covers WB-PWD-002 at OU=Admins, not WB-PWD-003
    assert one(rep, "WB-PWD-002", "OU=Admins,OU=Staff,DC=contoso,DC=test").status == "waived"


def test_waiver_rules_cannot_be_waived() -> None:
    waivers = with_waivers_raw(waiver("WB-WVR-001", "*", "2099-01-01"))
    assert active_waiver(waivers, "WB-WVR-001", "policy.waivers[0]", TODAY) is None
    assert active_waiver(waivers, "WB-WVR-002", "policy.waivers[0]", TODAY) is None


def with_waivers_raw(*waivers: dict[str, Any]) -> tuple[Any, ...]:
    from planner.model.policy import Waiver

    return tuple(Waiver.model_validate(w) for w in waivers)


def test_waiver_expiring_soon_is_a_should_failure_and_fail_on_should_counts_it(
    example: tuple[Policy, ObservedState],
) -> None:
    policy, state = example
    doc = policy.model_dump(mode="json", by_alias=True)
    doc["writeback"] = {}
    doc["waivers"] = [waiver("WB-PWD-003", "*", "2026-12-02")]
    bare = Policy.model_validate(doc)

    rep = build(bare, state)
    soon = one(rep, "WB-WVR-002")
    assert (soon.status, soon.criticality) == ("fail", "SHOULD")
    assert "expires in 10 day(s)" in soon.message
    assert rep.summary.should_failed == 1 and rep.summary.shall_failed == 0
    assert rep.compliant is True
    strict = build(bare, state, fail_on="should")
    assert strict.compliant is False and strict.fail_on == "should"


def test_a_rule_that_raises_is_an_error_finding_and_the_rest_still_run(
    example: tuple[Policy, ObservedState], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = base.REGISTRY["WB-LIC-001"]

    def broken(ctx: object) -> list[base.Result]:
        raise KeyError("servicePlans")

    monkeypatch.setitem(
        base.REGISTRY, "WB-LIC-001", base.Rule(original.info, original.applies, broken)
    )
    rep = build(*example)
    err = one(rep, "WB-LIC-001")
    assert err.status == "error" and err.address == "wbplan.rule[WB-LIC-001]"
    assert "KeyError" in err.message
    assert one(rep, "WB-PWD-004").status == "pass"
    assert rep.summary.error == 1 and rep.compliant is False


def test_failing_requirements_make_every_applicable_rule_an_error(
    example: tuple[Policy, ObservedState], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(policy: object, state: object) -> list[object]:
        raise RuntimeError("expand failed")

    monkeypatch.setattr("planner.rules.context.expand", boom)
    rep = build(*example)
    assert rep.findings and {f.status for f in rep.findings} == {"error"}
    assert rep.compliant is False


def test_not_applicable_rules_are_listed_not_reported(
    example: tuple[Policy, ObservedState],
) -> None:
    rep = build(*example)
    assert {"WB-EXH-001", "WB-HJ-001", "WB-KEY-001", "WB-KEY-002"} <= set(rep.not_applicable)
    assert not {f.rule_id for f in rep.findings} & set(rep.not_applicable)
    assert rep.rules == catalogue()
    assert [f.rule_id for f in rep.findings] == sorted(f.rule_id for f in rep.findings)


def test_another_forests_observations_are_refused(example: tuple[Policy, ObservedState]) -> None:
    policy, state = example
    assert state.ad is not None
    other = state.model_copy(update={"ad": state.ad.model_copy(update={"forest": "fabrikam.test"})})
    with pytest.raises(WbplanError, match=r"observed forest is fabrikam\.test"):
        build(policy, other)


def test_key_schema_2016_passes_and_older_fails(example: tuple[Policy, ObservedState]) -> None:
    policy, state = example
    doc = policy.model_dump(mode="json", by_alias=True)
    doc["writeback"] = {"ngc_keys": {"enabled": True}}
    keys = Policy.model_validate(doc)
    assert state.ad is not None
    info = state.ad.schema_info
    modern = info.model_copy(
        update={
            "object_version": 87,
            "attributes": {
                **info.attributes,
                "msDS-KeyCredentialLink": "5b47d60f-6090-40b2-9f37-2a4de88f3063",
            },
        }
    )
    state16 = state.model_copy(update={"ad": state.ad.model_copy(update={"schema_info": modern})})
    assert one(build(keys, state16), "WB-KEY-001").status == "pass"
    assert one(build(keys, state), "WB-KEY-001").status == "fail"


def test_connect_version_gates(example: tuple[Policy, ObservedState]) -> None:
    policy, state = example
    doc = policy.model_dump(mode="json", by_alias=True)
    doc["connect"] = {"version": "1.1.800.0"}
    old = Policy.model_validate(doc)
    f = one(build(old, state), "WB-CON-002")
    assert f.status == "fail" and "device writeback needs 1.1.819.0" in f.message
    declared = one(build(policy, state), "WB-CON-002")  # no Connect evidence in the example
    assert declared.status == "unknown" and "declared, not verified" in declared.message


def test_sync_recency_is_measured_at_observation_time(
    example: tuple[Policy, ObservedState],
) -> None:
    policy, state = example
    assert one(build(policy, state), "WB-TEN-001").status == "pass"  # 30 minutes old
    later = state.model_copy(update={"observed_at": "2026-11-22T21:31:00Z"})
    stale = one(build(policy, later), "WB-TEN-001")
    assert stale.status == "fail" and stale.evidence["age_hours"] == 4.02


@pytest.mark.parametrize(
    ("scope", "address", "covered"),
    [
        ("*", "tenant.licence[AAD_PREMIUM]", True),
        ("OU=Staff,DC=contoso,DC=test", "CN=a,OU=Admins,OU=Staff,DC=contoso,DC=test", True),
        ("ou=staff,dc=CONTOSO,dc=test", "OU=Staff,DC=contoso,DC=test", True),
        ("OU=Staff,DC=contoso,DC=test", "ad.object[CN=a,OU=Staff,DC=contoso,DC=test]", True),
        ("OU=Staff,DC=contoso,DC=test", "OU=Other,DC=contoso,DC=test", False),
        ("OU=Staff,DC=contoso,DC=test", "tenant.licence[AAD_PREMIUM]", False),
        ("tenant.licence[AAD_PREMIUM]", "tenant.licence[aad_premium]", True),
        ("tenant.licence[AAD_PREMIUM]", "tenant.licence[AAD_PREMIUM_P2]", False),
    ],
)
def test_scope_covers(scope: str, address: str, covered: bool) -> None:
    assert scope_covers(scope, address) is covered
