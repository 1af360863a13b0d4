"""Fast tests of apply's pieces without a DC: the lock (including real thread races), the
journal file, the engine's walk (with a fake executor standing in for AD), the stale check's
arithmetic, and tenant rollback against the Graph emulator. Each behaviour is also exercised on
Samba by the other files of this folder."""

from __future__ import annotations

import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from planner.apply import engine
from planner.apply.executors import Outcome, Targets
from planner.apply.journal import Journal, JournalDoc, JournalEntry, load_journal
from planner.apply.lock import acquire, force_unlock, held, lock_path, read_lock, release
from planner.apply.rollback import run_rollback
from planner.apply.stale import changed_addresses
from planner.errors import JournalError, LockedError, RollbackRefusedError, UsageError
from planner.graphapi.client import GraphClient
from planner.graphapi.tenant_ops import set_new_group_writeback_default, set_sync_feature
from planner.model.plan import Plan
from planner.model.state import ObservedState
from planner.observe.snapshot import load_state
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator

SCENARIOS = Path(__file__).parent.parent / "plan" / "scenarios"
TENANT = graph_tenants.TENANT_ID


def scenario_plan(name: str) -> Plan:
    return Plan.model_validate(json.loads((SCENARIOS / name / "plan.json").read_text()))


# ----------------------------------------------------------------------------- lock


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = acquire(tmp_path, "Contoso.Test", TENANT.upper(), "apply")
    with pytest.raises(LockedError) as refused:
        acquire(tmp_path, "contoso.test", TENANT, "rollback")
    assert f"{first.who} (pid {first.pid}) since {first.since}" in refused.value.message
    assert first.lock_id in refused.value.message
    assert f"wbplan force-unlock {first.lock_id}" in (refused.value.hint or "")
    on_disk = read_lock(lock_path(tmp_path, "contoso.test", TENANT))
    assert on_disk == first
    release(tmp_path, first)
    assert list(tmp_path.iterdir()) == []


def test_other_forests_and_tenants_have_their_own_locks(tmp_path: Path) -> None:
    with held(tmp_path, "contoso.test", TENANT, "apply"):
        with held(tmp_path, "fabrikam.test", TENANT, "apply"):
            pass
        with held(tmp_path, "contoso.test", str(uuid.uuid4()), "apply"):
            pass


def test_exactly_one_of_many_racing_threads_gets_the_lock(tmp_path: Path) -> None:
    start = threading.Barrier(8)
    won: list[str] = []
    lost: list[str] = []

    def race() -> None:
        start.wait()
        try:
            won.append(acquire(tmp_path, "contoso.test", TENANT, "apply").lock_id)
        except LockedError as exc:
            lost.append(exc.message)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 7
    assert all(won[0] in m for m in lost)  # every loser saw the complete lock file
    assert [p.name for p in tmp_path.iterdir()] == [
        lock_path(tmp_path, "contoso.test", TENANT).name
    ]


def test_release_leaves_a_lock_that_is_not_ours_and_held_releases_on_error(tmp_path: Path) -> None:
    ours = acquire(tmp_path, "contoso.test", TENANT, "apply")
    force_unlock(tmp_path, ours.lock_id)
    theirs = acquire(tmp_path, "contoso.test", TENANT, "apply")
    release(tmp_path, ours)
    assert read_lock(lock_path(tmp_path, "contoso.test", TENANT)) == theirs
    release(tmp_path, theirs)
    with pytest.raises(RuntimeError), held(tmp_path, "contoso.test", TENANT, "apply"):
        raise RuntimeError("apply crashed")
    assert list(tmp_path.glob("*.lock")) == []


def test_force_unlock_needs_the_exact_id(tmp_path: Path) -> None:
    info = acquire(tmp_path, "contoso.test", TENANT, "apply")
    with pytest.raises(UsageError) as wrong:
        force_unlock(tmp_path, str(uuid.uuid4()))
    assert info.lock_id in wrong.value.message  # lists the locks that are there
    assert force_unlock(tmp_path, info.lock_id.upper()) == info
    with pytest.raises(UsageError, match="there are no locks"):
        force_unlock(tmp_path, info.lock_id)


