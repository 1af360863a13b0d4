"""``--emit ldif`` applied with the real OpenLDAP ``ldapmodify`` to Samba AD DCs (issue #6,
"Done when": the LDIF gives the same re-plan — no AD changes — as a direct apply).

Each test plans live (the real CLI against a Samba DC and the Graph emulator), reads the DACLs
an emit needs from the DC, renders the LDIF and runs ``ldapmodify`` on it. ACEs on objects the
same file creates need a second pass (their DACL does not exist before the add), so the loop is
plan → emit → ldapmodify, at most twice, then the re-plan must show no AD change.

TLS: ldapmodify checks the certificate against the host it connects to, and the harness DC's
certificate is issued to DC1.contoso.test while it listens on a leased loopback IP; OpenLDAP
has no server-name override, so these throw-away loopback DCs are reached with
``LDAPTLS_REQCERT=allow`` (the user-facing header tells users to pass their DC's CA).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import ldap3
import pytest
from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR
from winacl.dtyp.sid import SID

from planner.apply.emit import render_emit
from planner.apply.emit_ldif import SD_CONTROL_LINE, attr_line
from planner.model.dn import dn_key
from planner.model.plan import Plan
from planner.observe.sd import parse_descriptor
from planner.planfile import load_plan
from tests.ad import adops
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC, SambaFactory

pytestmark = [
    pytest.mark.samba,
    pytest.mark.skipif(shutil.which("ldapmodify") is None, reason="apt-get install ldap-utils"),
]

DOMAIN = "DC=contoso,DC=test"
STAFF = f"OU=Staff,{DOMAIN}"
CLOUD_GROUPS = f"OU=CloudGroups,{DOMAIN}"
CONFIG = f"CN=Configuration,{DOMAIN}"
DRS_CONFIG = f"CN=Device Registration Configuration,CN=Services,{CONFIG}"
DEVICES = f"CN=RegisteredDevices,{DOMAIN}"
OTHER_SID = "S-1-5-21-1111111111-2222222222-3333333333-4444"
POLICY = f"""\
apiVersion: wbplan.dev/v1
kind: WritebackPolicy
metadata: {{name: emit-live}}
forest: contoso.test
tenant: {{id: {graph_tenants.TENANT_ID}, domain: contoso.onmicrosoft.com}}
connector: {{account: "CONTOSO\\\\MSOL_1a2b3c4d5e6f"}}
licences: {{require: [AAD_PREMIUM]}}
writeback:
  password: {{enabled: true, scope: ["{STAFF}"], unexpire_password: true}}
  device: {{enabled: true, domain: contoso.test}}
  group: {{enabled: true, version: v1, container: "{CLOUD_GROUPS}", new_group_default: false}}
