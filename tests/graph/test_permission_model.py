"""Graph's real permission model for the directory-sync features (issue 13 §3).

Microsoft documents GET and PATCH ``/directory/onPremisesSynchronization`` as delegated only,
for a signed-in Global Administrator; application permissions are "Not supported" (Get/Update
onPremisesDirectorySynchronization, https://learn.microsoft.com/graph/api/
onpremisesdirectorysynchronization-get and …-update). The emulator enforces that; these tests
check that wbplan's reading path turns an app-only credential into unknown sync-feature items
whose message names the requirement, that delegated sign-ins (device code, the Azure CLI) read
them, and that ``refresh --tenant-only`` + ``plan --state-tenant`` carry a delegated reading to
a CI job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import stat
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from planner.cli import cli
from planner.graphapi.auth import make_token_provider
from planner.graphapi.client import GraphClient, GraphOptions
from planner.model.state import ObservedState
from planner.observe.graph import observe_tenant
from planner.observe.live import LiveSources, observe_live
from planner.observe.snapshot import load_state
from tests.graph.conftest import ALL_FEATURES, assert_no_secrets, make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import (
    APP_ONLY_TOKEN,
    DELEGATED_ISSUED_TOKEN,
    ISSUED_TOKEN,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_TOKEN,
    GraphEmulator,
)

REPO = Path(__file__).resolve().parents[2]
SYNC = "/directory/onPremisesSynchronization"
GA_REQUIREMENT = (
    "the delegated permission OnPremDirectorySynchronization.Read.All for a signed-in Global "
    "Administrator (application permissions are not supported)"
)
CREDENTIAL_ENV = (
    "WBPLAN_GRAPH_TOKEN",
    "WBPLAN_GRAPH_URL",
    "WBPLAN_LDAP_URL",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)


def _raw(emu: GraphEmulator, method: str, path: str, token: str) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(emu.tls.ca_file))) as http:
        return http.request(
            method,
            f"{emu.base_url}{path}",
            headers={"Authorization": f"Bearer {token}"},
            json={"features": {"deviceWritebackEnabled": True}} if method == "PATCH" else None,
        )


# -- the emulator enforces the model ------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", SYNC), ("GET", f"{SYNC}/{gt.SYNC_ID}"), ("PATCH", f"{SYNC}/{gt.SYNC_ID}")],
)
def test_emulator_refuses_app_only_tokens_on_the_sync_endpoint(
    graph_emulator: GraphEmulator, method: str, path: str
) -> None:
    graph_emulator.add_app_only_token()
    refused = _raw(graph_emulator, method, path, APP_ONLY_TOKEN)
    assert refused.status_code == 403
    error = refused.json()["error"]  # Graph's documented error shape
    assert error["code"] == "Authorization_RequestDenied"
    assert error["message"] == "Insufficient privileges to complete the operation."
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
    assert graph_emulator.tenant.sync is not None
    assert graph_emulator.tenant.sync["features"]["deviceWritebackEnabled"] is False
    # the same app-only token reads everything else, and the default token is delegated
    assert _raw(graph_emulator, "GET", "/organization", APP_ONLY_TOKEN).status_code == 200
    assert _raw(graph_emulator, method, path, TEST_TOKEN).status_code in (200, 204)


def test_client_credentials_are_app_only_and_device_code_is_delegated(
    graph_emulator: GraphEmulator,
) -> None:
    graph_emulator.client_secrets[TEST_CLIENT_ID] = TEST_CLIENT_SECRET
    graph_emulator.public_clients.add(TEST_CLIENT_ID)
    base = {
        "AZURE_TENANT_ID": gt.TENANT_ID,
        "AZURE_CLIENT_ID": TEST_CLIENT_ID,
        "AZURE_AUTHORITY_HOST": graph_emulator.origin,
    }
    app = GraphOptions(graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file)
    person = GraphOptions(
        graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file, auth="device-code"
    )
    env = {**base, "AZURE_CLIENT_SECRET": TEST_CLIENT_SECRET}
    with GraphClient(app, make_token_provider(app, env=env)) as client:
        as_app = observe_tenant(client, make_policy(**ALL_FEATURES))
    provider = make_token_provider(person, env=base, device_code_prompt=lambda _: None)
    with GraphClient(person, provider) as client:
        as_person = observe_tenant(client, make_policy(**ALL_FEATURES))
    assert ISSUED_TOKEN in graph_emulator.app_only_tokens
    assert DELEGATED_ISSUED_TOKEN not in graph_emulator.app_only_tokens
    assert as_app.sync is None
    assert as_app.subscribed_skus is not None  # only the delegated-only endpoint is refused
    assert as_person.sync is not None
    assert as_person.sync.features["deviceWritebackEnabled"] is False


# -- an app-only credential through the real reading path ---------------------------------------
def test_app_only_credential_leaves_the_sync_features_unknown_naming_the_requirement(
    graph_emulator: GraphEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph_emulator.client_secrets[TEST_CLIENT_ID] = TEST_CLIENT_SECRET
    for name, value in {
        "AZURE_TENANT_ID": gt.TENANT_ID,
        "AZURE_CLIENT_ID": TEST_CLIENT_ID,
        "AZURE_CLIENT_SECRET": TEST_CLIENT_SECRET,
        "AZURE_AUTHORITY_HOST": graph_emulator.origin,
    }.items():
        monkeypatch.setenv(name, value)
    options = GraphOptions(graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file)
    policy = make_policy(**ALL_FEATURES)
    state = observe_live(policy, LiveSources(graph=options))
    assert state.tenant is not None
    assert state.tenant.sync is None
    [unread] = [u for u in state.tenant.unread if u.what == "tenant.sync"]
    assert unread.reason == f"no permission to read it: {SYNC} needs {GA_REQUIREMENT}"
    assert "Hybrid management" in (unread.verify_at or "")

    # plan and check over that observation: the sync-feature items are unknown, not pass/fail
    from planner.checking import make_report
    from planner.planning import make_plan

    plan = make_plan(
        policy,
        state,
        policy_file="p.yaml",
        policy_digest="sha256:0",
        state_source="live",
        timestamp=state.observed_at,
    )
    features = [c for c in plan.resource_changes if c.address.startswith("tenant.feature[")] + [
        c for c in plan.deferred_changes if c.address.startswith("tenant.feature[")
    ]
    assert features, "the policy declares tenant features"
    for change in features:
        assert change.change.actions[0] in ("read", "no-op"), change.address
    report = make_report(
        policy,
        state,
        policy_file="p.yaml",
        policy_digest="sha256:0",
        state_source="live",
        timestamp=state.observed_at,
        today=dt.date.fromisoformat(state.observed_at[:10]),
    )
    dev = [f for f in report.findings if f.address == "tenant.feature[deviceWritebackEnabled]"]
    assert dev and all(f.status == "unknown" for f in dev)
    assert any("Global Administrator" in f.message for f in dev)


# -- the CLI: refresh --tenant-only, plan --state-tenant ----------------------------------------
def _policy_file(tmp_path: Path) -> Path:
    """The example policy (forest contoso.test, like state/example.json) for the emulated tenant."""
    text = (REPO / "policies/example.yaml").read_text(encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace("7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b", gt.TENANT_ID))
    return path


def _invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env or {})


def _graph_args(emu: GraphEmulator) -> list[str]:
    return ["--graph-url", emu.base_url, "--graph-ca-file", str(emu.tls.ca_file)]


def _refresh_args(tmp_path: Path, emu: GraphEmulator, *extra: str) -> list[str]:
    """``refresh --policy P --tenant-only`` with the emulator's Graph options and ``extra``."""
    policy = str(_policy_file(tmp_path))
    return ["refresh", "--policy", policy, "--tenant-only", *_graph_args(emu), *extra]


