"""DACL writes racing another administrator, on a real Samba DC (issue 14).

Samba 4.17 offers no compare-and-swap of ``nTSecurityDescriptor``: it refuses the modify that
deletes the exact old value and adds the new one (unwillingToPerform, "MOD_DELETE for
nTSecurityDescriptor not supported yet") and has no LDAP assertion control (RFC 4528). wbplan
then falls back to a replace guarded by the attribute's replication version
(``replPropertyMetaData``): a change somebody else made between wbplan's read and its write may
be overwritten, and wbplan must *report* it (a warning on the step, apply exit 1) instead of
losing it silently. These tests pin that fallback and what it reports, step by step with a
second admin connection timed by hooks, and over many rounds of the real CLI against a blind
read-merge-replace writer (what ADUC or dsacls do).
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap3
import pytest
import yaml
from ldap3.operation.search import compile_filter, parse_filter
from pyasn1.codec.ber import encoder

import planner.apply.run as run_module
from planner.apply.executors import MAX_SWAPS, Targets, swap_ace
from planner.apply.journal import Journal, JournalDoc, load_journal
from planner.apply.ldapwrite import AdWriter, sd_version
from planner.apply.lock import held
from planner.apply.rollback import run_rollback
from planner.apply.run import execute_plan
from planner.errors import LdapError, RollbackRefusedError
from planner.graphapi.client import GraphOptions
from planner.model.policy import Policy
from planner.model.state import Ace
from planner.observe.ldapconn import connect
from planner.observe.live import LiveSources, now_iso, observe_live
from planner.observe.sd import merge_into_descriptor, parse_descriptor, remove_aces
from planner.planning import make_plan
from tests.ad.adops import DACL_ONLY, add_ou, allow, read_sd, write_sd
from tests.ad.conftest import options_for
from tests.apply.harness import (
    journals,
    load_json,
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

READ_PROPERTY = 0x10
ASSERTION_CONTROL = "1.3.6.1.1.12"  # RFC 4528
UNWILLING_TO_PERFORM = 53
UNAVAILABLE_CRITICAL_EXTENSION = 12


def other_sid(n: int) -> str:
    """A distinct trustee per ACE (a SID of a made-up domain: the DC stores ACEs for any SID)."""
    return f"S-1-5-21-1111111111-2222222222-3333333333-{5000 + n}"


def other_ace(n: int) -> Ace:
    return allow(other_sid(n), READ_PROPERTY)


def wbplan_ace() -> Ace:
    """The ACE wbplan adds in the step-by-step tests (Authenticated Users, read one property,
    inherited by children)."""
    return allow("S-1-5-11", READ_PROPERTY, "00000000-0000-0000-0000-000000000001", None, 0x02)


def explicit(data: bytes) -> list[Ace]:
    return [a for a in parse_descriptor(data).aces if not a.inherited]


def other_admin_adds(conn: ldap3.Connection, dn: str, ace: Ace) -> None:
    """What another admin's tool does: read the DACL, merge an ACE, replace (SD-flags: DACL)."""
    write_sd(conn, dn, merge_into_descriptor(read_sd(conn, dn), [ace]))


def read_versioned(conn: ldap3.Connection, dn: str) -> tuple[bytes, int]:
    conn.search(
        dn,
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["nTSecurityDescriptor", "replPropertyMetaData"],
        controls=DACL_ONLY,
    )
    raw = conn.response[0]["raw_attributes"]
    version = sd_version(bytes(raw["replPropertyMetaData"][0]))
    assert version is not None
    return bytes(raw["nTSecurityDescriptor"][0]), version


@pytest.fixture
def writer(samba_2012r2: SambaDC) -> Iterator[AdWriter]:
    """wbplan's writer on a real session as the domain admin."""
    with connect(options_for(samba_2012r2)) as session:
        yield AdWriter(session)


_serial = iter(range(1, 10_000))


@pytest.fixture
def ou(samba_2012r2: SambaDC) -> str:
    """A fresh OU of the test's own on the module's DC."""
    return add_ou(samba_2012r2.admin_connection(), f"OU=Race{next(_serial)},{samba_2012r2.base_dn}")


# --------------------------------------------------------------------------- the DC offers no CAS


