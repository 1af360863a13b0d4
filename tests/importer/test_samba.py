"""``wbplan import`` on a real Samba AD DC and the Graph emulator (issue 17 "Done when"):

- **fully prepared**: wbplan applies a policy (password writeback on an OU with Unexpire
  Password, device writeback, group writeback v1), refreshes a snapshot, and imports it: the
  imported policy validates, names what was applied, and plans no change against the snapshot.
  A live import (no ``--connector``: inferred from the ACEs) imports the same, and a live plan
  with it has nothing to do.
- **half-prepared**: grants and containers made by hand, partly: nothing is imported, the
  partial features are written commented out, and the plan against the same snapshot is empty.
  Two principals holding the same grants make the connector ambiguous: the live import refuses,
  naming both, until ``--connector`` says which.
- **read only**: the DC's ``highestCommittedUSN`` is the same before and after every import,
  and the emulator saw no request but GETs (and the token endpoint's).

Everything runs through the real CLI in a subprocess with secrets only in its environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ldap3
import pytest

from planner.model.policy import Policy
from planner.policy.yamlmarks import parse_yaml
from tests.ad.adops import (
    LOCKOUT_TIME,
    RESET_PASSWORD,
    USER,
    add_aces,
    add_device_container,
    add_drs_containers,
    add_ou,
    allow,
    object_sid,
    password_writeback_aces,
)
from tests.apply.harness import (
    CLOUD_GROUPS,
    CONFIG,
    DEVICES,
    STAFF,
    plan_out,
    policy_text,
    replan_exit,
    wbplan,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC, SambaFactory

pytestmark = pytest.mark.samba

CONNECTOR = "CONTOSO\\MSOL_1a2b3c4d5e6f"
SALES = f"OU=Sales,{STAFF}"


def highest_usn(dc: SambaDC) -> int:
    conn = dc.admin_connection()
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
    return int(conn.entries[0]["highestCommittedUSN"].value)


def users(dc: SambaDC, parent: str, *names: str) -> None:
    for name in names:
        dc.create_user(name, "Passw0rd!Passw0rd", parent=parent)


def imported(path: Path) -> Policy:
    parsed = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    assert not parsed.diagnostics
    return Policy.model_validate(parsed.data)


def features(policy: Policy) -> set[str]:
    return {f for f, v in policy.writeback if v is not None and f != "user"}


def acting(doc: dict[str, Any]) -> list[str]:
    return [
        c["address"]
        for c in (*doc["resource_changes"], *doc["deferred_changes"])
        if c["change"]["actions"][0] not in ("no-op", "read")
    ]


def read_only_import(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, *args: str, live: bool = True
) -> Any:
    """``wbplan import ARGS``, asserting that it changed nothing in AD or the tenant."""
    usn = highest_usn(dc)
    requests = len(emu.requests)
    proc = wbplan(tmp_path, dc, emu if live else None, "import", *args, connect=live)
    assert highest_usn(dc) == usn, "import wrote to the directory"
    methods = {r.method for r in emu.requests[requests:] if r.path.startswith("/v1.0")}
    assert methods <= {"GET"}, methods
    assert emu.writes() == [] or all(not w.path.startswith("/v1.0") for w in emu.writes())
    return proc


def plan_with(tmp_path: Path, dc: SambaDC, emu: GraphEmulator, policy: str, *state: str) -> Any:
    live = not state
    proc = wbplan(
        tmp_path, dc, emu if live else None,
        "plan", "--policy", policy, *state, "--format", "json", "--detailed-exitcode",
        connect=live,
    )  # fmt: skip
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc, doc


def apply_policy(tmp_path: Path, dc: SambaDC, emu: GraphEmulator, policy: Policy) -> None:
    """Write ``policy`` (for the emulator's tenant) as policy.yaml, plan it live and apply it."""
    from tests.ad.cloudsync_ops import policy_yaml

    doc = policy.model_dump(mode="json", by_alias=True)
    doc["tenant"]["id"] = graph_tenants.TENANT_ID
    write_policy(tmp_path, policy_yaml(Policy.model_validate(doc)))
    plan_out(tmp_path, dc, emu)
    applied = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert applied.returncode == 0, applied.stdout + applied.stderr


def cloud_sync_forest(
    dc: SambaDC, emu: GraphEmulator, domain: str = "contoso.test"
) -> tuple[Any, ldap3.Connection]:
    """A tenant with ``domain``'s group provisioning and AD-to-Entra configurations and an
    active agent (served by ``emu``), and a forest with the connector, the schema attribute, a
    KDS root key and the agent's gMSA: (the emulator's tenant, an admin connection)."""
    from tests.ad.cloudsync_ops import add_external_directory_object_id, add_gmsa, add_kds_root_key
    from tests.support import graph_cloudsync as gcs

    tenant = graph_tenants.p1()
    gcs.configure(tenant, domain, (gcs.GROUP_PROVISIONING,))
    gcs.configure(tenant, domain, (gcs.AD_TO_ENTRA,))
    tenant.provisioning_agents.append(gcs.agent(f"cloudsync1.{domain}", (domain,)))
    emu.tenant = tenant
    dc.create_connector()
    conn = dc.admin_connection()
    add_external_directory_object_id(conn, dc.schema_dn)
    add_kds_root_key(conn, dc.config_dn, dc.base_dn)
    add_gmsa(conn, dc.base_dn)
    return tenant, conn


def test_a_forest_wbplan_prepared_imports_back_and_plans_no_change(
    samba_factory: SambaFactory, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.tenant = graph_tenants.p1()
    with samba_factory.running("exchange") as dc:
        dc.create_connector()
        conn = dc.admin_connection()
        add_ou(conn, STAFF)
        add_ou(conn, SALES)
        users(dc, STAFF, "alice", "bob")
        users(dc, SALES, "carol")
        write_policy(
            tmp_path, policy_text(device=True, password=(STAFF,), unexpire=True, group=True)
        )
        plan_out(tmp_path, dc, graph_emulator)
        applied = wbplan(tmp_path, dc, graph_emulator, "apply", "plan.wbplan")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        code, _doc, stderr = replan_exit(tmp_path, dc, graph_emulator)
        assert code == 0, stderr
        refreshed = wbplan(
            tmp_path,
            dc,
            graph_emulator,
            "refresh",
            "--policy",
            "policy.yaml",
            "--out",
            "state.json",
        )
        assert refreshed.returncode == 0, refreshed.stderr

        # from the snapshot
        proc = read_only_import(
            tmp_path, dc, graph_emulator, "--state", "state.json", "-o", "imported.yaml", live=False
        )
        assert proc.returncode == 0, proc.stderr
        policy = imported(tmp_path / "imported.yaml")
        assert features(policy) == {"password", "device", "group"}, (
            tmp_path / "imported.yaml"
        ).read_text()
        wb = policy.writeback
        assert wb.password is not None and wb.password.scope == (STAFF,)
        assert wb.password.unexpire_password is True
        assert wb.group is not None and wb.group.container == CLOUD_GROUPS
        assert wb.group.new_group_default is False
        assert wb.device is not None and wb.device.domain == "contoso.test"
        assert policy.connector.account == CONNECTOR
        valid = wbplan(tmp_path, dc, None, "validate", "imported.yaml", connect=False)
        assert valid.returncode == 0, valid.stdout + valid.stderr
        proc, doc = plan_with(
            tmp_path, dc, graph_emulator, "imported.yaml", "--state", "state.json"
        )
        assert proc.returncode == 0 and acting(doc) == [], (proc.stderr, acting(doc))

        # live, the connector inferred from the grants it holds
        proc = read_only_import(tmp_path, dc, graph_emulator, "-o", "live.yaml")
        assert proc.returncode == 0, proc.stderr
        live = imported(tmp_path / "live.yaml")
        assert live.connector.account == CONNECTOR
        assert "inferred from the ACEs it holds" in (tmp_path / "live.yaml").read_text()
        assert live.writeback == policy.writeback
        assert live.tenant == policy.tenant
        proc, doc = plan_with(tmp_path, dc, graph_emulator, "live.yaml")
        assert proc.returncode == 0 and acting(doc) == [], (proc.stderr, acting(doc))


def test_a_half_prepared_forest_imports_nothing_it_would_change(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    graph_emulator.tenant = graph_tenants.p1()
    connector = dc.create_connector()
    other = dc.create_user("svc-helpdesk", "Passw0rd!Passw0rd")
    conn = dc.admin_connection()
    add_ou(conn, STAFF)
    users(dc, STAFF, "alice")
    sid, other_sid = object_sid(conn, connector), object_sid(conn, other)
    partial = (
        allow(sid, 0x100, RESET_PASSWORD, USER, 0x0A),
        allow(sid, 0x20, LOCKOUT_TIME, USER, 0x0A),
    )
    add_aces(conn, STAFF, *partial)
    add_drs_containers(conn, CONFIG)
    add_device_container(conn, DEVICES)  # no DRS object, no connector grant
    write_policy(tmp_path, policy_text(device=True, password=(STAFF,)))
    refreshed = wbplan(
        tmp_path, dc, graph_emulator, "refresh", "--policy", "policy.yaml", "--out", "state.json"
    )
    assert refreshed.returncode == 0, refreshed.stderr

    proc = read_only_import(
        tmp_path, dc, graph_emulator, "--state", "state.json", "-o", "imported.yaml", live=False
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "imported.yaml").read_text()
    policy = imported(tmp_path / "imported.yaml")
    assert features(policy) == set()
    assert "  # password — partly prepared, not imported:" in text
    assert "  # device — partly prepared, not imported:" in text
    assert "write-pwdLastSet on OU=Staff,DC=contoso,DC=test" in " ".join(
        line.strip("# ") for line in text.splitlines()
    )
    proc, doc = plan_with(tmp_path, dc, graph_emulator, "imported.yaml", "--state", "state.json")
    assert proc.returncode == 0 and acting(doc) == [], (proc.stderr, acting(doc))

    # someone else holds exactly the connector's grants: which one is the connector?
    add_aces(conn, STAFF, *(a.model_copy(update={"trustee": other_sid}) for a in partial))
    refused = read_only_import(tmp_path, dc, graph_emulator, "-o", "ambiguous.yaml")
    assert refused.returncode == 1
    assert "ambiguous" in refused.stderr
    assert CONNECTOR in refused.stderr and "CONTOSO\\svc-helpdesk" in refused.stderr
    assert not (tmp_path / "ambiguous.yaml").exists()
    named = read_only_import(tmp_path, dc, graph_emulator, "--connector", CONNECTOR)
    assert named.returncode == 0, named.stderr
    assert "given with --connector" in named.stdout
    assert features(Policy.model_validate(parse_yaml(named.stdout, "x").data)) == set()

    # and once the grants are complete, password writeback is imported
    add_aces(conn, STAFF, *password_writeback_aces(sid)[2:])
    done = read_only_import(
        tmp_path, dc, graph_emulator, "--connector", CONNECTOR, "-o", "done.yaml"
    )
    assert done.returncode == 0, done.stderr
    complete = imported(tmp_path / "done.yaml")
    assert complete.writeback.password is not None
    assert complete.writeback.password.scope == (STAFF,)
    proc, doc = plan_with(tmp_path, dc, graph_emulator, "done.yaml")
    assert proc.returncode == 0 and acting(doc) == [], (proc.stderr, acting(doc))


def test_cloud_sync_imports_from_a_snapshot_and_live_and_plans_no_change(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    """A forest whose contoso.test is served by Cloud Sync (group provisioning into
    OU=CloudGroups, password writeback): wbplan grants the gMSA its rights, the tenant has
    both configurations and an active agent. The snapshot and a live read import the same
    ``cloud_sync`` section, and plans with it have nothing to do. The gMSA's grants never make
    it the connector: without --connector the live import finds no connector."""
    from tests.ad.adops import add_group
    from tests.ad.cloudsync_ops import cloud_sync_policy

    dc = fresh_samba_2012r2
    # The emulator's configurations map groups to OU=CloudGroups (parentDistinguishedName)
    groups_ou = CLOUD_GROUPS
    domain = "contoso.test"
    _, conn = cloud_sync_forest(dc, graph_emulator, domain)
    add_ou(conn, groups_ou)
    add_group(conn, f"CN=Group_a1b2c3,{groups_ou}")
    add_ou(conn, STAFF)
    users(dc, STAFF, "alice")
    policy = cloud_sync_policy(target_ous=(groups_ou,), password=True)
    apply_policy(tmp_path, dc, graph_emulator, policy)
    refreshed = wbplan(
        tmp_path, dc, graph_emulator, "refresh", "--policy", "policy.yaml", "--out", "state.json"
    )
    assert refreshed.returncode == 0, refreshed.stderr

    expected = {
        "domains": [
            {
                "domain": domain,
                "group_provisioning": {"target_ous": [groups_ou], "scope": "selected_groups"},
                "password_writeback": True,
            }
        ]
    }

    def cloud_sync_of(path: Path) -> Any:
        parsed = parse_yaml(path.read_text(encoding="utf-8"), str(path))
        assert not parsed.diagnostics
        return parsed.data.get("cloud_sync")

    # from the snapshot
    proc = read_only_import(
        tmp_path, dc, graph_emulator, "--state", "state.json", "-o", "imported.yaml", live=False
    )
    assert proc.returncode == 0, proc.stderr
    assert cloud_sync_of(tmp_path / "imported.yaml") == expected, (
        tmp_path / "imported.yaml"
    ).read_text()
    proc, plan_doc = plan_with(
        tmp_path, dc, graph_emulator, "imported.yaml", "--state", "state.json"
    )
    assert proc.returncode == 0 and acting(plan_doc) == [], (proc.stderr, acting(plan_doc))

    # live: the gMSA is not the connector, and with --connector the same section is imported
    nobody = read_only_import(tmp_path, dc, graph_emulator, "-o", "nobody.yaml")
    assert nobody.returncode == 1
    assert "no principal holds writeback ACEs" in nobody.stderr
    proc = read_only_import(
        tmp_path, dc, graph_emulator, "--connector", CONNECTOR, "-o", "live.yaml"
    )
    assert proc.returncode == 0, proc.stderr
    assert cloud_sync_of(tmp_path / "live.yaml") == expected, (tmp_path / "live.yaml").read_text()
    proc, plan_doc = plan_with(tmp_path, dc, graph_emulator, "live.yaml")
    assert proc.returncode == 0 and acting(plan_doc) == [], (proc.stderr, acting(plan_doc))


def test_cloud_sync_target_ous_come_from_the_configuration_s_mapping_live(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    """The configuration's parentDistinguishedName mapping (read from the emulator's job
    schema) is a Switch() over OU=CloudGroups, where wbplan granted the gMSA its rights, and
    OU=MoreGroups, where it holds nothing: a live import writes group provisioning commented out
    with both OUs (the configuration's, not the grants'), keeps password writeback, and the
    uncommented entry plans the gMSA's grants on OU=MoreGroups."""
    from tests.ad.cloudsync_ops import cloud_sync_policy
    from tests.support import graph_cloudsync as gcs

    dc = fresh_samba_2012r2
    more = f"OU=MoreGroups,{dc.base_dn}"
    domain = "contoso.test"
    tenant, conn = cloud_sync_forest(dc, graph_emulator, domain)
    add_ou(conn, CLOUD_GROUPS)
    add_ou(conn, more)
    policy = cloud_sync_policy(target_ous=(CLOUD_GROUPS,), password=True)
    apply_policy(tmp_path, dc, graph_emulator, policy)
    # the configuration now writes to both OUs
    for job_id in list(tenant.sync_schemas):
        tenant.sync_schemas[job_id] = gcs.group_schema(
            gcs.switch("department", CLOUD_GROUPS, {"Sales": more})
        )

    proc = read_only_import(
        tmp_path, dc, graph_emulator, "--connector", CONNECTOR, "-o", "live.yaml"
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "live.yaml").read_text(encoding="utf-8")
    parsed = parse_yaml(text, "live.yaml")
    assert not parsed.diagnostics
    cloud = parsed.data.get("cloud_sync")
    assert cloud == {"domains": [{"domain": domain, "password_writeback": True}]}, text
    flat = " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())
    assert "target_ous: the DNs the configuration's parentDistinguishedName mapping yields" in flat
    assert (
        f"the configuration creates groups in {more}, but the gMSA holds no group provisioning "
        "grant there" in flat
    ), text
    uncommented = "\n".join(
        line.replace("# ", "", 1)
        if line.lstrip().startswith(
            ("# group_provisioning:", "# target_ous:", "# - OU=", "# scope:")
        )
        else line
        for line in text.splitlines()
    )
    (tmp_path / "uncommented.yaml").write_text(uncommented + "\n", encoding="utf-8")
    proc, plan_doc = plan_with(tmp_path, dc, graph_emulator, "uncommented.yaml")
    assert proc.returncode == 2, (proc.stderr, acting(plan_doc))  # changes to make
    changes = acting(plan_doc)
    assert changes and all(more in a for a in changes), changes


def test_cloud_sync_exchange_hybrid_imports_from_a_live_read(
    samba_factory: SambaFactory, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    """Exchange hybrid writeback through Cloud Sync on a forest with the Exchange schema: once
    wbplan granted the gMSA its rights and the tenant's AD-to-Entra configuration has the
    AAD2ADExchangeHybridWriteback job, a live import declares it for the domain and a plan with
    the import has nothing to do; before the grants it is only suggested, commented out."""
    from tests.ad.cloudsync_ops import add_gmsa, add_kds_root_key, cloud_sync_policy
    from tests.support import graph_cloudsync as gcs

    domain = "contoso.test"
    tenant = graph_tenants.p1()
    gcs.configure(tenant, domain, (gcs.AD_TO_ENTRA, gcs.EXCHANGE_HYBRID))
    tenant.provisioning_agents.append(gcs.agent(f"cloudsync1.{domain}", (domain,)))
    graph_emulator.tenant = tenant
    with samba_factory.running("exchange") as dc:
        dc.create_connector()
        conn = dc.admin_connection()
        add_kds_root_key(conn, dc.config_dn, dc.base_dn)
        add_gmsa(conn, dc.base_dn)
        add_ou(conn, STAFF)
        users(dc, STAFF, "alice")

        before = read_only_import(tmp_path, dc, graph_emulator, "--connector", CONNECTOR)
        assert before.returncode == 0, before.stderr
        flat = " ".join(line.strip().lstrip("#").strip() for line in before.stdout.splitlines())
        assert "exchange_hybrid — partly prepared, not imported:" in flat
        assert "AAD2ADExchangeHybridWriteback job" in flat
        assert "\ncloud_sync:" not in before.stdout

        policy = cloud_sync_policy(exchange=True)
        apply_policy(tmp_path, dc, graph_emulator, policy)

        proc = read_only_import(
            tmp_path, dc, graph_emulator, "--connector", CONNECTOR, "-o", "live.yaml"
        )
        assert proc.returncode == 0, proc.stderr
        parsed = parse_yaml((tmp_path / "live.yaml").read_text(encoding="utf-8"), "live.yaml")
        assert parsed.data.get("cloud_sync") == {
            "domains": [{"domain": domain, "exchange_hybrid": True}]
        }, (tmp_path / "live.yaml").read_text()
        proc, plan_doc = plan_with(tmp_path, dc, graph_emulator, "live.yaml")
        assert proc.returncode == 0 and acting(plan_doc) == [], (proc.stderr, acting(plan_doc))