# ----------------------------------------------------------------------------- journal


def _journal(path: Path) -> Journal:
    return Journal(path, JournalDoc(operation="apply", wbplan_version="1", started="now"))


def test_the_journal_round_trips_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    j = _journal(tmp_path / "j.json")
    entry = JournalEntry(seq=1, address="ad.object[X]", type="ad.object", action="create")
    j.entries.append(entry)
    j.update(entry, status="started", before_image={"kind": "absent"})
    assert load_journal(j.path).entries[0].status == "started"  # flushed per step
    j.finish("complete")
    assert load_journal(j.path).outcome == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["j.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not a wbplan journal (not JSON"),
        ('{"format": "other"}', "is not a wbplan journal"),
        ('{"format": "wbplan-journal", "format_version": 9}', "has journal format 9"),
        (
            '{"format": "wbplan-journal", "format_version": 1, "operation": "apply", "extra": 1}',
            "does not match the journal format",
        ),
    ],
)
def test_a_journal_that_is_not_one_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "j.json"
    path.write_text(content)
    with pytest.raises(JournalError, match=re.escape(message)):
        load_journal(path)


# ----------------------------------------------------------------------------- engine


def _run(
    plan: Plan, tmp_path: Path, fail: set[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[engine.ApplyResult, dict[str, JournalEntry], list[tuple[str, str]]]:
    executed: list[str] = []

    def fake_execute(change: Any, targets: Any, started: Any) -> Outcome:
        started({"kind": "absent"})
        executed.append(change.address)
        if change.address in fail:
            from planner.errors import LdapAccessError

            raise LdapAccessError(f"refused {change.address}")
        return Outcome({"kind": "object"})

    monkeypatch.setattr(engine, "execute", fake_execute)
    events: list[tuple[str, str]] = []
    journal = _journal(tmp_path / "j.json")
    result = engine.run_apply(
        plan, Targets(), journal, lambda ev, e: events.append((ev, e.address))
    )
    saved = {e.address: e for e in load_journal(journal.path).entries}
    return result, saved, events


def test_a_failure_skips_its_dependents_transitively_and_independent_changes_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = scenario_plan("device-from-nothing")
    config = "ad.object[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]"
    result, saved, events = _run(plan, tmp_path, {config}, monkeypatch)
    assert saved[config].status == "failed" and saved[config].error == f"refused {config}"
    skipped = {a for a, e in saved.items() if e.status == "skipped"}
    # DRS service waits for the services container, which waits for the failed one
    assert any(a.startswith("ad.object[CN=DeviceRegistrationService,") for a in skipped)
    assert "tenant.feature[deviceWritebackEnabled]" in skipped
    assert all(saved[a].note == f"not attempted: {config} failed" for a in skipped)
    done = {a for a, e in saved.items() if e.status == "done"}
    assert done == {"ad.object[CN=RegisteredDevices,DC=contoso,DC=test]"} | {
        a for a in saved if a.startswith("ad.ace[CN=RegisteredDevices")
    }
    # the container and the wizard's one ACE on it
    assert (result.added, result.failed, result.skipped) == (2, 1, len(skipped))
    assert not result.ok
    assert ("failed", config) in events


def test_manual_steps_are_not_executed_and_deferred_changes_are_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = scenario_plan("schema-too-old")
    result, saved, events = _run(plan, tmp_path, set(), monkeypatch)
    manual = saved["ad.schema[contoso.test]"]
    assert manual.status == "manual" and "adprep /forestprep" in (manual.note or "")
    assert {a for a, e in saved.items() if e.status == "blocked"} == {
        c.address for c in plan.deferred_changes
    }
    assert all(
        saved[c.address].note == "waits for ad.schema[contoso.test]" for c in plan.deferred_changes
    )
    assert (result.added, result.manual, result.blocked, result.ok) == (3, 1, 7, True)
    assert [a for ev, a in events if ev == "start"] == [
        a for a, e in saved.items() if e.status == "done"
    ]


# ----------------------------------------------------------------------------- stale check


def test_changed_addresses_names_exactly_what_differs() -> None:
    state = load_state(SCENARIOS / "password-from-nothing" / "state.json")
    plan = scenario_plan("password-from-nothing")
    assert changed_addresses(plan, state) == []
    assert state.ad is not None
    moved = state.model_copy(
        update={
            "ad": state.ad.model_copy(
                update={
                    "objects": tuple(
                        o.model_copy(update={"usn_changed": (o.usn_changed or 0) + 1})
                        if o.dn.startswith("OU=Staff")
                        else o
                        for o in state.ad.objects
                    )
                }
            )
        }
    )
    assert changed_addresses(plan, ObservedState.model_validate(moved.model_dump())) == [
        "ad.object[OU=Staff,DC=contoso,DC=test]"
    ]


# ----------------------------------------------------------------------------- tenant rollback


def test_tenant_rollback_restores_flags_deletes_a_created_setting_and_refuses_later_edits(
    graph_emulator: GraphEmulator, graph_client: GraphClient, tmp_path: Path
) -> None:
    graph_emulator.tenant = graph_tenants.p1()
    flag = set_sync_feature(graph_client, TENANT, "unifiedGroupWritebackEnabled", True)
    setting = set_new_group_writeback_default(graph_client, False)
    doc = JournalDoc(
        operation="apply",
        wbplan_version="1",
        started="now",
        entries=[
            JournalEntry(
                seq=1, address=setting.address, type="tenant.setting", action="create", status="done",
                before_image={"kind": "tenant", "value": None, "object": None, "created_id": setting.created_id},
                after_image={"kind": "tenant", "value": setting.after},
            ),
            JournalEntry(
                seq=2, address=flag.address, type="tenant.feature", action="update", status="done",
                before_image={"kind": "tenant", "value": flag.before},
                after_image={"kind": "tenant", "value": flag.after},
            ),
        ],
    )  # fmt: skip
    # someone edits the setting after apply: rollback restores the flag, then stops there
    [created] = graph_emulator.tenant.group_settings
    [value] = [v for v in created["values"] if v["name"] == "NewUnifiedGroupWritebackDefault"]
    value["value"] = "true"
    journal = Journal(
        tmp_path / "rb.json", JournalDoc(operation="rollback", wbplan_version="1", started="now")
    )
    with pytest.raises(RollbackRefusedError) as refused:
        run_rollback(doc, Targets(graph=graph_client), journal, lambda *_: None)
    assert (
        "NewUnifiedGroupWritebackDefault is 'true' now, apply left 'false'" in refused.value.message
    )
    assert graph_emulator.tenant.sync is not None
    assert graph_emulator.tenant.sync["features"]["unifiedGroupWritebackEnabled"] is False
    assert graph_emulator.tenant.group_settings == [created]

    value["value"] = "false"
    journal = Journal(
        tmp_path / "rb2.json", JournalDoc(operation="rollback", wbplan_version="1", started="now")
    )
    result = run_rollback(doc, Targets(graph=graph_client), journal, lambda *_: None)
    assert (result.restored, result.unchanged) == (1, 1)
    assert graph_emulator.tenant.group_settings == []


# ----------------------------------------------------------------------------- LDAP failures


def test_refused_writes_name_the_missing_right_or_the_directory_s_objection() -> None:
    from planner.apply.ldapwrite import write_failure
    from planner.errors import LdapAccessError, LdapError

    group = "CN=Key Admins,CN=Users,DC=contoso,DC=test"
    denied = write_failure(
        "modify", group, 50, "00002098: access denied", f"Write property member on {group}"
    )
    assert isinstance(denied, LdapAccessError)
    assert (
        denied.message
        == f"the modify of {group} was refused: the bind account lacks Write property member on {group}"
    )
    assert "--emit powershell" in (denied.hint or "")
    constraint = write_failure(
        "add", "CN=X,DC=contoso,DC=test", 19, "Referenced object\n not found", "-"
    )
    assert type(constraint) is LdapError
    assert constraint.message == (
        "the add of CN=X,DC=contoso,DC=test failed: the directory refused a value "
        "(constraintViolation) — Referenced object not found"
    )
    assert "LDAP result 99" in write_failure("delete", "CN=X", 99, "", "-").message
