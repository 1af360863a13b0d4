"""Apply interrupted, on a real Samba DC (issue 14): a reply lost after the DC committed, a stop
signal (SIGTERM, SIGINT) in the middle, a SIGKILL, and journals edited before rollback.

After each, the journal must say what happened (``unknown``, ``interrupted``, ``started``), the
AD lock must be released (or, after SIGKILL, be breakable by its id), and rollback must return
every DACL byte for byte to what it was — or refuse an edited journal before writing anything.
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap3
import pytest
import yaml
from ldap3.core.exceptions import LDAPSocketReceiveError

import planner.apply.run as run_module
from planner.apply.lock import held
from planner.apply.run import execute_plan
from planner.graphapi.client import GraphOptions
from planner.model.policy import Policy
from planner.model.state import Ace
from planner.observe.live import LiveSources, now_iso, observe_live
from planner.observe.sd import (
    _dacl_aces,
    _dacl_only,
    _parse_raw,
    ace_to_winacl,
    merge_into_descriptor,
    parse_descriptor,
)
from planner.planning import make_plan
from tests.ad.adops import add_ou, allow, read_sd
from tests.ad.conftest import options_for
from tests.apply.harness import (
    DEVICES,
    DRS_CONFIG,
    DRS_SERVICE,
    DRS_SERVICES,
    assert_no_secrets,
    cli_env,
    connection_args,
    exists,
    journals,
    load_json,
    plan_out,
    policy_text,
    snapshot,
    wbplan,
    wbplan_popen,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

LOCKS = "CN=wbplan-locks,CN=Program Data,DC=contoso,DC=test"
EVERYONE = "S-1-1-0"
FULL_CONTROL = 0xF01FF
PLAN_KEY = "k3y-for-signing-journals-0123456789abcdef"


def ad_locks(dc: SambaDC) -> list[str]:
    """DNs of the lock objects in AD (none when the container does not exist yet)."""
    conn = dc.admin_connection()
    try:
        conn.search(LOCKS, "(objectClass=container)", ldap3.LEVEL, attributes=["1.1"])
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return []
    return [e["dn"] for e in conn.response or () if e.get("type") == "searchResEntry"]


@pytest.fixture(scope="module")
def connector(samba_2012r2: SambaDC) -> str:
    return samba_2012r2.create_connector()


@pytest.fixture
def emu(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.tenant = graph_tenants.p1()
    return graph_emulator


_serial = iter(range(1, 10_000))


def fresh_ous(dc: SambaDC, n: int) -> list[str]:
    conn = dc.admin_connection()
    k = next(_serial)
    return [add_ou(conn, f"OU=Stop{k}x{i},{dc.base_dn}") for i in range(n)]


def statuses(journal: Path) -> list[str]:
    return [e["status"] for e in load_json(journal)["entries"]]


def rollback_restores(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, journal: Path, before: dict[str, bytes | None]
) -> subprocess.CompletedProcess[str]:
    back = wbplan(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Rollback complete!" in back.stdout
    now = snapshot(dc.admin_connection(), list(before))
    for dn, data in before.items():
        assert now[dn] == data, f"{dn} not restored byte for byte"
    assert ad_locks(dc) == []
    return back


# --------------------------------------------------------------------------- a lost reply


def in_process(dc: SambaDC, emu: GraphEmulator, text: str) -> tuple[Policy, LiveSources]:
    policy = Policy.model_validate(yaml.safe_load(text))
    sources = LiveSources(
        ldap=options_for(dc),
        graph=GraphOptions(graph_url=emu.base_url, ca_file=Path(emu.tls.ca_file)),
    )
    return policy, sources


def lose_reply(
    monkeypatch: pytest.MonkeyPatch, op: str, wanted: Callable[[str, tuple[Any, ...]], bool]
) -> list[str]:
    """Make the apply's LDAP connection lose the reply of the first successful ``op`` (add or
    modify) ``wanted`` picks: the DC has made the change, then the socket fails as the reply
    would be read. Returns the DNs whose reply was lost."""
    lost: list[str] = []
    real_open = run_module.open_targets

    @contextlib.contextmanager
    def lossy(*args: Any, **kw: Any) -> Iterator[Any]:
        with real_open(*args, **kw) as targets:
            conn = targets.ad.conn
            real = getattr(conn, op)

            def call(dn: str, *rest: Any, **more: Any) -> Any:
                answer = real(dn, *rest, **more)
                if not lost and (conn.result or {}).get("result") == 0 and wanted(dn, rest):
                    lost.append(dn)
                    raise LDAPSocketReceiveError("socket receive error: connection reset")
                return answer

            setattr(conn, op, call)
            yield targets

    monkeypatch.setattr(run_module, "open_targets", lossy)
    return lost


def apply_in_process(tmp_path: Path, policy: Policy, sources: LiveSources) -> run_module.ApplyRun:
    state = observe_live(policy, sources)
    plan = make_plan(
        policy,
        state,
        policy_file="policy.yaml",
        policy_digest="",
        state_source="live",
        timestamp=now_iso(),
    )
    with held(tmp_path / "locks", policy.forest, policy.tenant.id, "apply") as lock:
        return execute_plan(
            plan,
            policy,
            sources,
            state,
            lock,
            journal_dir=tmp_path / "state" / "journal",
            progress=lambda *_: None,
        )


def test_a_dacl_write_whose_reply_was_lost_is_unknown_and_rolled_back_byte_identical(
    samba_2012r2: SambaDC,
    connector: str,
    emu: GraphEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dc = samba_2012r2
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", emu.token)
    [ou] = fresh_ous(dc, 1)
    conn = dc.admin_connection()
    before = read_sd(conn, ou)
    text = policy_text(password=(ou,))
    write_policy(tmp_path, text)
    lost = lose_reply(
        monkeypatch, "modify", lambda dn, rest: dn == ou and "nTSecurityDescriptor" in rest[0]
    )

    run = apply_in_process(tmp_path, *in_process(dc, emu, text))

    assert lost == [ou]
    assert not run.result.ok and run.result.unknown == 1 and run.result.failed == 0
    doc = load_json(run.journal)
    assert doc["outcome"] == "failed"
    first, *rest = doc["entries"]
    assert first["status"] == "unknown", first
    assert f"lost the connection to {dc.url} during the modify of {ou}" in first["error"]
    assert first["before_image"]["kind"] == "security_descriptor"
    assert first["after_image"] is None
    assert [e["status"] for e in rest] == ["done", "done"]  # independent of the lost one
    # the DC did make the change whose reply was lost
    ace = Ace.model_validate(first["planned"]["after"])
    assert ace in parse_descriptor(read_sd(conn, ou)).aces

    rollback_restores(tmp_path, dc, emu, run.journal, {ou: before})


def test_a_create_whose_reply_was_lost_is_unknown_and_rollback_deletes_the_planned_object(
    samba_2012r2: SambaDC,
    connector: str,
    emu: GraphEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dc = samba_2012r2
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", emu.token)
    conn = dc.admin_connection()
    touched = [DEVICES, DRS_CONFIG, DRS_SERVICES, DRS_SERVICE, f"CN=Services,{dc.config_dn}"]
    before = snapshot(conn, touched)
    assert before[DEVICES] is None
    text = policy_text(device=True)
    write_policy(tmp_path, text)
    lost = lose_reply(monkeypatch, "add", lambda dn, _: dn == DEVICES)

    run = apply_in_process(tmp_path, *in_process(dc, emu, text))

    assert lost == [DEVICES]
    assert not run.result.ok and run.result.unknown == 1
    doc = load_json(run.journal)
    entries = {e["address"]: e for e in doc["entries"]}
    # its dependents wait for a create nobody knows happened; the independent branch ran
    for address in (
        f"ad.ace[{DEVICES}/device-writeback/manage-devices]",
        f"ad.object[{DRS_SERVICE}]",
        "tenant.feature[deviceWritebackEnabled]",
    ):
        assert entries[address]["status"] == "skipped", address
    assert entries[f"ad.object[{DRS_CONFIG}]"]["status"] == "done"
    created = entries[f"ad.object[{DEVICES}]"]
    assert created["status"] == "unknown"
    assert created["before_image"] == {"kind": "absent"} and created["after_image"] is None
    assert f"during the add of {DEVICES}" in created["error"]
    assert exists(conn, DEVICES)  # the DC did create it

    back = rollback_restores(tmp_path, dc, emu, run.journal, before)
    assert not exists(conn, DEVICES)
    [rb] = [j for j in journals(tmp_path) if j.name.endswith("-rollback.json")]
    undo = {e["address"]: e for e in load_json(rb)["entries"]}[f"ad.object[{DEVICES}]"]
    assert undo["status"] == "done"
    assert "the planned object, created by the step whose reply was lost" in undo["note"]
    assert back.returncode == 0


# --------------------------------------------------------------------------- stop signals


def start_apply(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, n_ous: int
) -> tuple[subprocess.Popen[str], dict[str, bytes | None]]:
    """Plan password writeback on ``n_ous`` fresh OUs (3 ACE steps each), start the apply."""
    ous = fresh_ous(dc, n_ous)
    before = snapshot(dc.admin_connection(), ous)
    write_policy(tmp_path, policy_text(password=tuple(ous)))
    plan_out(tmp_path, dc, emu)
    return wbplan_popen(tmp_path, dc, emu, "apply", "plan.wbplan"), before


def read_until(proc: subprocess.Popen[str], text: str) -> str:
    """stdout up to and including the first line holding ``text``."""
    assert proc.stdout is not None
    seen = ""
    for line in proc.stdout:
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never came: {seen}{proc.communicate()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_finishes_the_running_step_releases_the_lock_and_rolls_back(
    samba_2012r2: SambaDC,
    connector: str,
    emu: GraphEmulator,
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    dc = samba_2012r2
    proc, before = start_apply(tmp_path, dc, emu, 2)
    head = read_until(proc, "Creating...")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    out = head + out
    assert_no_secrets(dc, emu, out, err)

    assert proc.returncode == 1, out + err
    assert f"{sig.name} received: finishing the current step, then stopping" in err
    [journal] = journals(tmp_path)
    where = str(journal.relative_to(tmp_path))
    assert f"Apply interrupted by {sig.name}!" in out
    assert f"Journal: {where} (undo with `wbplan rollback {where}`)" in out
    doc = load_json(journal)
    assert doc["outcome"] == "interrupted"
    got = statuses(journal)
    assert len(got) == 6
    done = got.count("done")
    # the step running when the signal came finished; no other began
    assert got == ["done"] * done + ["pending"] * (6 - done), got
    assert 1 <= done < 6
    assert out.count("Creating...") == out.count("Creation complete") == done
    assert f"{6 - done} change(s) not started" in out
    assert ad_locks(dc) == []

    rollback_restores(tmp_path, dc, emu, journal, before)


def test_sigkill_leaves_the_lock_and_a_started_step_force_unlock_and_rollback_recover(
    samba_2012r2: SambaDC, connector: str, emu: GraphEmulator, tmp_path: Path
) -> None:
    dc = samba_2012r2
    proc, before = start_apply(tmp_path, dc, emu, 2)
    # killed once the journal shows a step under way (polled: the file is replaced atomically)
    deadline = time.monotonic() + 60
    while True:
        found = journals(tmp_path)
        if found and {"started", "done"} & set(statuses(found[0])):
            break
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.001)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    [journal] = journals(tmp_path)
    doc = load_json(journal)
    got = statuses(journal)
    assert doc["outcome"] == "running" and doc["finished"] is None
    assert {"started", "done"} & set(got)
    assert "pending" in got
    # the AD lock of the killed apply is still there, with the journal's lock id
    [lock] = ad_locks(dc)
    conn = dc.admin_connection()
    conn.search(lock, "(objectClass=*)", ldap3.BASE, attributes=["description"])
    lock_id = doc["lock_id"]
    assert json.loads(str(conn.response[0]["attributes"]["description"][0]))["lock_id"] == lock_id

    again = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert again.returncode == 1
    assert "another wbplan apply holds the lock" in again.stderr and lock_id in again.stderr
    assert statuses(journal) == got and len(journals(tmp_path)) == 1  # nothing was done

    ldap = connection_args(dc, None)
    freed = wbplan(tmp_path, dc, emu, "force-unlock", lock_id, *ldap, connect=False)
    assert freed.returncode == 0, freed.stderr
    assert f"Lock {lock_id} (apply by " in freed.stdout
    assert ad_locks(dc) == []

    rollback_restores(tmp_path, dc, emu, journal, before)


# --------------------------------------------------------------------------- edited journals


def cli(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``wbplan ARGS`` + connection options, like the harness's, with extra environment."""
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args, *connection_args(dc, emu)],
        cwd=tmp_path,
        env=cli_env(dc, emu) | (env or {}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert_no_secrets(dc, emu, proc.stdout, proc.stderr)
    assert PLAN_KEY not in proc.stdout + proc.stderr
    return proc


def applied_journal(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, text: str, env: dict[str, str] | None = None
) -> Path:
    write_policy(tmp_path, text)
    planned = cli(
        tmp_path, dc, emu, "plan", "--policy", "policy.yaml", "-out", "plan.wbplan", env=env
    )
    assert planned.returncode in (0, 2), planned.stderr
    proc = cli(tmp_path, dc, emu, "apply", "plan.wbplan", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [journal] = journals(tmp_path)
    return journal


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def with_inherited_everyone_protected(data: bytes) -> bytes:
    """``data`` protected, with an inherited-looking Everyone full-control ACE among its
    inherited ones: the explicit ACEs are unchanged, so an ACE-by-ACE comparison of explicit
    ACEs sees no difference — yet Samba stores such an ACE as an explicit grant once the DACL
    is protected."""
    aces = _dacl_aces(_parse_raw(data))
    aces.append(ace_to_winacl(allow(EVERYONE, FULL_CONTROL, flags=0x10 | 0x02)))
    return _dacl_only(aces, protected=True)


def edit_dn(doc: dict[str, Any], domain: str) -> str:
    doc["entries"][0]["dn"] = domain
    return f"names {domain}, but the plan's change was for"


def edit_grant_everyone(doc: dict[str, Any], _: str) -> str:
    image = doc["entries"][0]["before_image"]
    granting = merge_into_descriptor(
        base64.b64decode(image["sd_base64"]), [allow(EVERYONE, FULL_CONTROL)]
    )
    image |= {"sd_base64": b64(granting), "sddl": parse_descriptor(granting).sddl}
    return "differ by more than the planned ACE"


def edit_protect_with_inherited_everyone(doc: dict[str, Any], _: str) -> str:
    image = doc["entries"][0]["before_image"]
    granting = with_inherited_everyone_protected(base64.b64decode(image["sd_base64"]))
    image |= {"sd_base64": b64(granting), "sddl": parse_descriptor(granting).sddl}
    return "differ by more than the planned ACE"


@pytest.mark.parametrize(
    "edit",
    [edit_dn, edit_grant_everyone, edit_protect_with_inherited_everyone],
    ids=[
        "dn-to-domain-root",
        "before-image-grants-everyone",
        "before-image-protected-inherited-everyone",
    ],
)
def test_an_edited_journal_is_refused_before_anything_is_written(
    samba_2012r2: SambaDC,
    connector: str,
    emu: GraphEmulator,
    tmp_path: Path,
    edit: Callable[[dict[str, Any], str], str],
) -> None:
    dc = samba_2012r2
    [ou] = fresh_ous(dc, 1)
    journal = applied_journal(tmp_path, dc, emu, policy_text(password=(ou,)))
    conn = dc.admin_connection()
    now = snapshot(conn, [ou, dc.base_dn])
    doc = load_json(journal)
    # the oldest entry is edited: rollback would reach it last, after the genuine ones
    expected = edit(doc, dc.base_dn)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc, indent=2))

    back = wbplan(tmp_path, dc, emu, "rollback", str(edited), "--auto-approve")

    assert back.returncode == 1, back.stdout + back.stderr
    assert expected in back.stderr
    assert "the journal was edited" in back.stderr
    assert "hint: rollback refuses an edited journal; restore by hand" in back.stderr
    assert "Restoring..." not in back.stdout
    assert snapshot(conn, [ou, dc.base_dn]) == now  # nothing written, not even the genuine steps
    assert ad_locks(dc) == []