"""


@pytest.fixture
def exchange_dc(samba_factory: SambaFactory) -> Any:
    """A fresh 2012 R2 DC with the Exchange-like schema (group writeback v1 needs it)."""
    with samba_factory.running("exchange") as dc:
        yield dc


def wbplan(
    dc: SambaDC, emu: GraphEmulator, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WBPLAN_", "AZURE_"))}
    env |= {
        "WBPLAN_LDAP_USER": dc.admin_user,
        "WBPLAN_LDAP_PASSWORD": dc.admin_password,
        "WBPLAN_GRAPH_TOKEN": emu.token,
    }
    connection = [
        "--ldap-url", dc.url,
        "--ca-file", str(dc.ca_file),
        "--tls-server-name", dc.tls_server_name,
        "--graph-url", emu.base_url,
        "--graph-ca-file", emu.tls.ca_file,
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args, *connection],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    for secret in (dc.admin_password, emu.token, CONNECTOR_PASSWORD):
        assert secret not in proc.stdout + proc.stderr
    return proc


def plan_live(dc: SambaDC, emu: GraphEmulator, cwd: Path, name: str) -> Plan:
    proc = wbplan(dc, emu, cwd, "plan", "--policy", "policy.yaml", "-out", name, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    plan, _ = load_plan(cwd / name)
    return plan


def ad_changes(plan: Plan) -> list[str]:
    return [
        c.address
        for c in (*plan.resource_changes, *plan.deferred_changes)
        if c.provider == "ad" and c.change.actions[0] != "no-op"
    ]


def read_descriptors(conn: ldap3.Connection, plan: Plan) -> dict[str, bytes]:
    """What the CLI passes: the DACL of every existing DN with an ACE change."""
    created = {
        dn_key(c.dn)
        for c in plan.resource_changes
        if c.type == "ad.object" and c.change.actions[0] == "create" and c.dn
    }
    dns = {
        c.dn
        for c in plan.resource_changes
        if c.type == "ad.ace" and c.dn and c.change.actions[0] in ("create", "delete")
    }
    return {dn_key(dn): adops.read_sd(conn, dn) for dn in dns if dn_key(dn) not in created}


def ldapmodify(dc: SambaDC, ldif: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    secret = tmp / "bind.pw"  # -y: the password never appears on a command line
    secret.write_text(dc.admin_password)
    secret.chmod(0o600)
    env = dict(os.environ, LDAPTLS_REQCERT="allow", LDAPTLS_CACERT=str(dc.ca_file))
    cmd = ["ldapmodify", "-H", dc.url, "-x", "-D", dc.admin_user, "-y", str(secret)]
    return subprocess.run(
        [*cmd, "-f", str(ldif)], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def full_sd(conn: ldap3.Connection, dn: str) -> Any:
    """The whole descriptor (owner, group, SACL too: no SD-flags control)."""
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["nTSecurityDescriptor"])
    return SECURITY_DESCRIPTOR.from_bytes(
        conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
    )


def owner_group_sacl(conn: ldap3.Connection, dn: str) -> tuple[str, str, bytes | None]:
    sd = full_sd(conn, dn)
    sacl = None if sd.Sacl is None else bytes(sd.Sacl.to_bytes())
    return str(sd.Owner), str(sd.Group), sacl


def test_ldif_from_a_live_plan_applied_with_ldapmodify_leaves_no_ad_change(
    exchange_dc: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    dc = exchange_dc
    dc.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    conn = dc.admin_connection()
    adops.add_ou(conn, STAFF)
    # ACEs a person added earlier, which the emitted descriptor must keep exactly
    adops.add_aces(
        conn,
        STAFF,
        adops.allow(OTHER_SID, 0x30, None, adops.USER, adops.CI_IO),
        adops.deny(OTHER_SID, 0x100, adops.RESET_PASSWORD, adops.USER, adops.CI_IO),
    )
    adops.add_aces(conn, DOMAIN, adops.allow(OTHER_SID, 0x10, adops.PWD_LAST_SET))
    touched = (STAFF, DOMAIN)
    before = {dn: parse_descriptor(adops.read_sd(conn, dn)) for dn in touched}
    before_rest = {dn: owner_group_sacl(conn, dn) for dn in touched}
    (tmp_path / "policy.yaml").write_text(POLICY)

    passes: list[str] = []
    sd_dns: set[str] = set()
    for n in (1, 2):
        plan = plan_live(dc, graph_emulator, tmp_path, f"plan{n}.wbplan")
        if not ad_changes(plan):
            break
        descriptors = read_descriptors(conn, plan)
        sd_dns = sd_dns or set(descriptors)
        text = render_emit(plan, "ldif", descriptors, ldap_url=dc.url)
        assert dc.admin_password not in text
        ldif = tmp_path / f"pass{n}.ldif"
        ldif.write_text(text)
        passes.append(text)
        proc = ldapmodify(dc, ldif, tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    final = plan_live(dc, graph_emulator, tmp_path, "final.wbplan")
    assert ad_changes(final) == []
    # tenant changes may remain: wbplan's LDIF is the AD part only
    assert any(
        c.provider == "tenant" for c in final.resource_changes if c.change.actions[0] != "no-op"
    )

    # pass 1 created the objects and granted on existing ones; pass 2 only the ACEs on the
    # objects pass 1 created (which pass 1 listed as its second pass)
    assert len(passes) == 2
    assert "# Second pass (after this file is applied):" in passes[0]
    for dn in (DRS_CONFIG, DEVICES, CLOUD_GROUPS):
        assert f"- ad.ace[{dn}/" in passes[0]
        assert attr_line("dn", dn)[0] in passes[1]
    assert "changetype: add" not in passes[1]
    # one SD replace per pre-existing object with ACE changes (Samba's domain root already
    # lets the connector unexpire passwords, so only OU=Staff here)
    assert passes[0].count(SD_CONTROL_LINE) == len(sd_dns) == 1
    assert attr_line("dn", STAFF)[0] in passes[0]

    # every ACE that was there is still there; owner, group and SACL untouched
    for dn in touched:
        after = parse_descriptor(adops.read_sd(conn, dn))
        missing = [a for a in before[dn].aces if a not in after.aces]
        assert missing == [], dn
        assert owner_group_sacl(conn, dn) == before_rest[dn]
        assert after.dacl_protected == before[dn].dacl_protected
    added_on_staff = [
        a for a in parse_descriptor(adops.read_sd(conn, STAFF)).aces if a not in before[STAFF].aces
    ]
    assert len(added_on_staff) == 3


def test_ldapmodify_sends_the_sd_flags_control_line(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    """An SD value that carries another owner: with the emitted control line only the DACL is
    written; without it the DC writes the owner too — so the line is really sent and matters."""
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    ou = adops.add_ou(conn, STAFF)
    owner = owner_group_sacl(conn, ou)[0]
    dacl = adops.read_sd(conn, ou)
    sd = SECURITY_DESCRIPTOR.from_bytes(dacl)
    sd.Owner = SID.from_string("S-1-5-32-544")  # BUILTIN\Administrators
    value = bytes(sd.to_bytes())

    def apply(with_control: bool) -> None:
        lines = [*attr_line("dn", ou)]
        lines += [SD_CONTROL_LINE] if with_control else []
        lines += ["changetype: modify", "replace: nTSecurityDescriptor"]
        lines += [*attr_line("nTSecurityDescriptor", value), "-", ""]
        path = tmp_path / "sd.ldif"
        path.write_text("version: 1\n\n" + "\n".join(lines))
        proc = ldapmodify(dc, path, tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    assert owner != "S-1-5-32-544"
    apply(with_control=True)
    assert owner_group_sacl(conn, ou)[0] == owner
    apply(with_control=False)
    assert owner_group_sacl(conn, ou)[0] == "S-1-5-32-544"


def test_membership_by_sid_and_a_stale_add_stop_ldapmodify(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    """``<SID=…>`` addresses the group and the member on Samba; an add of an object that exists
    by now fails and stops the file there (ldapmodify's default), changing nothing after it."""
    from tests.apply.emit_regen import scenario_plan

    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    member_dn = dc.create_connector()
    group = adops.add_group(conn, f"CN=Key Admins Test,CN=Users,{DOMAIN}")
    plan = scenario_plan("ngc-keys-from-nothing")
    sids = {
        "S-1-5-21-1004336348-1177238915-682003330-526": adops.object_sid(conn, group),
        "S-1-5-21-1004336348-1177238915-682003330-1105": adops.object_sid(conn, member_dn),
    }
    text = render_emit(plan, "ldif", {})
    for old, new in sids.items():
        for attr in ("dn", "member"):
            text = text.replace(
                "\n".join(attr_line(attr, f"<SID={old}>")),
                "\n".join(attr_line(attr, f"<SID={new}>")),
            )
    path = tmp_path / "member.ldif"
    path.write_text(text)
    assert ldapmodify(dc, path, tmp_path).returncode == 0
    conn.search(group, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    assert [m.decode() for m in conn.response[0]["raw_attributes"]["member"]] == [member_dn]

    stale = render_emit(scenario_plan("group-from-nothing"), "ldif", {})
    adops.add_ou(conn, CLOUD_GROUPS)  # the world moved after the emit
    path.write_text(stale)
    proc = ldapmodify(dc, path, tmp_path)
    assert proc.returncode == 68, proc.stdout + proc.stderr  # entryAlreadyExists


def highest_usn(conn: ldap3.Connection) -> int:
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
    return int(conn.response[0]["raw_attributes"]["highestCommittedUSN"][0])


def prepare(dc: SambaDC) -> ldap3.Connection:
    """The same starting point on every DC: connector, OU=Staff with a person's ACEs."""
    dc.create_connector()
    conn = dc.admin_connection()
    adops.add_ou(conn, STAFF)
    adops.add_aces(
        conn,
        STAFF,
        adops.allow(OTHER_SID, 0x30, None, adops.USER, adops.CI_IO),
        adops.deny(OTHER_SID, 0x100, adops.RESET_PASSWORD, adops.USER, adops.CI_IO),
    )
    return conn


def connector_aces(conn: ldap3.Connection, connector_sid: str) -> dict[str, set[tuple[Any, ...]]]:
    """Per touched DN, the connector's explicit ACEs (what writeback needs to be equal)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for dn in (STAFF, DOMAIN, DRS_CONFIG, DEVICES, CLOUD_GROUPS):
        sd = parse_descriptor(adops.read_sd(conn, dn))
        out[dn] = {
            (a.qualifier, a.mask, a.flags, a.object_type, a.inherited_object_type)
            for a in sd.aces
            if a.trustee == connector_sid and not a.inherited
        }
    return out


def ad_view(plan: Plan) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (c.address, tuple(c.change.actions))
        for c in (*plan.resource_changes, *plan.deferred_changes)
        if c.provider == "ad"
    ]


def test_cli_emit_writes_nothing_and_ldapmodify_ends_where_a_direct_apply_ends(
    samba_factory: SambaFactory, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.tenant = graph_tenants.p1()
    emit_dir, direct_dir = tmp_path / "emit", tmp_path / "direct"
    for d in (emit_dir, direct_dir):
        d.mkdir()
        (d / "policy.yaml").write_text(POLICY)
    with samba_factory.running("exchange") as a, samba_factory.running("exchange") as b:
        conn_a, conn_b = prepare(a), prepare(b)

        # A: `wbplan apply PLAN --emit ldif --output F`, then ldapmodify (two passes)
        for n in (1, 2):
            plan = plan_live(a, graph_emulator, emit_dir, f"plan{n}.wbplan")
            if not ad_changes(plan):
                break
            usn = highest_usn(conn_a)
            proc = wbplan(
                a, graph_emulator, emit_dir,
                "apply", f"plan{n}.wbplan", "--emit", "ldif", "--output", f"pass{n}.ldif",
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            assert "nothing was changed in AD" in proc.stdout
            assert highest_usn(conn_a) == usn  # the emit wrote nothing to AD
            assert not (emit_dir / "state" / "journal").exists()
            ldif = emit_dir / f"pass{n}.ldif"
            assert ldif.read_text().startswith("version: 1\n")
            done = ldapmodify(a, ldif, emit_dir)
            assert done.returncode == 0, done.stdout + done.stderr
        emitted_final = plan_live(a, graph_emulator, emit_dir, "final.wbplan")

        # B: a direct apply of the same policy
        plan_live(b, graph_emulator, direct_dir, "direct.wbplan")
        proc = wbplan(b, graph_emulator, direct_dir, "apply", "direct.wbplan", "--auto-approve")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        direct_final = plan_live(b, graph_emulator, direct_dir, "final.wbplan")

        assert ad_changes(emitted_final) == ad_changes(direct_final) == []
        assert ad_view(emitted_final) == ad_view(direct_final)
        sid_a = adops.object_sid(conn_a, f"CN=MSOL_1a2b3c4d5e6f,CN=Users,{DOMAIN}")
        sid_b = adops.object_sid(conn_b, f"CN=MSOL_1a2b3c4d5e6f,CN=Users,{DOMAIN}")
        assert connector_aces(conn_a, sid_a) == connector_aces(conn_b, sid_b)
