"""The apply lock on a Samba DC + the Graph emulator (issue #6 "Done when", issue 14 §4): two
applies of the same plan running at the same time — from one working directory or from two,
with one lock folder or two — exactly one proceeds, the other is refused naming who holds the
lock and since when (the lock is an object in AD, not a file of the working directory); a lock
left behind by a crash refuses apply until ``wbplan force-unlock`` is given its exact id."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from planner.apply import adlock
from planner.observe.ldapconn import LdapOptions, connect
from planner.observe.sd import parse_descriptor
from tests.ad.adops import add_ou, read_sd
from tests.apply.harness import (
    journals,
    plan_out,
    policy_text,
    wbplan,
    wbplan_popen,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba


@pytest.fixture(scope="module")
def dc(samba_2012r2: SambaDC) -> Iterator[SambaDC]:
    samba_2012r2.create_connector()
    yield samba_2012r2


@pytest.fixture
def emu(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.tenant = graph_tenants.p1()
    return graph_emulator


LOCKS = "CN=wbplan-locks,CN=Program Data,DC=contoso,DC=test"


def ad_locks(dc: SambaDC) -> list[str]:
    """DNs of the lock objects in AD (none when the container does not exist yet)."""
    conn = dc.admin_connection()
    try:
        conn.search(LOCKS, "(objectClass=container)", ldap3.LEVEL, attributes=["1.1"])
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return []
    return [e["dn"] for e in conn.response or () if e.get("type") == "searchResEntry"]


def admin_options(dc: SambaDC) -> LdapOptions:
    return LdapOptions(
        url=dc.url,
        ca_file=dc.ca_file,
        tls_server_name=dc.tls_server_name,
        user=dc.admin_user,
        password=dc.admin_password,
    )


def race_two_applies(
    dc: SambaDC, emu: GraphEmulator, first_dir: Path, second_dir: Path, *extra: str
) -> tuple[subprocess.Popen[str], subprocess.Popen[str], str, str, bool]:
    """Start an apply in ``first_dir``; once its lock is in AD, one in ``second_dir``."""
    # The first apply to read the licences is throttled for 3 s (Graph's Retry-After) while it
    # holds the lock, so the second one surely runs while the first is in progress.
    emu.throttle("/subscribedSkus", times=1, retry_after="3")
    first = wbplan_popen(first_dir, dc, emu, "apply", "plan.wbplan", *extra)
    deadline = time.monotonic() + 60
    while not ad_locks(dc):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = wbplan_popen(second_dir, dc, emu, "apply", "plan.wbplan", *extra)
    out2, err2 = second.communicate(timeout=120)
    return first, second, out2, err2, first.poll() is None


def test_two_concurrent_applies_exactly_one_proceeds(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, "OU=LockA,DC=contoso,DC=test")
    explicit_before = len(
        [a for a in parse_descriptor(read_sd(conn, target)).aces if not a.inherited]
    )
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    first, second, out2, err2, still_running = race_two_applies(dc, emu, tmp_path, tmp_path)
    out1, err1 = first.communicate(timeout=120)

    assert still_running, "the first apply ended before the second was refused"
    assert first.returncode == 0, out1 + err1
    assert "Apply complete! Resources: 3 added" in out1
    assert second.returncode == 1
    assert "Error: another wbplan apply holds the lock for contoso.test / " in err2
    assert f"{graph_tenants.TENANT_ID}: " in err2
    assert "(pid " in err2 and " since 20" in err2
    assert (
        "hint: wait for it to finish; if it crashed, break the lock with `wbplan force-unlock "
        in err2
    )
    assert "Creating..." not in out2
    assert len(journals(tmp_path)) == 1
    explicit_after = [a for a in parse_descriptor(read_sd(conn, target)).aces if not a.inherited]
    assert len(explicit_after) == explicit_before + 3  # each ACE once
    assert ad_locks(dc) == []
    assert not (tmp_path / "state" / "locks").exists()  # with LDAP, no lock file at all


@pytest.mark.parametrize("lock_dirs", ["default", "two lock folders"])
def test_two_applies_from_two_directories_exactly_one_proceeds(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path, lock_dirs: str
) -> None:
    """Two checkouts (or two machines) applying the same plan: the lock in AD serialises them
    whatever their working directory or --lock-dir."""
    conn = dc.admin_connection()
    target = add_ou(conn, f"OU=LockDirs{len(lock_dirs)},DC=contoso,DC=test")
    one, two = tmp_path / "one", tmp_path / "two"
    for where in (one, two):
        where.mkdir()
        write_policy(where, policy_text(password=(target,)))
    plan_out(one, dc, emu)
    (two / "plan.wbplan").write_bytes((one / "plan.wbplan").read_bytes())
    extra: tuple[str, ...] = ()
    if lock_dirs != "default":
        extra = ("--lock-dir", str(tmp_path / "locks-of-one"))
    first, second, out2, err2, still_running = race_two_applies(dc, emu, one, two, *extra)
    out1, err1 = first.communicate(timeout=120)
    assert still_running, "the first apply ended before the second was refused"
    assert first.returncode == 0, out1 + err1
    assert "Apply complete! Resources: 3 added" in out1
    assert second.returncode == 1
    assert "another wbplan apply holds the lock for contoso.test / " in err2, out2 + err2
    assert "Creating..." not in out2
    assert len(journals(one)) == 1 and journals(two) == []
    assert ad_locks(dc) == []


def test_a_lock_left_by_a_crash_refuses_apply_until_force_unlock_gets_its_id(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, "OU=LockB,DC=contoso,DC=test")
    before = read_sd(conn, target)
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    with connect(admin_options(dc)) as session:  # a run that crashed: never released
        crashed = adlock.acquire(session, "contoso.test", graph_tenants.TENANT_ID, "apply")

    refused = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert refused.returncode == 1
    assert (
        f"{crashed.who} (pid {crashed.pid}) since {crashed.since}, until {crashed.expires}; "
        f"lock id {crashed.lock_id}" in refused.stderr
    )
    assert read_sd(conn, target) == before

    ldap = ["--ldap-url", dc.url, "--ca-file", str(dc.ca_file)]
    ldap += ["--tls-server-name", dc.tls_server_name]
    wrong = wbplan(tmp_path, dc, emu, "force-unlock", str(uuid.uuid4()), *ldap, connect=False)
    assert wrong.returncode == 1
    assert "no lock with id" in wrong.stderr and crashed.lock_id in wrong.stderr
    assert len(ad_locks(dc)) == 1

    broken = wbplan(tmp_path, dc, emu, "force-unlock", crashed.lock_id, *ldap, connect=False)
    assert broken.returncode == 0, broken.stderr
    assert f"Lock {crashed.lock_id} (apply by {crashed.who}" in broken.stdout

    applied = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert read_sd(conn, target) != before