def test_samba_refuses_the_swap_modify_and_the_assertion_control_so_wbplan_falls_back(
    samba_2012r2: SambaDC, writer: AdWriter, ou: str
) -> None:
    conn = samba_2012r2.admin_connection()
    conn.raise_exceptions = False
    old = read_sd(conn, ou)
    new = merge_into_descriptor(old, [wbplan_ace()])
    # the compare-and-swap as one modify: delete the exact value read, add the new one
    conn.modify(
        ou,
        {"nTSecurityDescriptor": [(ldap3.MODIFY_DELETE, [old]), (ldap3.MODIFY_ADD, [new])]},
        controls=DACL_ONLY,
    )
    assert conn.result["result"] == UNWILLING_TO_PERFORM, conn.result
    assert "MOD_DELETE for nTSecurityDescriptor not supported yet" in conn.result["message"]
    # a replace guarded by an assertion (RFC 4528) that holds: the control itself is refused
    assertion = encoder.encode(
        compile_filter(parse_filter("(objectClass=*)", None, True, True, None, False).elements[0])
    )
    conn.modify(
        ou,
        {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [new])]},
        controls=[*DACL_ONLY, (ASSERTION_CONTROL, True, assertion)],
    )
    assert conn.result["result"] == UNAVAILABLE_CRITICAL_EXTENSION, conn.result
    assert read_sd(conn, ou) == old  # neither wrote anything

    before = writer.read_descriptor(ou)
    assert before.data == old and before.version is not None
    swap = writer.swap_sd(ou, before, new)

    assert writer.cas is False
    assert swap.atomic is False
    assert swap.concurrent == 0
    assert swap.after.version == before.version + 1
    assert wbplan_ace() in explicit(read_sd(conn, ou))
    assert swap.after.data == read_sd(conn, ou)


# --------------------------------------------------------------------------- one racing change


def test_a_change_between_wbplans_read_and_write_is_reported_as_overwritten(
    samba_2012r2: SambaDC, writer: AdWriter, ou: str
) -> None:
    other = samba_2012r2.admin_connection()
    raced: list[str] = []

    def meanwhile(dn: str) -> None:
        if not raced:
            other_admin_adds(other, dn, other_ace(1))
            raced.append(dn)

    writer.between_read_and_write = meanwhile
    written, swap, read, warnings = swap_ace(writer, ou, wbplan_ace(), add=True)

    assert raced == [ou]
    assert written is not None and swap is not None
    assert swap.atomic is False and swap.concurrent == 1
    [warning] = warnings
    assert ou in warning
    assert "was overwritten" in warning
    assert "no compare-and-swap" in warning
    assert parse_descriptor(read).sddl in warning  # what wbplan read, to redo the other change
    now = explicit(read_sd(other, ou))
    assert wbplan_ace() in now
    # on this DC the other admin's ACE is indeed gone: the loss is reported, not silent
    assert other_ace(1) not in now


def test_a_change_right_after_wbplans_write_is_kept_and_not_reported(
    samba_2012r2: SambaDC, writer: AdWriter, ou: str
) -> None:
    other = samba_2012r2.admin_connection()
    real_write = writer.write_sd
    writes: list[str] = []

    def write_then_other(dn: str, data: bytes) -> None:
        real_write(dn, data)
        writes.append(dn)
        if len(writes) == 1:
            other_admin_adds(other, dn, other_ace(2))

    writer.write_sd = write_then_other  # type: ignore[method-assign]
    _, swap, _, warnings = swap_ace(writer, ou, wbplan_ace(), add=True)

    assert writes == [ou]
    assert swap is not None and swap.concurrent == 1  # the version saw the other change ...
    assert warnings == []  # ... which came after wbplan's write: nothing was lost
    now = explicit(read_sd(other, ou))
    assert wbplan_ace() in now and other_ace(2) in now


def test_wbplans_ace_removed_right_after_its_write_is_written_again(
    samba_2012r2: SambaDC, writer: AdWriter, ou: str
) -> None:
    other = samba_2012r2.admin_connection()
    real_write = writer.write_sd
    writes: list[str] = []

    def write_then_removed(dn: str, data: bytes) -> None:
        real_write(dn, data)
        writes.append(dn)
        if len(writes) == 1:
            write_sd(other, dn, remove_aces(read_sd(other, dn), [wbplan_ace()]))

    writer.write_sd = write_then_removed  # type: ignore[method-assign]
    written, swap, _, warnings = swap_ace(writer, ou, wbplan_ace(), add=True)

    assert writes == [ou, ou]  # verified after the write, found missing, written again
    assert written is not None and swap is not None and swap.concurrent == 0
    assert warnings == []
    assert explicit(read_sd(other, ou)).count(wbplan_ace()) == 1