def test_refresh_tenant_only_needs_no_ldap_and_ignores_wbplan_ldap_url(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "tenant.json"
    result = _invoke(
        _refresh_args(tmp_path, graph_emulator, "--out", str(out)),
        env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN, "WBPLAN_LDAP_URL": "ldaps://unreachable.invalid"},
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {out}: tenant {gt.TENANT_ID}.\n"
    state = load_state(out)
    assert state.ad is None and state.tenant is not None and state.tenant.sync is not None
    assert state.source.ldap_url is None
    assert_no_secrets(result.output + out.read_text(), "refresh --tenant-only")


def test_refresh_tenant_only_without_graph_is_a_clear_error(tmp_path: Path) -> None:
    result = _invoke(["refresh", "--policy", str(_policy_file(tmp_path)), "--tenant-only"])
    assert result.exit_code == 1
    assert "--tenant-only reads the tenant, but no Graph endpoint or credential" in result.output
    assert "--graph-auth azure-cli" in result.output


def test_refresh_with_an_app_only_credential_says_what_it_could_not_read(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    token = graph_emulator.add_app_only_token()
    out = tmp_path / "app.json"
    result = _invoke(
        _refresh_args(tmp_path, graph_emulator, "--out", str(out)),
        env={"WBPLAN_GRAPH_TOKEN": token},
    )
    assert result.exit_code == 0, result.output
    assert "(not readable with this credential: tenant.sync)" in result.output
    [unread] = [u for u in load_state(out).tenant.unread if u.what == "tenant.sync"]  # type: ignore[union-attr]
    assert GA_REQUIREMENT in unread.reason


def _tenant_snapshot(emu: GraphEmulator, tmp_path: Path, policy: Path) -> Path:
    out = tmp_path / "tenant.json"
    result = _invoke(
        ["refresh", "--policy", str(policy), "--tenant-only", *_graph_args(emu), "--out", str(out)],
        env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN},
    )
    assert result.exit_code == 0, result.output
    return out


def test_plan_takes_the_tenant_from_a_tenant_only_snapshot(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.tenant = gt.tenant(features={"deviceWritebackEnabled": True})
    policy = _policy_file(tmp_path)
    tenant = _tenant_snapshot(graph_emulator, tmp_path, policy)
    ad = REPO / "state/example.json"
    args = ["plan", "--policy", str(policy), "--state", str(ad), "--state-tenant", str(tenant)]
    as_json = _invoke([*args, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["state_source"] == f"{ad} + tenant {tenant}"
    assert doc["lineage"]["tenant_id"] == gt.TENANT_ID
    device_flag = [
        c
        for c in doc["resource_changes"]
        if c["address"] == "tenant.feature[deviceWritebackEnabled]"
    ]
    assert device_flag and device_flag[0]["change"]["actions"] == ["no-op"]  # from the snapshot

    as_text = _invoke(args)
    second = as_text.stdout.splitlines()[1]
    assert second.startswith(f"Snapshot {ad}: observed 2026-11-22T18:00:00Z (")
    assert f"; tenant snapshot {tenant}: observed " in second
    assert second.endswith(" ago).")


def test_state_tenant_needs_an_ad_source_and_a_tenant(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    policy = _policy_file(tmp_path)
    no_ad = _invoke(
        ["plan", "--policy", str(policy), "--state-tenant", str(REPO / "state/example.json")]
    )
    assert no_ad.exit_code == 1
    assert "--state-tenant gives only the tenant: AD must come from --ldap-url" in no_ad.output
    ad_only = tmp_path / "ad.json"
    state = load_state(REPO / "state/example.json")
    ad_only.write_text(
        json.dumps(state.model_copy(update={"tenant": None}).model_dump(mode="json", by_alias=True))
    )
    no_tenant = _invoke(
        [
            "plan",
            "--policy",
            str(policy),
            "--state",
            str(REPO / "state/example.json"),
            "--state-tenant",
            str(ad_only),
        ]
    )
    assert no_tenant.exit_code == 1
    assert f"{ad_only} holds no tenant observation" in no_tenant.output
    both = _invoke(
        [
            "plan",
            "--policy",
            str(policy),
            "--state",
            str(ad_only),
            "--state-tenant",
            str(REPO / "state/example.json"),
            *_graph_args(graph_emulator),
        ]
    )
    assert both.exit_code == 1
    assert "--state-tenant and --graph-url exclude each other" in both.output


def test_state_tenant_with_live_ad_reads_only_ad_live(
    graph_emulator: GraphEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD read live (the LDAP side stubbed: Samba tests cover the real read), tenant from the
    snapshot, and Graph not asked even though a credential is in the environment."""
    from planner.cli import plan_cmd
    from planner.observe import live

    policy = _policy_file(tmp_path)
    tenant = _tenant_snapshot(graph_emulator, tmp_path, policy)
    before = len(graph_emulator.requests)
    example = load_state(REPO / "state/example.json")
    seen: list[LiveSources] = []

    def fake_sources(opts: dict[str, object]) -> LiveSources:
        return LiveSources(ldap=object(), graph=object())  # type: ignore[arg-type]

    def fake_observe(policy: object, sources: LiveSources) -> ObservedState:
        seen.append(sources)
        return example.model_copy(update={"tenant": None, "observed_at": "2030-01-01T00:00:00Z"})

    monkeypatch.setattr(plan_cmd, "live_sources", fake_sources)
    monkeypatch.setattr(live, "observe_live", fake_observe)
    result = _invoke(
        ["plan", "--policy", str(policy), "--state-tenant", str(tenant), "--format", "json"],
        env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["state_source"] == f"live AD + tenant {tenant}"
    assert [s.graph for s in seen] == [None]  # only AD was read live
    assert len(graph_emulator.requests) == before
    text = _invoke(["plan", "--policy", str(policy), "--state-tenant", str(tenant)])
    assert text.stdout.splitlines()[1].startswith(f"Tenant snapshot {tenant}: observed ")
    assert text.stdout.splitlines()[1].endswith("; AD read live.")


# -- --graph-auth azure-cli with a fake `az` ---------------------------------------------------
def _fake_az(folder: Path, log: Path, *, token: str, fail: str | None = None) -> Path:
    """An ``az`` that answers ``account get-access-token`` like Azure CLI 2.54+ (expiresOn local
    time and expires_on POSIX seconds) and logs its arguments, one call a line."""
    folder.mkdir(parents=True, exist_ok=True)
    az = folder / "az"
    body = {
        "accessToken": token,
        "expiresOn": "2099-01-01 00:00:00.000000",
        "expires_on": 4070908800,
        "subscription": "00000000-0000-0000-0000-000000000000",
        "tenant": gt.TENANT_ID,
        "tokenType": "Bearer",
    }
    script = f"""#!{sys.executable}
import json, sys
with open({str(log)!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
fail = {fail!r}
if fail:
    sys.stderr.write(fail + "\\n")
    sys.exit(1)
print(json.dumps({body!r}, indent=2))
"""
    az.write_text(script)
    az.chmod(az.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def test_refresh_reads_the_tenant_through_the_azure_cli(
    graph_emulator: GraphEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "az.log"
    bin_dir = _fake_az(tmp_path / "bin", log, token=graph_emulator.token)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AZURE_TENANT_ID", gt.TENANT_ID)
    out = tmp_path / "tenant.json"
    result = _invoke(
        _refresh_args(tmp_path, graph_emulator, "--graph-auth", "azure-cli", "--out", str(out))
    )
    assert result.exit_code == 0, result.output
    state = load_state(out)
    assert state.tenant is not None
    assert state.tenant.sync is not None  # delegated: the Global Administrator's token
    assert state.tenant.subscribed_skus is not None
    assert not [u for u in state.tenant.unread if u.reason.startswith("no permission")]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1  # the token is cached for every following request
    assert calls[0][:4] == ["account", "get-access-token", "--output", "json"]
    assert calls[0][calls[0].index("--resource") + 1] == graph_emulator.origin
    assert calls[0][calls[0].index("--tenant") + 1] == gt.TENANT_ID
    authorized = graph_emulator.graph_requests(SYNC)
    assert authorized and all(r.authorized for r in authorized)
    assert_no_secrets(result.output + out.read_text(), "refresh through the Azure CLI")


@pytest.mark.parametrize(
    ("fail", "said"),
    [
        ("ERROR: Please run 'az login' to setup account.", "Please run 'az login'"),
        (None, "Azure CLI not found on path"),
    ],
)
def test_azure_cli_failures_are_one_clear_message(
    graph_emulator: GraphEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail: str | None,
    said: str,
) -> None:
    if fail is not None:
        bin_dir = _fake_az(tmp_path / "bin", tmp_path / "az.log", token="x", fail=fail)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    else:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = _invoke(
        _refresh_args(
            tmp_path, graph_emulator, "--graph-auth", "azure-cli", "--out", str(tmp_path / "x")
        )
    )
    assert result.exit_code == 1
    assert "Error: could not get a Graph token from the Azure CLI sign-in" in result.output
    assert said in result.output
    assert "az login" in result.output and "--allow-no-subscriptions" in result.output
    assert "Traceback" not in result.output
    assert graph_emulator.graph_requests() == []
