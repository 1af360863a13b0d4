"""Saved plans without a DC (issue 15 §3): what ``apply PLAN`` needs (only the sources the plan's
changes write or whose observations it re-checks — never what it could not observe), what
``plan -out`` advises, ``apply PLAN --emit`` offline from the plan file alone, the recorded
observation and DACLs (checksummed), and a declined prompt exiting 1.

The same behaviours on a real DC (LDAP only): tests/apply/test_ldap_only.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.apply.emit import recorded_descriptors, render_emit
from planner.apply.stale import NOT_OBSERVED, check_sources, needed_sources, needs_of
from planner.errors import PlanFileError, UsageError
from planner.model.dn import dn_key
from planner.model.state import Ace, SecurityDescriptor
from planner.observe.sd import descriptor_bytes, parse_descriptor
from planner.observe.snapshot import load_state
from planner.planfile import load_plan, load_plan_file
from planner.planning import make_plan
from planner.policy.loader import load_policies
from tests.apply.emit_regen import scenario_plan
from tests.apply.test_emit_golden import records
from tests.support.offline import REPO, go_offline, wbplan

SCENARIOS = REPO / "tests" / "plan" / "scenarios"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


def ldap_only_snapshot(tmp_path: Path, scenario: str = "password-from-nothing") -> Path:
    """The scenario's snapshot as `refresh` over LDAP only writes it: no tenant."""
    state = load_state(SCENARIOS / scenario / "state.json")
    path = tmp_path / "ad.json"
    data = state.model_copy(update={"tenant": None}).model_dump(mode="json", by_alias=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def ldap_only_plan(scenario: str = "password-from-nothing") -> Any:
    [loaded] = load_policies([SCENARIOS / scenario / "policy.yaml"]).policies
    state = load_state(SCENARIOS / scenario / "state.json").model_copy(update={"tenant": None})
    return make_plan(
        loaded.policy,
        state,
        policy_file="policy.yaml",
        policy_digest="sha256:" + loaded.digest,
        state_source="ad.json",
        timestamp="2026-11-22T18:00:00Z",
    )


# ----------------------------------------------------------------------------- needs


def test_an_ldap_only_plan_needs_ad_only() -> None:
    plan = ldap_only_plan()
    tenant_items = [c for c in plan.resource_changes if c.provider == "tenant"]
    assert tenant_items  # the licence is planned as not observed ...
    assert {c.change.actions[0] for c in tenant_items} == {"read"}  # ... and only read
    assert all(fp == NOT_OBSERVED for a, fp in plan.observed.items() if a.startswith("tenant."))
    assert needed_sources(plan) == (True, False)
    check_sources(plan, have_ad=True, have_tenant=False)  # no error


def test_the_committed_tenant_not_observed_scenario_needs_no_graph() -> None:
    assert needed_sources(scenario_plan("tenant-not-observed")) == (True, False)


def test_a_plan_that_changes_the_tenant_needs_graph_and_says_which_change() -> None:
    plan = scenario_plan("group-from-nothing")
    needs = needs_of(plan)
    assert needs.tenant_changes
    with pytest.raises(UsageError) as caught:
        check_sources(plan, have_ad=True, have_tenant=False)
    assert caught.value.message.startswith("this plan changes the tenant (tenant.")
    assert "no Graph endpoint or credential was given" in caught.value.message


def test_a_plan_that_read_the_tenant_needs_graph_to_check_it_is_not_stale() -> None:
    plan = scenario_plan("password-from-nothing")
    needs = needs_of(plan)
    assert not needs.tenant_changes and needs.tenant_observed
    with pytest.raises(UsageError) as caught:
        check_sources(plan, have_ad=True, have_tenant=False)
    assert "this plan read the tenant, and apply reads it again" in caught.value.message


def test_without_ldap_the_message_offers_emit() -> None:
    with pytest.raises(UsageError) as caught:
        check_sources(ldap_only_plan(), have_ad=False, have_tenant=False)
    assert caught.value.message.startswith("this plan changes AD (ad.")
    assert "--emit powershell" in (caught.value.hint or "")


# ----------------------------------------------------------------------------- plan -out


def test_plan_out_from_a_snapshot_names_what_apply_needs_and_offers_emit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    snapshot = ldap_only_snapshot(tmp_path)
    policy = SCENARIOS / "password-from-nothing" / "policy.yaml"
    result = wbplan("plan", "--policy", str(policy), "--state", str(snapshot), "-out", "p.wbplan")
    assert result.exit_code == 0, result.output
    advice = result.stderr
    assert f"Saved the plan to p.wbplan (planned from {snapshot})." in advice
    assert "so it needs a live connection: wbplan apply p.wbplan --ldap-url ldaps://" in advice
    assert "Graph" not in advice.split("\n")[0]  # an LDAP-only plan needs no Graph
    assert "wbplan apply p.wbplan --emit powershell -o prep.ps1" in advice
    assert "run: wbplan apply p.wbplan\n" not in advice  # the advice that could not work


def test_plan_out_of_the_example_asks_for_graph_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = wbplan("plan", "--example", "-out", "p.wbplan")
    assert result.exit_code == 0, result.output
    assert "--ldap-url ldaps://DC.EXAMPLE.COM and Graph credentials" in result.stderr


# ----------------------------------------------------------------------------- plan file


def test_the_plan_file_records_its_observation_and_the_dacls_of_ace_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert wbplan("plan", "--example", "-out", "p.wbplan").exit_code == 0
    saved = load_plan_file(tmp_path / "p.wbplan")
    assert saved.observation is not None
    assert saved.observation.source == "bundled example state"
    assert saved.observation.observed_at == "2026-11-22T18:00:00Z"
    assert saved.observation.describe() == ("bundled example state, observed 2026-11-22T18:00:00Z")
    targets = {
        dn_key(c.dn)
        for c in (*saved.plan.resource_changes, *saved.plan.deferred_changes)
        if c.type == "ad.ace" and c.dn and c.change.actions[0] in ("create", "delete")
    }
    assert saved.dacls
    assert set(saved.dacls) <= targets
    state = load_state(REPO / "state" / "example.json")
    assert state.ad is not None
    for key, sd in saved.dacls.items():
        [obj] = [o for o in state.ad.objects if dn_key(o.dn) == key] or [None]
        if obj is not None:
            assert obj.security == sd


def test_recorded_parts_are_checksummed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert wbplan("plan", "--example", "-out", "p.wbplan").exit_code == 0
    path = tmp_path / "p.wbplan"
    doc = json.loads(path.read_text())
    for part in ("observation", "dacls"):
        edited = {k: v for k, v in doc.items() if k != part}
        path.write_text(json.dumps(edited))
        with pytest.raises(PlanFileError, match="checksum mismatch"):
            load_plan(path)
    first = next(iter(doc["dacls"]))
    doc["dacls"][first]["aces"] = []
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanFileError, match="checksum mismatch"):
        load_plan(path)