def test_with_a_signing_key_any_edit_of_a_journal_is_refused_as_mis_signed(
    samba_2012r2: SambaDC, connector: str, emu: GraphEmulator, tmp_path: Path
) -> None:
    """WBPLAN_PLAN_KEY set for plan, apply and rollback: the journal is signed, and one byte
    changed in a note — which rollback does not otherwise look at — makes it refuse the
    journal; so does an edit that keeps the journal self-consistent (an entry moved to the
    domain root with its approved change and images to match), which no check of the content
    can tell from a genuine one."""
    dc = samba_2012r2
    key = {"WBPLAN_PLAN_KEY": PLAN_KEY}
    [ou] = fresh_ous(dc, 1)
    conn = dc.admin_connection()
    before = snapshot(conn, [ou])
    # key writeback on this 2012 R2 schema is a manual step (adprep): an entry with a note
    text = policy_text(password=(ou,)) + "  ngc_keys: {enabled: true}\n"
    journal = applied_journal(tmp_path, dc, emu, text, env=key)
    doc = load_json(journal)
    assert doc["signature"].startswith("hmac-sha256:")
    now = snapshot(conn, [ou, dc.base_dn])

    def note_byte(d: dict[str, Any]) -> None:
        [manual] = [e for e in d["entries"] if e["status"] == "manual" and e["note"]]
        note = manual["note"]
        manual["note"] = note[:10] + chr(ord(note[10]) ^ 1) + note[11:]

    def consistent_root(d: dict[str, Any]) -> None:
        e = d["entries"][0]
        root_sd = read_sd(conn, dc.base_dn)
        grant = allow(EVERYONE, FULL_CONTROL)
        e |= {"dn": dc.base_dn, "action": "delete"}
        e["planned"] = {"dn": dc.base_dn, "before": grant.model_dump(mode="json"), "after": None}
        e["before_image"]["sd_base64"] = b64(merge_into_descriptor(root_sd, [grant]))
        e["after_image"]["sd_base64"] = b64(root_sd)

    for edit in (note_byte, consistent_root):
        edited_doc = load_json(journal)
        edit(edited_doc)
        edited = tmp_path / f"{edit.__name__}.json"
        edited.write_text(json.dumps(edited_doc, indent=2))
        back = cli(tmp_path, dc, emu, "rollback", str(edited), "--auto-approve", env=key)
        assert back.returncode == 1, (edit.__name__, back.stdout + back.stderr)
        assert "the journal's signature does not verify with the configured key" in back.stderr
        assert "Restoring..." not in back.stdout
        assert snapshot(conn, [ou, dc.base_dn]) == now, edit.__name__
        assert ad_locks(dc) == []

    unsigned = load_json(journal)
    unsigned["signature"] = None
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned))
    back = cli(tmp_path, dc, emu, "rollback", "unsigned.json", "--auto-approve", env=key)
    assert back.returncode == 1
    assert "the journal is not signed, and WBPLAN_PLAN_KEY requires signed journals" in back.stderr
    assert snapshot(conn, [ou, dc.base_dn]) == now

    # the journal as apply wrote it rolls back, byte for byte
    back = cli(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve", env=key)
    assert back.returncode == 0, back.stdout + back.stderr
    assert snapshot(conn, [ou]) == before


def test_without_a_key_a_self_consistent_edit_is_refused_by_ad_s_record_of_the_journal(
    samba_2012r2: SambaDC, connector: str, emu: GraphEmulator, tmp_path: Path
) -> None:
    """No WBPLAN_PLAN_KEY: an entry moved to the domain root with its approved change and both
    images made to match passes every check of the file — AD's record of what the journal may
    undo (written by apply before its first write, planner/apply/anchor.py) refuses it, and a
    journal whose record is gone (its lock id changed) is refused too."""
    dc = samba_2012r2
    [ou] = fresh_ous(dc, 1)
    journal = applied_journal(tmp_path, dc, emu, policy_text(password=(ou,)))
    doc = load_json(journal)
    assert doc["anchor"].startswith(f"CN={doc['lock_id']},CN=wbplan-journals,CN=Program Data,")
    conn = dc.admin_connection()
    now = snapshot(conn, [ou, dc.base_dn])

    consistent = load_json(journal)
    e = consistent["entries"][0]
    root_sd = read_sd(conn, dc.base_dn)
    grant = allow(EVERYONE, FULL_CONTROL)
    e |= {"dn": dc.base_dn, "action": "delete"}
    e["planned"] = {"dn": dc.base_dn, "before": grant.model_dump(mode="json"), "after": None}
    e["before_image"]["sd_base64"] = b64(merge_into_descriptor(root_sd, [grant]))
    e["after_image"]["sd_base64"] = b64(root_sd)
    (tmp_path / "consistent.json").write_text(json.dumps(consistent, indent=2))
    back = wbplan(tmp_path, dc, emu, "rollback", "consistent.json", "--auto-approve")
    assert back.returncode == 1, back.stdout + back.stderr
    assert "the journal does not match AD's record of it" in back.stderr
    assert "Restoring..." not in back.stdout
    assert snapshot(conn, [ou, dc.base_dn]) == now

    elsewhere = load_json(journal)
    elsewhere["lock_id"] = "00000000-0000-4000-8000-000000000000"
    (tmp_path / "elsewhere.json").write_text(json.dumps(elsewhere, indent=2))
    back = wbplan(tmp_path, dc, emu, "rollback", "elsewhere.json", "--auto-approve")
    assert back.returncode == 1
    assert "AD holds no record of this journal" in back.stderr
    assert snapshot(conn, [ou, dc.base_dn]) == now

    back = wbplan(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve")
    assert back.returncode == 0, back.stdout + back.stderr