def test_a_change_overwritten_before_wbplan_gives_up_is_still_reported(
    samba_2012r2: SambaDC, writer: AdWriter, ou: str
) -> None:
    """Another admin adds an ACE between wbplan's first read and write (overwritten), then
    removes wbplan's ACE after every write: wbplan gives up after MAX_SWAPS attempts, and its
    error must still say that a change may have been overwritten."""
    other = samba_2012r2.admin_connection()
    real_write = writer.write_sd
    raced: list[str] = []

    def meanwhile(dn: str) -> None:
        if not raced:
            other_admin_adds(other, dn, other_ace(4))
            raced.append(dn)

    def write_then_removed(dn: str, data: bytes) -> None:
        real_write(dn, data)
        write_sd(other, dn, remove_aces(read_sd(other, dn), [wbplan_ace()]))

    writer.between_read_and_write = meanwhile
    writer.write_sd = write_then_removed  # type: ignore[method-assign]
    with pytest.raises(LdapError) as failure:
        swap_ace(writer, ou, wbplan_ace(), add=True)

    message = str(failure.value)
    assert f"the DACL of {ou} kept changing while wbplan wrote it ({MAX_SWAPS} attempts)" in message
    assert "overwritten" in message and ou in message
    now = explicit(read_sd(other, ou))
    assert other_ace(4) not in now  # lost on this DC: reported in the error, not silent
    assert wbplan_ace() not in now


# --------------------------------------------------------------------------- rollback racing


@pytest.fixture(scope="module")
def connector(samba_2012r2: SambaDC) -> str:
    return samba_2012r2.create_connector()


def rollback_journal(tmp_path: Path) -> Path:
    [found] = [j for j in journals(tmp_path) if j.name.endswith("-rollback.json")]
    return found


def applied(tmp_path: Path, dc: SambaDC, emu: GraphEmulator, ou: str) -> Path:
    """Password writeback on ``ou`` planned and applied by the CLI; its journal."""
    emu.tenant = graph_tenants.p1()
    write_policy(tmp_path, policy_text(password=(ou,)))
    plan_out(tmp_path, dc, emu)
    proc = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [journal] = journals(tmp_path)
    return journal


def test_rollback_reports_a_change_it_overwrote_while_restoring_the_before_image(
    samba_2012r2: SambaDC, connector: str, graph_emulator: GraphEmulator, ou: str, tmp_path: Path
) -> None:
    """The DACL is as apply left it, so rollback writes the before-image back whole; another
    admin adds an ACE between rollback's read and that write: it is lost, and rollback must
    say so (it used to count the step as "already absent" and say nothing)."""
    dc = samba_2012r2
    other = dc.admin_connection()
    before = read_sd(other, ou)
    journal = applied(tmp_path, dc, graph_emulator, ou)
    raced: list[str] = []

    def meanwhile(dn: str) -> None:
        if not raced:
            other_admin_adds(other, dn, other_ace(3))
            raced.append(dn)

    back = Journal(
        tmp_path / "rb.json", JournalDoc(operation="rollback", wbplan_version="t", started="t")
    )
    with connect(options_for(dc)) as session, pytest.raises(RollbackRefusedError) as refusal:
        writer = AdWriter(session)
        writer.between_read_and_write = meanwhile
        run_rollback(load_journal(journal), Targets(ad=writer), back, lambda *_: None)

    assert raced == [ou]
    # the before-image is back byte for byte, and the other admin's ACE went with it ...
    assert read_sd(other, ou) == before
    assert other_ace(3) not in explicit(read_sd(other, ou))
    # ... which rollback reports: the step is done (it wrote) and carries the warning
    assert [e.status for e in back.entries] == ["done"] * 3
    [warned] = [e for e in back.entries if e.warnings]
    [warning] = warned.warnings
    assert warned.dn == ou and ou in warning and "was overwritten" in warning
    message = refusal.value.message
    assert (
        "rollback restored 3 step(s) (0 already as before), but somebody else changed a DACL"
        in message
    )
    assert f"{warned.address}: {warning}" in message
    assert "check each DACL named in a warning" in (refusal.value.hint or "")