def test_a_plan_file_without_the_recorded_parts_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files written before the observation and DACLs were recorded."""
    from planner.planfile import save_plan

    plan, policy = load_plan(_example_plan(tmp_path, monkeypatch))
    old = tmp_path / "old.wbplan"
    save_plan(plan, policy, old)
    saved = load_plan_file(old)
    assert saved.observation is None and saved.dacls == {}
    ps = wbplan("apply", str(old), "--emit", "powershell", "-o", str(tmp_path / "o.ps1"))
    assert ps.exit_code == 0, ps.output
    assert f"# planned from {plan.state_source} at {plan.timestamp}\n" in (
        (tmp_path / "o.ps1").read_text()
    )
    ldif = wbplan("apply", str(old), "--emit", "ldif", "-o", str(tmp_path / "o.ldif"))
    assert ldif.exit_code == 1
    assert "the plan file does not record the DACL of" in ldif.output
    assert "--emit powershell" in ldif.output


def _example_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    result = wbplan("plan", "--example", "-out", "p.wbplan")
    assert result.exit_code == 0, result.output
    return tmp_path / "p.wbplan"


# ----------------------------------------------------------------------------- emit offline


def test_emit_powershell_offline_from_the_plan_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _example_plan(tmp_path, monkeypatch)
    result = wbplan("apply", str(path), "--emit", "powershell", "-o", "prep.ps1")
    assert result.exit_code == 0, result.output
    assert "Wrote prep.ps1 (powershell); nothing was changed in AD or the tenant." in result.stdout
    text = (tmp_path / "prep.ps1").read_text()
    assert "# planned from bundled example state, observed 2026-11-22T18:00:00Z\n" in text
    saved = load_plan_file(path)
    # the same file the renderer writes from the plan, whatever the DACLs: the script reads
    # each DACL when it runs
    expected = render_emit(
        saved.plan,
        "powershell",
        {},
        observation=saved.observation.describe(),  # type: ignore[union-attr]
    )
    assert text == expected


def test_emit_ldif_offline_merges_into_the_dacls_the_plan_observed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _example_plan(tmp_path, monkeypatch)
    result = wbplan("apply", str(path), "--emit", "ldif", "-o", "prep.ldif")
    assert result.exit_code == 0, result.output
    assert "the plan was not checked for staleness" in result.stderr
    text = (tmp_path / "prep.ldif").read_text()
    assert "# planned from bundled example state, observed 2026-11-22T18:00:00Z\n" in text
    assert "# VALID ONLY WHILE THE OBJECTS ARE AS THE PLAN SAW THEM. Written with no" in text
    assert "# DACL as the plan observed it: sha256:" in text
    assert "DACL read at emit time" not in text
    # the records are those an emit with a connection would write had it read the same DACLs
    saved = load_plan_file(path)
    state = load_state(REPO / "state" / "example.json")
    assert state.ad is not None
    from planner.observations import Index

    index = Index(state)
    live = {}
    for key in saved.dacls:
        obj = index.object(
            next(c.dn for c in saved.plan.resource_changes if c.dn and dn_key(c.dn) == key)
        )  # type: ignore[arg-type]
        assert obj is not None and obj.security is not None
        live[key] = descriptor_bytes(obj.security)
    online = render_emit(saved.plan, "ldif", live)
    assert records(text) == records(online)
    assert any("nTSecurityDescriptor" in r for r in records(text))


def test_a_recorded_dacl_the_model_cannot_rebuild_is_refused_not_truncated() -> None:
    ace = Ace(qualifier="allow", trustee="S-1-5-11", mask=0x10, flags=0x2)
    plain = SecurityDescriptor(dacl_protected=False, aces=(ace,))
    full = parse_descriptor(descriptor_bytes(plain))
    assert full.sddl is not None
    callback = full.model_copy(update={"sddl": full.sddl + "(XA;;FA;;;WD;(Member_of {SID(BA)}))"})
    kept = recorded_descriptors({"a": plain, "b": full, "c": callback})
    assert set(kept) == {"a", "b"}


# ----------------------------------------------------------------------------- apply


def test_a_plan_with_nothing_to_apply_needs_no_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = SCENARIOS / "fully-prepared" / "policy.yaml"
    state = SCENARIOS / "fully-prepared" / "state.json"
    assert (
        wbplan("plan", "--policy", str(policy), "--state", str(state), "-out", "p").exit_code == 0
    )
    result = wbplan("apply", "p")
    assert result.exit_code == 0, result.output
    assert "No changes to apply." in result.output


def test_apply_of_a_saved_plan_without_ldap_names_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _example_plan(tmp_path, monkeypatch)
    result = wbplan("apply", str(path))
    assert result.exit_code == 1
    assert "apply always reads and writes live" in result.output
    assert "--emit powershell -o FILE` needs no connection" in result.output


def test_answering_no_at_the_prompt_exits_1_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Terraform exits 1 when the plan is not approved. The live read is the example snapshot."""
    import planner.observe.live

    example = load_state(REPO / "state" / "example.json")
    monkeypatch.setattr(planner.observe.live, "observe_live", lambda policy, sources: example)
    monkeypatch.chdir(tmp_path)
    policy = REPO / "policies" / "example.yaml"
    for answer in ("no\n", "y\n", "\n"):
        result = wbplan(
            "apply", "--policy", str(policy), "--ldap-url", "ldaps://dc1.contoso.test",
            stdin=answer,
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        assert "Do you want to perform these actions?" in result.output
        assert "Apply cancelled." in result.output
    assert not (tmp_path / "state" / "journal").exists()
    assert list((tmp_path / "state" / "locks").glob("*.lock")) == []
