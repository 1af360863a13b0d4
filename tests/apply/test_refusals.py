"""What apply and rollback refuse to do, on a Samba DC + the Graph emulator (issue #6):

- a saved plan whose observed world changed (an ACE added on a planned object, the tenant's
  licences changed) is refused as stale, naming every changed address, and nothing is written —
  no descriptor, no uSN, no Graph write, no journal;
- rollback refuses to overwrite a DACL changed after apply, says what differs, and succeeds once
  the change is undone (re-running rollback is safe);
- ``apply`` without a plan shows the plan and only ``yes`` approves; ``--wait`` re-plans until
  the plan has no changes.

The tests share one DC (module scope); each works under OUs of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.observe.sd import parse_descriptor, remove_aces
from tests.ad.adops import add_aces, add_ou, allow, deny, object_sid, read_sd
from tests.apply.harness import (
    journals,
    load_json,
    plan_out,
    policy_text,
    replan_exit,
    snapshot,
    usn,
    wbplan,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

CONTAINER_CLASS = "bf967a8b-0de6-11d0-a285-00aa003049e2"
CREATE_CHILD, DELETE_CHILD, CI = 0x1, 0x2, 0x02

pytestmark = pytest.mark.samba

AUTHENTICATED_USERS = "S-1-5-11"


@pytest.fixture(scope="module")
def dc(samba_2012r2: SambaDC) -> Iterator[SambaDC]:
    samba_2012r2.create_connector()
    yield samba_2012r2


@pytest.fixture
def emu(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.tenant = graph_tenants.p1()
    return graph_emulator


def ou(name: str) -> str:
    return f"OU={name},DC=contoso,DC=test"


def test_a_stale_plan_is_refused_naming_each_change_and_nothing_is_written(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target, other = add_ou(conn, ou("StaleA")), add_ou(conn, ou("StaleB"))
    write_policy(tmp_path, policy_text(password=(target, other)))
    plan_out(tmp_path, dc, emu)
    # the world moves: an ACE on a planned object, and the tenant's licence counts
    add_aces(conn, target, deny(AUTHENTICATED_USERS, 0x80000))
    emu.tenant.skus[-1]["consumedUnits"] += 1
    sds, usns, requests = (
        snapshot(conn, [target, other]),
        (usn(conn, target), usn(conn, other)),
        len(emu.requests),
    )

    proc = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")

    assert proc.returncode == 1
    assert "Error: Saved plan is stale: 2 observed item(s) changed" in proc.stderr
    assert f"  - ad.object[{target}]\n" in proc.stderr
    assert "  - tenant.subscribed_skus[]\n" in proc.stderr
    assert f"ad.object[{other}]" not in proc.stderr
    assert (
        "hint: review the changes, then make a new plan with `wbplan plan -out FILE`" in proc.stderr
    )
    assert snapshot(conn, [target, other]) == sds
    assert (usn(conn, target), usn(conn, other)) == usns
    assert [r for r in emu.requests[requests:] if r.method != "GET"] == []
    assert journals(tmp_path) == []
    assert list((tmp_path / "state" / "locks").glob("*.lock")) == []


def test_rollback_keeps_a_change_made_after_apply_and_removes_only_wbplan_s_aces(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    """Issue 14 §1: an ACE another administrator added after apply stays; rollback takes out
    exactly the ACEs apply added (the whole before-image is written back only when the DACL is
    still what apply left), and a second run finds nothing to do."""
    conn = dc.admin_connection()
    target = add_ou(conn, ou("RollA"))
    original = read_sd(conn, target)
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    assert wbplan(tmp_path, dc, emu, "apply", "plan.wbplan").returncode == 0
    [journal] = journals(tmp_path)
    extra = deny(AUTHENTICATED_USERS, 0x80000)
    add_aces(conn, target, extra)

    back = wbplan(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve")

    assert back.returncode == 0, back.stdout + back.stderr
    assert "Rollback complete! 3 restored, 0 already as before." in back.stdout
    explicit = [a for a in parse_descriptor(read_sd(conn, target)).aces if not a.inherited]
    assert extra in explicit  # the other administrator's change is kept
    assert remove_aces(read_sd(conn, target), [extra]) == remove_aces(original, [extra])
    [rb] = [j for j in journals(tmp_path) if "rollback" in j.name]
    assert load_json(rb)["outcome"] == "complete"
    notes = [e["note"] for e in load_json(rb)["entries"]]
    assert all("removed only wbplan's ACE" in n and "kept" in n for n in notes), notes

    # a second run finds everything as before apply and writes nothing
    again = wbplan(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve")
    assert "Rollback complete! 0 restored, 3 already as before." in again.stdout


def test_apply_without_a_plan_asks_only_yes_approves_and_wait_converges(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, ou("AskA"))
    original = read_sd(conn, target)
    write_policy(tmp_path, policy_text(password=(target,)))

    declined = wbplan(tmp_path, dc, emu, "apply", "--policy", "policy.yaml", stdin="y\n")

    assert declined.returncode == 1
    assert "Plan: 3 to add, 0 to change, 0 to destroy" in declined.stdout
    assert "Do you want to perform these actions?" in declined.stdout
    assert "Only 'yes' will be accepted to approve." in declined.stdout
    assert "Apply cancelled." in declined.stdout
    assert read_sd(conn, target) == original
    assert journals(tmp_path) == []

    approved = wbplan(
        tmp_path, dc, emu, "apply", "--policy", "policy.yaml", "--wait=20", "--wait-interval", "1",
        stdin="yes\n",
    )  # fmt: skip

    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in approved.stdout
    assert "Converged: the plan has no changes." in approved.stdout
    assert read_sd(conn, target) != original
    code, _doc, _err = replan_exit(tmp_path, dc, emu)
    assert code == 0


def test_a_bind_account_without_write_dac_is_told_which_right_it_lacks_where(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, ou("NoDacA"))
    before = read_sd(conn, target)
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    user = dc.create_user("wbplan_applier", "Appl1er!Secret#7")
    # the rights the apply lock in AD needs (README "The apply lock in AD"): create and delete
    # container objects under CN=Program Data — and nothing on the OU
    add_aces(
        conn,
        f"CN=Program Data,{dc.base_dn}",
        allow(object_sid(conn, user), CREATE_CHILD | DELETE_CHILD, CONTAINER_CLASS, flags=CI),
    )

    proc = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan", user=user, password="Appl1er!Secret#7")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Appl1er!Secret#7" not in proc.stdout + proc.stderr
    assert (
        f"the modify of {target} was refused: the bind account lacks Modify permissions "
        f"(WRITE_DAC) on {target}" in proc.stdout
    )
    assert (
        "Apply failed! Resources: 0 added, 0 changed, 0 destroyed. 3 failed, 0 skipped"
        in proc.stdout
    )
    assert read_sd(conn, target) == before
    [journal] = journals(tmp_path)
    assert "Appl1er!Secret#7" not in journal.read_text()
    assert {e["status"] for e in load_json(journal)["entries"]} == {"failed"}
