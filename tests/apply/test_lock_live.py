"""The apply lock on a Samba DC + the Graph emulator (issue #6 "Done when"): two applies of
the same plan running at the same time — exactly one proceeds, the other is refused naming who
holds the lock and since when; a lock left behind by a crash refuses apply until
``wbplan force-unlock`` is given its exact id."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.apply.lock import acquire
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
    # The first apply to read the licences is throttled for 3 s (Graph's Retry-After) while it
    # holds the lock, so the second one surely runs while the first is in progress.
    emu.throttle("/subscribedSkus", times=1, retry_after="3")
    locks = tmp_path / "state" / "locks"

    first = wbplan_popen(tmp_path, dc, emu, "apply", "plan.wbplan")
    deadline = time.monotonic() + 60
    while not list(locks.glob("*.lock")):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = wbplan_popen(tmp_path, dc, emu, "apply", "plan.wbplan")
    out2, err2 = second.communicate(timeout=120)
    still_running = first.poll() is None
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
    assert list(locks.glob("*.lock")) == []


def test_a_lock_left_by_a_crash_refuses_apply_until_force_unlock_gets_its_id(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, "OU=LockB,DC=contoso,DC=test")
    before = read_sd(conn, target)
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    locks = tmp_path / "state" / "locks"
    crashed = acquire(locks, "contoso.test", graph_tenants.TENANT_ID, "apply")  # never released

    refused = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert refused.returncode == 1
    assert (
        f"{crashed.who} (pid {crashed.pid}) since {crashed.since}; lock id {crashed.lock_id}"
        in refused.stderr
    )
    assert read_sd(conn, target) == before

    wrong = wbplan(tmp_path, dc, emu, "force-unlock", str(uuid.uuid4()), connect=False)
    assert wrong.returncode == 1
    assert "no lock with id" in wrong.stderr and crashed.lock_id in wrong.stderr
    assert len(list(locks.glob("*.lock"))) == 1

    broken = wbplan(tmp_path, dc, emu, "force-unlock", crashed.lock_id, connect=False)
    assert broken.returncode == 0, broken.stderr
    assert f"Lock {crashed.lock_id} (apply by {crashed.who}" in broken.stdout

    applied = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert read_sd(conn, target) != before
