"""Plan and check with Connect server evidence: the ``connect.option`` ``?`` items become
no-op / manual when evidence covers them and come back when it is absent or stale; WB-CON-002
passes only on evidence ("declared, not verified" otherwise); a mismatching connector account,
device container, staging mode and a tenant-vs-server feature each fail their rule with a plan
step; the evidence's age is judged against the observation with ``--max-evidence-age``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from planner.checking import evaluate
from planner.cli import cli
from planner.connect.verdicts import account_match, age_words, freshness
from planner.model.connect import AdConnector, ConnectEvidence
from planner.model.policy import Policy
from planner.model.report import Finding
from planner.model.state import ObservedState
from planner.observe.snapshot import load_state
from planner.planning import make_plan
from planner.policy.loader import load_file
from planner.story import unplanned_failures

SCENARIOS = Path(__file__).resolve().parents[1] / "plan" / "scenarios"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = dt.date(2026, 11, 22)
CONNECT_ITEMS = {
    "connect.option[device-writeback]",
    "connect.option[exchange-hybrid]",
    "connect.option[group-writeback]",
    "connect.option[password-writeback]",
}


def scenario(name: str) -> tuple[Policy, ObservedState]:
    loaded, diags = load_file(SCENARIOS / name / "policy.yaml", TODAY)
    assert loaded is not None, diags
    return loaded.policy, load_state(SCENARIOS / name / "state.json")


def plan_of(policy: Policy, state: ObservedState) -> dict[str, tuple[str, str]]:
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    return {
        c.address: (c.change.actions[0], c.action_reason)
        for c in (*plan.resource_changes, *plan.deferred_changes)
    }


def findings_of(policy: Policy, state: ObservedState) -> dict[tuple[str, str], Finding]:
    found, _ = evaluate(policy, state, TODAY)
    return {(f.rule_id, f.address): f for f in found}


def story(policy: Policy, state: ObservedState) -> list[Finding]:
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    return unplanned_failures(plan, evaluate(policy, state, TODAY)[0])


def reads(plan: dict[str, tuple[str, str]]) -> set[str]:
    return {a for a, (action, _r) in plan.items() if action == "read"}


def test_without_evidence_the_connect_items_cannot_be_verified() -> None:
    policy, state = scenario("fully-prepared")
    assert state.connect is None
    assert reads(plan_of(policy, state)) == CONNECT_ITEMS | {"tenant.sspr[on-premises-writeback]"}
    found = findings_of(policy, state)
    assert not [k for k in found if k[0] in {f"WB-CON-00{n}" for n in range(3, 9)}]


@pytest.mark.parametrize("name", ["connect-evidence-v1", "connect-evidence-v2"])
def test_evidence_that_covers_them_settles_the_connect_items(name: str) -> None:
    policy, state = scenario(name)
    plan = plan_of(policy, state)
    assert reads(plan) == {"tenant.sspr[on-premises-writeback]"}
    for item in (*CONNECT_ITEMS, "connect.staging[]", "connect.connector[contoso.test]"):
        assert plan[item] == ("no-op", "satisfied"), item
    found = findings_of(policy, state)
    statuses = {k: f.status for k, f in found.items() if k[0].startswith("WB-CON-")}
    assert set(statuses.values()) == {"pass"}, statuses
    assert {k[0] for k in statuses} == {f"WB-CON-00{n}" for n in range(1, 9)}
    version = found[("WB-CON-002", "connect.version[]")]
    assert version.message.startswith(
        "Connect 1.1.880.0 on the server"
        if name.endswith("v1")
        else "Connect 2.4.27.0 on the server"
    )
    assert "1h before the observation" in version.message
    assert story(policy, state) == []


def test_a_mismatching_server_fails_each_rule_with_a_plan_step() -> None:
    policy, state = scenario("connect-evidence-mismatch")
    plan = plan_of(policy, state)
    assert plan["connect.connector[contoso.test]"] == ("manual", "setting_drift")
    assert plan["connect.option[device-writeback]"] == ("manual", "setting_drift")
    assert plan["connect.option[group-writeback]"] == ("manual", "feature_disabled")
    assert plan["connect.staging[]"] == ("manual", "setting_drift")
    assert plan["connect.option[password-writeback]"] == ("no-op", "satisfied")
    found = findings_of(policy, state)
    failed = {k for k, f in found.items() if f.status == "fail"}
    assert failed == {
        ("WB-CON-003", "connect.option[group-writeback]"),
        ("WB-CON-004", "connect.connector[contoso.test]"),
        ("WB-CON-005", "connect.option[device-writeback]"),
        ("WB-CON-006", "connect.option[group-writeback]"),
        ("WB-CON-007", "connect.staging[]"),
    }
    account = found[("WB-CON-004", "connect.connector[contoso.test]")].message
    assert account.startswith(
        "Connect signs in as contoso.test\\MSOL_9f8e7d6c5b4a, the policy names CONTOSO\\MSOL_1a2b3c4d5e6f"
    )
    container = found[("WB-CON-005", "connect.option[device-writeback]")].message
    assert "CN=Devices,OU=Legacy,DC=contoso,DC=test" in container
    assert "msDS-DeviceLocation names CN=RegisteredDevices,DC=contoso,DC=test" in container
    assert "on in the tenant (unifiedGroupWritebackEnabled) but off" in (
        found[("WB-CON-006", "connect.option[group-writeback]")].message
    )
    assert "staging mode" in found[("WB-CON-007", "connect.staging[]")].message
    assert story(policy, state) == []


def test_stale_evidence_brings_the_question_marks_back() -> None:
    policy, state = scenario("connect-evidence-stale")
    assert reads(plan_of(policy, state)) == CONNECT_ITEMS | {"tenant.sspr[on-premises-writeback]"}
    found = findings_of(policy, state)
    age = found[("WB-CON-008", "connect.evidence[]")]
    assert (age.status, age.criticality) == ("fail", "SHOULD")
    assert "52d 11h before the observation, more than 7d" in age.message
    unknown = {k for k, f in found.items() if f.status == "unknown" and k[0].startswith("WB-CON-")}
    assert ("WB-CON-007", "connect.staging[]") in unknown
    assert ("WB-CON-004", "connect.connector[contoso.test]") in unknown
    version = found[("WB-CON-002", "connect.version[]")]
    assert version.status == "unknown" and "does not count" in version.message
    # a longer limit makes it count again
    assert state.connect is not None
    longer = state.model_copy(
        update={"connect": state.connect.model_copy(update={"max_age_seconds": 60 * 86400})}
    )
    assert reads(plan_of(policy, longer)) == {"tenant.sspr[on-premises-writeback]"}


def test_a_declared_version_is_declared_not_verified() -> None:
    loaded, _ = load_file(Path(__file__).resolve().parents[2] / "policies" / "example.yaml", TODAY)
    assert loaded is not None and loaded.policy.connect.version == "2.4.27.0"
    state = load_state(Path(__file__).resolve().parents[2] / "state" / "example.json")
    found = findings_of(loaded.policy, state)[("WB-CON-002", "connect.version[]")]
    assert found.status == "unknown"
    assert found.message.startswith("Connect 2.4.27.0 is declared, not verified")


def _with(state: ObservedState, **facts: Any) -> ObservedState:
    assert state.connect is not None
    return state.model_copy(update={"connect": state.connect.model_copy(update=facts)})


def test_an_evidenced_version_too_old_fails_with_a_manual_upgrade() -> None:
    policy, state = scenario("connect-evidence-v2")
    old = state.connect.version.model_copy(update={"value": "1.1.614.0"})  # type: ignore[union-attr]
    too_old = _with(state, version=old)
    found = findings_of(policy, too_old)[("WB-CON-002", "connect.version[]")]
    assert found.status == "fail"
    assert (
        found.message
        == "Connect 1.1.614.0 on the server: device writeback needs 1.1.819.0 or later"
    )
    assert plan_of(policy, too_old)["connect.version[]"] == ("manual", "connect_too_old")
    assert story(policy, too_old) == []


def test_a_feature_on_on_the_server_but_off_in_the_tenant_is_fixed_by_the_tenant_flag() -> None:
    policy, state = scenario("connect-evidence-v2")
    assert state.tenant is not None and state.tenant.sync is not None
    sync = state.tenant.sync.model_copy(
        update={"features": {**state.tenant.sync.features, "deviceWritebackEnabled": False}}
    )
    off = state.model_copy(update={"tenant": state.tenant.model_copy(update={"sync": sync})})
    found = findings_of(policy, off)[("WB-CON-006", "connect.option[device-writeback]")]
    assert found.status == "fail"
    assert found.fixed_by == ("tenant.feature[deviceWritebackEnabled]",)
    assert plan_of(policy, off)["tenant.feature[deviceWritebackEnabled]"][0] == "update"
    assert story(policy, off) == []


def test_without_graph_the_tenant_flag_comes_from_the_servers_company_features() -> None:
    policy, state = scenario("connect-evidence-v2")
    no_tenant = state.model_copy(update={"tenant": None})
    found = findings_of(policy, no_tenant)[("WB-CON-006", "connect.option[group-writeback]")]
    assert found.status == "pass"
    assert found.evidence["tenant_from"].startswith(
        "Get-ADSyncAADCompanyFeature UnifiedGroupWriteback"
    )


def test_unknown_facts_are_unknown_never_false() -> None:
    policy, state = scenario("fully-prepared")
    from planner.connect.importer import read_collector_file

    partial = state.model_copy(
        update={
            "connect": read_collector_file(FIXTURES / "v2-collector-partial.json", "partial.json")
        }
    )
    plan = plan_of(policy, partial)
    assert plan["connect.option[password-writeback]"] == ("read", "unverifiable")
    assert plan["connect.connector[contoso.test]"] == ("read", "unverifiable")
    found = findings_of(policy, partial)
    assert found[("WB-CON-003", "connect.option[password-writeback]")].status == "unknown"
    assert found[("WB-CON-004", "connect.connector[contoso.test]")].status == "unknown"
    assert found[("WB-CON-007", "connect.staging[]")].status == "pass"  # from the global setting
    assert story(policy, partial) == []


def test_undated_evidence_never_counts() -> None:
    policy, state = scenario("connect-evidence-v2")
    undated = _with(state, collected_at=None)
    assert freshness(undated).status == "undated"
    assert reads(plan_of(policy, undated)) == CONNECT_ITEMS | {"tenant.sspr[on-premises-writeback]"}
    age = findings_of(policy, undated)[("WB-CON-008", "connect.evidence[]")]
    assert age.status == "fail" and "a time the evidence does not state" in age.message


def test_evidence_collected_after_the_observation_counts() -> None:
    _policy, state = scenario("connect-evidence-v2")
    later = _with(state, collected_at="2026-11-22T19:30:00Z")
    fresh = freshness(later)
    assert fresh.status == "fresh" and "1h 30m after the observation" in fresh.describe()


@pytest.mark.parametrize(
    ("policy_account", "user", "domain", "status"),
    [
        (
            "CONTOSO\\MSOL_1a2b3c4d5e6f",
            "MSOL_1a2b3c4d5e6f",
            "contoso.test",
            "pass",
        ),  # NetBIOS vs DNS
        ("contoso.test\\msol_1A2B3C4D5E6F", "MSOL_1a2b3c4d5e6f", "contoso.test", "pass"),
        ("CONTOSO\\MSOL_1a2b3c4d5e6f", "MSOL_ffffffffffff", "contoso.test", "fail"),
        ("FABRIKAM\\MSOL_1a2b3c4d5e6f", "MSOL_1a2b3c4d5e6f", "contoso.test", "fail"),
        ("MSOL_1a2b3c4d5e6f@contoso.test", "MSOL_1a2b3c4d5e6f", "contoso.test", "pass"),
        ("svc-sync@contoso.test", "MSOL_1a2b3c4d5e6f", "contoso.test", "unknown"),
        (
            "CN=MSOL_1a2b3c4d5e6f,CN=Users,DC=contoso,DC=test",
            "MSOL_1a2b3c4d5e6f",
            "contoso.test",
            "pass",
        ),
        (
            "CN=Sync Service,CN=Users,DC=contoso,DC=test",
            "MSOL_1a2b3c4d5e6f",
            "contoso.test",
            "unknown",
        ),
    ],
)
def test_account_matching(policy_account: str, user: str, domain: str, status: str) -> None:
    _policy, state = scenario("connect-evidence-v2")
    conn = AdConnector(
        name="contoso.test", forest="contoso.test", login_user=user, login_domain=domain
    )
    assert account_match(policy_account, conn, state).status == status


def test_account_domain_needs_the_forests_domain_names() -> None:
    conn = AdConnector(
        name="c", forest="contoso.test", login_user="MSOL_1", login_domain="contoso.test"
    )
    bare = ObservedState(wbplan_version="t", observed_at="2026-11-22T18:00:00Z")
    assert account_match("CONTOSO\\MSOL_1", conn, bare).status == "unknown"
    assert account_match("CONTOSO\\MSOL_2", conn, bare).status == "fail"


def test_no_connector_for_the_forest_fails_and_plans_a_step() -> None:
    policy, state = scenario("connect-evidence-v2")
    assert state.connect is not None
    other = (
        AdConnector(
            name="fabrikam.test",
            forest="fabrikam.test",
            login_user="MSOL_1",
            login_domain="fabrikam.test",
        ),
    )
    elsewhere = _with(state, ad_connectors=other)
    found = findings_of(policy, elsewhere)[("WB-CON-004", "connect.connector[contoso.test]")]
    assert (
        found.status == "fail" and "no Active Directory connector for contoso.test" in found.message
    )
    assert plan_of(policy, elsewhere)["connect.connector[contoso.test]"] == (
        "manual",
        "connector_missing",
    )
    assert story(policy, elsewhere) == []


def test_age_words() -> None:
    assert age_words(dt.timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
    assert age_words(dt.timedelta(hours=1, seconds=5)) == "1h"
    assert age_words(dt.timedelta(minutes=12, seconds=5)) == "12m 5s"
    assert age_words(dt.timedelta(0)) == "0s"


# -- the command line ---------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", "WBPLAN_TODAY": "2026-11-22"})


def base(name: str = "fully-prepared") -> list[str]:
    folder = SCENARIOS / name
    return ["--policy", str(folder / "policy.yaml"), "--state", str(folder / "state.json")]


def test_plan_and_check_take_evidence_directly() -> None:
    plain = run("plan", *base(), "--format", "json")
    settled = run(
        "plan",
        *base(),
        "--format",
        "json",
        "--connect-evidence",
        str(FIXTURES / "v2-collector.json"),
    )
    assert plain.exit_code == settled.exit_code == 0
    read = {
        c["address"]
        for c in json.loads(plain.stdout)["resource_changes"]
        if c["change"]["actions"] == ["read"]
    }
    after = {
        c["address"]
        for c in json.loads(settled.stdout)["resource_changes"]
        if c["change"]["actions"] == ["read"]
    }
    assert read - after == CONNECT_ITEMS
    check = run(
        "check", *base(), "--connect-evidence", str(FIXTURES / "v2-collector-mismatch.json")
    )
    assert check.exit_code == 2
    assert "FAIL    WB-CON-007 [SHALL] connect.staging[]" in check.stdout


def test_max_evidence_age_judges_the_evidence() -> None:
    stale = ["--connect-evidence", str(FIXTURES / "v2-collector-stale.json")]
    default = run("check", *base(), *stale, "--format", "json")
    longer = run("check", *base(), *stale, "--format", "json", "--max-evidence-age", "60d")
    shorter = run(
        "check",
        *base(),
        "--connect-evidence",
        str(FIXTURES / "v2-collector.json"),
        "--format",
        "json",
        "--max-evidence-age",
        "30m",
    )

    def status(result: Any) -> str:
        doc = json.loads(result.stdout)
        return str(next(f["status"] for f in doc["findings"] if f["rule_id"] == "WB-CON-008"))

    assert (status(default), status(longer), status(shorter)) == ("fail", "pass", "fail")
    bad = run("plan", *base(), *stale, "--max-evidence-age", "soon")
    assert bad.exit_code == 2 and "is not a duration" in bad.stderr


def test_refresh_imports_evidence_into_a_snapshot_and_keeps_it(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    done = run(
        "refresh", *base(), "--connect-evidence", str(FIXTURES / "v1-export"), "--out", str(first)
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(
        f"Wrote {first}: {SCENARIOS / 'fully-prepared' / 'state.json'} with Connect evidence "
    )
    assert "collected 2026-11-22T17:00:00Z on SYNC01, 1h before the observation" in done.stdout
    snap = load_state(first)
    original = load_state(SCENARIOS / "fully-prepared" / "state.json")
    assert snap.model_copy(update={"connect": None}) == original  # nothing else changed
    assert snap.connect is not None and snap.connect.version.value == "1.1.880.0"
    # plan and check use the snapshot's evidence
    plan = run(
        "plan", "--policy", str(SCENARIOS / "fully-prepared" / "policy.yaml"), "--state", str(first)
    )
    assert "connect.option[" not in plan.stdout
    # without live options or evidence there is nothing to do
    nothing = run("refresh", *base(), "--out", str(tmp_path / "x.json"))
    assert nothing.exit_code == 1 and "nothing to read" in nothing.stderr


def test_a_live_refresh_keeps_the_earlier_snapshots_evidence(
    graph_emulator: Any, tmp_path: Path
) -> None:
    from tests.support import graph_tenants as gt
    from tests.support.graph_emulator import TEST_TOKEN

    text = (Path(__file__).resolve().parents[2] / "policies" / "example.yaml").read_text(
        encoding="utf-8"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        text.replace("7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b", gt.TENANT_ID), encoding="utf-8"
    )
    graph = [
        "--graph-url",
        graph_emulator.base_url,
        "--graph-ca-file",
        str(graph_emulator.tls.ca_file),
    ]
    env = {"WBPLAN_GRAPH_TOKEN": TEST_TOKEN, "NO_COLOR": "1"}
    first, second, third = (tmp_path / n for n in ("1.json", "2.json", "3.json"))
    evidence = str(FIXTURES / "v2-collector.json")
    one = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            str(policy),
            "--tenant-only",
            "--out",
            str(first),
            "--connect-evidence",
            evidence,
            *graph,
        ],
        env=env,
    )
    assert one.exit_code == 0, one.output
    assert one.stdout.splitlines()[1].startswith(
        f"Connect evidence {evidence}: collected 2026-11-22T17:00:00Z on SYNC01"
    )
    two = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            str(policy),
            "--tenant-only",
            "--out",
            str(second),
            "--state",
            str(first),
            *graph,
        ],
        env=env,
    )
    assert two.exit_code == 0, two.output
    assert load_state(second).connect == load_state(first).connect is not None
    three = CliRunner().invoke(
        cli,
        ["refresh", "--policy", str(policy), "--tenant-only", "--out", str(third), *graph],
        env=env,
    )
    assert three.exit_code == 0 and load_state(third).connect is None


def test_connect_evidence_model_round_trips() -> None:
    _policy, state = scenario("connect-evidence-v1")
    assert isinstance(state.connect, ConnectEvidence)
    assert ConnectEvidence.model_validate(state.connect.model_dump(mode="json")) == state.connect