def test_rollback_keeps_a_change_made_right_after_applys_write(
    samba_2012r2: SambaDC,
    connector: str,
    graph_emulator: GraphEmulator,
    ou: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another admin adds an ACE right after apply's write (before its re-read): nothing was
    lost, so no warning — and the after-image holds their ACE too. Rollback must take out
    wbplan's ACE and keep theirs, not refuse the journal as edited."""
    dc = samba_2012r2
    other = dc.admin_connection()
    before = read_sd(other, ou)
    graph_emulator.tenant = graph_tenants.p1()
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", graph_emulator.token)
    real_open = run_module.open_targets
    writes: list[str] = []

    @contextlib.contextmanager
    def racing(*args: Any, **kw: Any) -> Iterator[Any]:
        with real_open(*args, **kw) as targets:
            real_write = targets.ad.write_sd

            def write_then_other(dn: str, data: bytes) -> None:
                real_write(dn, data)
                writes.append(dn)
                if len(writes) == 1:
                    other_admin_adds(other, dn, other_ace(5))

            targets.ad.write_sd = write_then_other
            yield targets

    monkeypatch.setattr(run_module, "open_targets", racing)
    text = policy_text(password=(ou,))
    write_policy(tmp_path, text)
    policy = Policy.model_validate(yaml.safe_load(text))
    sources = LiveSources(
        ldap=options_for(dc),
        graph=GraphOptions(
            graph_url=graph_emulator.base_url, ca_file=Path(graph_emulator.tls.ca_file)
        ),
    )
    state = observe_live(policy, sources)
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="live", timestamp=now_iso()
    )
    with held(tmp_path / "locks", policy.forest, policy.tenant.id, "apply") as lock:
        run = execute_plan(
            plan,
            policy,
            sources,
            state,
            lock,
            journal_dir=tmp_path / "state" / "journal",
            progress=lambda *_: None,
        )

    assert run.result.ok, run.journal.read_text()  # no warning: nothing was overwritten
    first = load_json(run.journal)["entries"][0]
    assert other_ace(5) in explicit(base64.b64decode(first["after_image"]["sd_base64"]))
    assert first["after_image"]["concurrent"] == 1  # the after-image holds their change too
    assert first["warnings"] == []

    back = wbplan(tmp_path, dc, graph_emulator, "rollback", str(run.journal), "--auto-approve")

    assert back.returncode == 0, back.stdout + back.stderr
    assert (
        "removed only wbplan's ACE" in load_json(rollback_journal(tmp_path))["entries"][-1]["note"]
    )
    # exactly what the other admin's change alone makes of the DACL apply found
    assert read_sd(other, ou) == merge_into_descriptor(before, [other_ace(5)])


# --------------------------------------------------------------------------- a concurrent writer


class BlindWriter(threading.Thread):
    """Another admin's tool in a tight loop: read the DACL, merge one new ACE, replace — with no
    guard at all. Records every ACE the DC acknowledged, and (by the replication version)
    whether its own write may have overwritten somebody else's (the version moved by more than
    its own write between its read and its re-read). ``phase`` labels both; it is changed only
    while the writer is paused, so no write straddles two phases."""

    def __init__(self, conn: ldap3.Connection) -> None:
        super().__init__(daemon=True)
        self.conn = conn
        self.dns: list[str] = []
        self.phase: tuple[int, str] = (0, "")
        self.go = threading.Event()
        self.busy = threading.Lock()
        self.done = threading.Event()
        self.acked: list[tuple[tuple[int, str], str, Ace]] = []
        self.clobbers: list[tuple[tuple[int, str], str]] = []
        self.error: BaseException | None = None
        self._n = 0

    def run(self) -> None:
        try:
            while not self.done.is_set():
                if not self.go.wait(0.05):
                    continue
                with self.busy:
                    if self.go.is_set():
                        self._one()
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def _one(self) -> None:
        dn = self.dns[self._n % len(self.dns)]
        self._n += 1
        ace = other_ace(self._n)
        data, version = read_versioned(self.conn, dn)
        write_sd(self.conn, dn, merge_into_descriptor(data, [ace]))
        self.acked.append((self.phase, dn, ace))
        _, now = read_versioned(self.conn, dn)
        if now - version > 1:
            self.clobbers.append((self.phase, dn))

    def resume(self, phase: tuple[int, str]) -> None:
        self.phase = phase
        self.go.set()

    def pause(self) -> None:
        """Stop after the write in flight (returns when none is)."""
        self.go.clear()
        with self.busy:
            pass

    def theirs(self, phase: tuple[int, str], dn: str) -> list[Ace]:
        return [ace for p, d, ace in self.acked if p == phase and d == dn]

    def may_have_overwritten(self, phase: tuple[int, str], dn: str) -> bool:
        return (phase, dn) in self.clobbers


