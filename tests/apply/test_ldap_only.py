"""Saved plans read over LDAP only, on a Samba DC with no Graph at all (issue 15 §3 "Done when"):

- ``plan -out`` (tenant not observed: the licence is only a ``?`` item) → ``apply FILE`` with
  LDAP only succeeds, even with a Graph credential in the environment (apply reads only what
  the plan needs), and the next plan has nothing left to add in AD;
- the stale-plan refusals are reachable without Graph: an ACE added, or an object created under
  the scope, behind the plan's back → refused naming the address, nothing written;
- ``apply FILE --emit powershell`` with no connection options writes the same file as with them,
  and the offline LDIF, applied with ldapmodify, converges like the direct apply.

The tests share one DC (module scope); each works under OUs of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.observe.sd import parse_descriptor
from tests.ad.adops import add_aces, add_ou, deny, read_sd
from tests.apply.harness import journals, policy_text, snapshot, usn, wbplan, write_policy
from tests.apply.test_emit_golden import records
from tests.apply.test_emit_samba import ldapmodify
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

AUTHENTICATED_USERS = "S-1-5-11"


@pytest.fixture(scope="module")
def dc(samba_2012r2: SambaDC) -> Iterator[SambaDC]:
    samba_2012r2.create_connector()
    yield samba_2012r2


def ou(name: str) -> str:
    return f"OU={name},DC=contoso,DC=test"


def plan_out(tmp_path: Path, dc: SambaDC, name: str = "plan.wbplan") -> dict[str, object]:
    proc = wbplan(
        tmp_path, dc, None, "plan", "--policy", "policy.yaml", "-out", name, "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def ad_left(tmp_path: Path, dc: SambaDC) -> list[str]:
    proc = wbplan(tmp_path, dc, None, "plan", "--policy", "policy.yaml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    return [
        c["address"]
        for c in doc["resource_changes"]
        if c["provider"] == "ad" and c["change"]["actions"][0] in ("create", "update", "delete")
    ]


def test_an_ldap_only_plan_applies_with_ldap_only(
    dc: SambaDC, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = add_ou(dc.admin_connection(), ou("LdapOnlyA"))
    write_policy(tmp_path, policy_text(password=(target,)))
    doc = plan_out(tmp_path, dc)
    tenant = [c for c in doc["resource_changes"] if c["provider"] == "tenant"]  # type: ignore[attr-defined]
    assert tenant and {c["change"]["actions"][0] for c in tenant} == {"read"}

    # a tenant credential in the environment must not make the plan look stale
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    proc = wbplan(tmp_path, dc, None, "apply", "plan.wbplan")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in proc.stdout
    assert ad_left(tmp_path, dc) == []


def test_stale_plans_are_refused_without_graph(dc: SambaDC, tmp_path: Path) -> None:
    conn = dc.admin_connection()
    ace_target = add_ou(conn, ou("LdapOnlyStaleAce"))
    new_target = add_ou(conn, ou("LdapOnlyStaleNew"))
    write_policy(tmp_path, policy_text(password=(ace_target, new_target)))
    plan_out(tmp_path, dc)
    # the world moves: an ACE on a planned object, and an object created under a scope root
    add_aces(conn, ace_target, deny(AUTHENTICATED_USERS, 0x80000))
    created = dc.create_user("ldaponly_new", parent=new_target)
    sds, usns = (
        snapshot(conn, [ace_target, new_target]),
        (
            usn(conn, ace_target),
            usn(conn, new_target),
        ),
    )

    proc = wbplan(tmp_path, dc, None, "apply", "plan.wbplan")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Error: Saved plan is stale:" in proc.stderr
    assert f"  - ad.object[{ace_target}]\n" in proc.stderr
    assert f"  - ad.scope[{new_target}]\n" in proc.stderr
    assert "tenant." not in proc.stderr
    assert snapshot(conn, [ace_target, new_target]) == sds
    assert (usn(conn, ace_target), usn(conn, new_target)) == usns
    assert journals(tmp_path) == []
    assert created.startswith("CN=ldaponly_new,")


def test_emit_needs_no_connection_and_writes_the_same_script(dc: SambaDC, tmp_path: Path) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, ou("LdapOnlyEmit"))
    add_aces(conn, target, deny(AUTHENTICATED_USERS, 0x80000))  # an ACE the LDIF must keep
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc)
    before = read_sd(conn, target)

    online = wbplan(
        tmp_path, dc, None, "apply", "plan.wbplan", "--emit", "powershell", "-o", "online.ps1"
    )
    offline = wbplan(
        tmp_path, dc, None, "apply", "plan.wbplan", "--emit", "powershell", "-o", "offline.ps1",
        connect=False,
    )  # fmt: skip

    assert online.returncode == 0, online.stderr
    assert offline.returncode == 0, offline.stderr
    script = (tmp_path / "offline.ps1").read_bytes()
    assert script == (tmp_path / "online.ps1").read_bytes()
    assert b"# planned from a live reading at " in script
    assert f"(AD {dc.url})".encode() in script

    # the LDIF: offline, the DACLs the plan observed; with a connection, read now — the same
    # records either way while nothing changed
    ldif_online = wbplan(
        tmp_path, dc, None, "apply", "plan.wbplan", "--emit", "ldif", "-o", "online.ldif"
    )
    ldif_offline = wbplan(
        tmp_path, dc, None, "apply", "plan.wbplan", "--emit", "ldif", "-o", "offline.ldif",
        connect=False,
    )  # fmt: skip
    assert ldif_online.returncode == 0, ldif_online.stderr
    assert ldif_offline.returncode == 0, ldif_offline.stderr
    on = records((tmp_path / "online.ldif").read_text())
    off = records((tmp_path / "offline.ldif").read_text())
    assert [r["dn"] for r in on] == [r["dn"] for r in off] == [[target]]
    [sd_on] = on[0]["nTSecurityDescriptor"]
    [sd_off] = off[0]["nTSecurityDescriptor"]
    assert isinstance(sd_on, bytes) and isinstance(sd_off, bytes)
    assert parse_descriptor(sd_off).aces == parse_descriptor(sd_on).aces
    assert read_sd(conn, target) == before  # emitting wrote nothing

    done = ldapmodify(dc, tmp_path / "offline.ldif", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    after = parse_descriptor(read_sd(conn, target))
    assert deny(AUTHENTICATED_USERS, 0x80000) in after.aces  # kept
    assert ad_left(tmp_path, dc) == []