ROUNDS = 10
OUS_PER_ROUND = 3


def planned_aces(doc: dict[str, Any], dn: str) -> list[Ace]:
    return [
        Ace.model_validate(c["change"]["after"])
        for c in doc["resource_changes"]
        if c["type"] == "ad.ace" and c["dn"] == dn and c["change"]["actions"] == ["create"]
    ]


def reported(entries: list[dict[str, Any]], dn: str) -> list[str]:
    """What a journal told a person about changes on ``dn`` wbplan may have overwritten: the
    steps' warnings, and the error of a step that gave up after writing."""
    out: list[str] = []
    for e in entries:
        if e.get("dn") != dn:
            continue
        out += e.get("warnings") or []
        if "overwritten" in (e.get("error") or ""):
            out.append(e["error"])
    return out


def apply_while_writing(
    where: Path, dc: SambaDC, emu: GraphEmulator, blind: BlindWriter, phase: tuple[int, str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``wbplan apply plan.wbplan``; the writer starts once apply has checked the plan against
    the directory (its first "Creating..." line) and stops when apply has ended."""
    proc = wbplan_popen(where, dc, emu, "apply", "plan.wbplan")
    assert proc.stdout is not None
    head = ""
    for line in proc.stdout:
        head += line
        if "Creating..." in line:
            break
    blind.resume(phase)
    out, err = proc.communicate(timeout=120)
    blind.pause()
    [journal] = journals(where)
    return subprocess.CompletedProcess(proc.args, proc.returncode, head + out, err), journal


def check_apply_journal(proc: subprocess.CompletedProcess[str], doc: dict[str, Any]) -> None:
    """Every step done (with its warnings printed), or failed after MAX_SWAPS; the outcome and
    the exit code say whether anything needs a person."""
    statuses = Counter(e["status"] for e in doc["entries"])
    warned = [w for e in doc["entries"] for w in e["warnings"]]
    assert set(statuses) <= {"done", "failed"}, (statuses, proc.stdout, proc.stderr)
    for e in doc["entries"]:
        assert e["status"] == "done" or "kept changing" in e["error"], e
    clean = statuses["failed"] == 0 and not warned
    # warnings alone leave the run complete (every step done) but exit 1 for a person to look
    assert doc["outcome"] == ("failed" if statuses["failed"] else "complete"), proc.stdout
    assert proc.returncode == (0 if clean else 1), proc.stdout + proc.stderr
    assert "Apply complete!" in proc.stdout if clean else "Apply complete!" not in proc.stdout
    for w in warned:
        assert w in proc.stdout


def check_rollback_journal(back: subprocess.CompletedProcess[str], doc: dict[str, Any]) -> None:
    """A step that wrote is done (with a warning when a change may have been overwritten);
    giving up on a DACL that kept changing stops rollback there (the rest stay pending)."""
    statuses = [e["status"] for e in doc["entries"]]
    done = statuses.count("done")
    assert statuses[:done] == ["done"] * done, statuses
    assert statuses[done:] in ([], ["failed"] + ["pending"] * (len(statuses) - done - 1))
    for e in doc["entries"]:
        assert e["status"] != "failed" or "kept changing" in e["error"], e
    warned = [w for e in doc["entries"] for w in e["warnings"]]
    clean = done == len(statuses) and not warned
    assert doc["outcome"] == ("complete" if done == len(statuses) else "failed"), back.stdout
    assert back.returncode == (0 if clean else 1), back.stdout + back.stderr
    for w in warned:
        assert w in back.stdout
    if warned and done == len(statuses):
        assert "but somebody else changed a DACL while rollback wrote it" in back.stderr


def test_a_blind_concurrent_writer_never_loses_an_ace_silently(
    samba_2012r2: SambaDC,
    connector: str,
    graph_emulator: GraphEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rounds of the real CLI (plan, apply, rollback) on fresh OUs while another admin's tool
    adds ACEs to the same OUs in a tight loop. Every ACE of theirs gone after apply was
    reported by a warning of that apply on that OU, every one gone after rollback by that
    rollback; every ACE of wbplan's that apply lost, or rollback left, is one that their
    tool's own write may have overwritten (in that phase); nothing else changed."""
    dc = samba_2012r2
    emu = graph_emulator
    emu.tenant = graph_tenants.p1()
    admin = dc.admin_connection()
    blind = BlindWriter(dc.admin_connection())
    blind.start()
    stats: Counter[str] = Counter()
    try:
        for r in range(ROUNDS):
            where = tmp_path / f"round{r}"
            where.mkdir()
            ous = [add_ou(admin, f"OU=Busy{r}x{i},{dc.base_dn}") for i in range(OUS_PER_ROUND)]
            before = {dn: explicit(read_sd(admin, dn)) for dn in ous}
            write_policy(where, policy_text(password=tuple(ous)))
            mine = {dn: planned_aces(plan_out(where, dc, emu), dn) for dn in ous}
            assert all(len(m) == 3 for m in mine.values())
            blind.dns = ous
            at_apply, at_rollback = (r, "apply"), (r, "rollback")

            proc, journal = apply_while_writing(where, dc, emu, blind, at_apply)
            applied = load_json(journal)
            check_apply_journal(proc, applied)
            after_apply: dict[str, list[Ace]] = {}
            for dn in ous:
                now = after_apply[dn] = explicit(read_sd(admin, dn))
                lost = [a for a in blind.theirs(at_apply, dn) if a not in now]
                if lost:
                    assert reported(applied["entries"], dn), f"apply lost {lost} on {dn} silently"
                missing = [a for a in mine[dn] if a not in now]
                if missing:  # only a write of theirs that read the DACL before wbplan's write
                    assert blind.may_have_overwritten(at_apply, dn), (dn, missing)
                stats["writer ACEs lost in apply"] += len(lost)
                stats["apply warnings"] += len(reported(applied["entries"], dn))
                stats["wbplan ACEs the writer overwrote in apply"] += len(missing)

            blind.resume(at_rollback)
            back = wbplan(where, dc, emu, "rollback", str(journal), "--auto-approve")
            blind.pause()
            rolled = load_json(rollback_journal(where))
            check_rollback_journal(back, rolled)
            for dn in ous:
                final = explicit(read_sd(admin, dn))
                theirs = blind.theirs(at_apply, dn) + blind.theirs(at_rollback, dn)
                kept = [a for a in after_apply[dn] if a in theirs] + blind.theirs(at_rollback, dn)
                lost = [a for a in kept if a not in final]
                if lost:
                    assert reported(rolled["entries"], dn), f"rollback lost {lost} on {dn} silently"
                left = [a for a in mine[dn] if a in final]
                if left:  # rollback stopped before it, or their write put it back
                    assert blind.may_have_overwritten(at_rollback, dn) or any(
                        e["dn"] == dn and e["status"] != "done" for e in rolled["entries"]
                    ), (dn, left)
                assert all(a in final for a in before[dn]), f"an original ACE of {dn} was lost"
                assert [a for a in final if a not in before[dn] + theirs + mine[dn]] == []
                stats["writer ACEs acknowledged"] += len(theirs)
                stats["writer ACEs lost in rollback"] += len(lost)
                stats["rollback warnings"] += len(reported(rolled["entries"], dn))
                stats["wbplan ACEs the writer put back in rollback"] += len(left)
            stats["rounds"] += 1
            stats["writer writes that may have overwritten another"] += sum(
                1 for phase, _ in blind.clobbers if phase[0] == r
            )
    finally:
        blind.done.set()
        blind.pause()
        blind.join(timeout=30)
    assert blind.error is None, blind.error
    with capsys.disabled():  # the run documents what happened
        print("\nconcurrent writer: " + ", ".join(f"{k}: {v}" for k, v in stats.items()))
    assert stats["rounds"] == ROUNDS
    assert stats["writer ACEs acknowledged"] >= ROUNDS
