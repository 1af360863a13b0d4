"""The apply lock held in AD (planner/apply/adlock.py, issue 14 §4) on a real Samba DC: one
lock object per forest and tenant under ``CN=wbplan-locks,CN=Program Data,<domain>``, taken by
an atomic LDAP add, so that runners on other sessions, processes or machines are refused
naming the holder; expired locks are reported, never taken; force-unlock needs the exact id;
release never deletes somebody else's lock; an account without the right gets a clear error,
and one with exactly the rights the README documents can take and release the lock."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import time
import uuid
from collections.abc import Iterator
from typing import Any

import ldap3
import pytest

from planner.apply import adlock
from planner.apply.adlock import (
    AdLockInfo,
    acquire,
    force_unlock,
    held,
    read_locks,
    refresh,
    release,
)
from planner.errors import LdapAccessError, LdapError, LockedError, UsageError
from planner.model.guids import CLASS_GUIDS
from planner.observe.ldapconn import LdapOptions, LdapSession, connect
from tests.ad.adops import add_aces, allow, object_sid, read_sd, write_sd
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC

FOREST = "contoso.test"
TENANT = "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
PROGRAM_DATA = "CN=Program Data,DC=contoso,DC=test"
CONTAINER = f"CN=wbplan-locks,{PROGRAM_DATA}"
LOCK_DN = f"CN={FOREST}__{TENANT},{CONTAINER}"
CREATE_CHILD = 0x1
DELETE_CHILD = 0x2
CONTAINER_INHERIT = 0x02
RACE_TRIALS = 10

samba = pytest.mark.samba


def options(dc: SambaDC, user: str | None = None, password: str | None = None) -> LdapOptions:
    return LdapOptions(
        url=dc.url,
        ca_file=dc.ca_file,
        tls_server_name=dc.tls_server_name,
        user=user or dc.admin_user,
        password=password or dc.admin_password,
    )


@pytest.fixture
def sessions(samba_2012r2: SambaDC) -> Iterator[list[LdapSession]]:
    """Sessions opened by a test (closed after it); the lock container is emptied and removed
    after every test, so each starts with no container at all."""
    opened: list[LdapSession] = []
    yield opened
    for session in opened:
        session.close()
    remove_container(samba_2012r2.admin_connection())


def remove_container(conn: ldap3.Connection) -> None:
    conn.raise_exceptions = False
    conn.search(CONTAINER, "(objectClass=*)", ldap3.LEVEL, attributes=["1.1"])
    for item in list(conn.response or []):
        if item.get("type") == "searchResEntry":
            conn.delete(item["dn"])
    conn.delete(CONTAINER)
    conn.raise_exceptions = True


def session_for(
    dc: SambaDC, opened: list[LdapSession], user: str | None = None, password: str | None = None
) -> LdapSession:
    """A session of its own: another bind, as if from another machine or directory."""
    session = connect(options(dc, user, password))
    opened.append(session)
    return session


def lock_object(conn: ldap3.Connection, dn: str = LOCK_DN) -> dict[str, Any] | None:
    conn.raise_exceptions = False
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectClass", "description"])
    conn.raise_exceptions = True
    found = [i for i in conn.response or [] if i.get("type") == "searchResEntry"]
    return dict(found[0]["raw_attributes"]) if found else None


# --------------------------------------------------------------------------- acquire / release


@samba
def test_acquire_creates_the_container_and_one_lock_object_release_deletes_it(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    conn = samba_2012r2.admin_connection()
    assert lock_object(conn, CONTAINER) is None
    session = session_for(samba_2012r2, sessions)

    info = acquire(session, "Contoso.Test", TENANT.upper(), "apply")

    assert info.dn == LOCK_DN
    assert (info.forest, info.tenant_id, info.operation) == (FOREST, TENANT, "apply")
    assert uuid.UUID(info.lock_id).version == 4
    assert "@" in info.who
    since = dt.datetime.fromisoformat(info.since.replace("Z", "+00:00"))
    expires = dt.datetime.fromisoformat(info.expires.replace("Z", "+00:00"))
    assert expires - since == adlock.DEFAULT_TTL == dt.timedelta(hours=2)
    container = lock_object(conn, CONTAINER)
    assert container is not None and b"container" in container["objectClass"]
    stored = lock_object(conn)
    assert stored is not None
    assert [c.lower() for c in stored["objectClass"]] == [b"top", b"container"]
    (value,) = stored["description"]
    data = json.loads(value)
    # exactly id, holder, operation, start and expiry — no secret
    assert data == {
        "format": "wbplan-apply-lock/1",
        "lock_id": info.lock_id,
        "who": info.who,
        "pid": info.pid,
        "operation": "apply",
        "forest": FOREST,
        "tenant_id": TENANT,
        "since": info.since,
        "expires": info.expires,
    }
    assert samba_2012r2.admin_password.encode() not in value
    assert read_locks(session) == [info]

    assert release(session, info) is True
    assert lock_object(conn) is None
    assert read_locks(session) == []
    assert release(session, info) is False  # twice is harmless
    # the next run takes it again at once
    again = acquire(session, FOREST, TENANT, "rollback")
    assert again.lock_id != info.lock_id
    release(session, again)


@samba
def test_held_releases_however_the_block_ends(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    session = session_for(samba_2012r2, sessions)
    conn = samba_2012r2.admin_connection()
    with held(session, FOREST, TENANT, "apply") as info:
        assert isinstance(info, AdLockInfo)
        assert lock_object(conn) is not None
    assert lock_object(conn) is None
    with pytest.raises(RuntimeError), held(session, FOREST, TENANT, "apply"):
        raise RuntimeError("the apply failed")
    assert lock_object(conn) is None


@samba
def test_a_second_session_is_refused_naming_the_holder(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    first_session = session_for(samba_2012r2, sessions)
    second_session = session_for(samba_2012r2, sessions)
    first = acquire(first_session, FOREST, TENANT, "apply")

    with pytest.raises(LockedError) as refused:
        acquire(second_session, FOREST, TENANT, "rollback")

    message = refused.value.message
    assert f"another wbplan apply holds the lock for {FOREST} / {TENANT}" in message
    assert f"{first.who} (pid {first.pid}) since {first.since}, until {first.expires}" in message
    assert f"lock id {first.lock_id}" in message and LOCK_DN in message
    assert f"`wbplan force-unlock {first.lock_id}`" in (refused.value.hint or "")
    assert "EXPIRED" not in message
    # the holder's lock is untouched; another forest/tenant pair is a lock of its own
    assert read_locks(second_session) == [first]
    other = acquire(second_session, FOREST, str(uuid.uuid4()), "apply")
    assert len(read_locks(second_session)) == 2
    release(second_session, other)
    release(first_session, first)
    assert read_locks(second_session) == []


# --------------------------------------------------------------------------- the race


def _racer(
    opts: LdapOptions,
    trials: int,
    barrier: Any,
    results: Any,
) -> None:
    """One racing process: per trial, wait for the start, try to take the lock, report, wait
    until both have tried and the parent has looked at the lock, release when it won, wait
    until both are done."""
    with connect(opts) as session:
        for trial in range(trials):
            barrier.wait(timeout=120)
            info = None
            try:
                info = acquire(session, FOREST, TENANT, f"apply-{trial}")
                results.put((trial, "won", info.lock_id))
            except LockedError as exc:
                results.put((trial, "refused", exc.message))
            except Exception as exc:  # reported to the parent, which fails the test
                results.put((trial, "error", repr(exc)))
            barrier.wait(timeout=120)  # both tried
            barrier.wait(timeout=120)  # the parent looked at the lock: only now release it
            if info is not None:
                release(session, info)
            barrier.wait(timeout=120)


@samba
def test_two_processes_racing_exactly_one_takes_the_lock_each_trial(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    results = ctx.Queue()
    racers = [
        ctx.Process(target=_racer, args=(options(samba_2012r2), RACE_TRIALS, barrier, results))
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    conn = samba_2012r2.admin_connection()
    try:
        for trial in range(RACE_TRIALS):
            if trial % 2 == 0:
                # even trials also race on creating CN=wbplan-locks (entryAlreadyExists is fine)
                remove_container(conn)
            barrier.wait(timeout=180)  # go
            barrier.wait(timeout=180)  # both tried
            if lock_object(conn) is None:
                said = [results.get(timeout=10) for _ in range(results.qsize())]
                pytest.fail(f"trial {trial}: nobody holds the lock; the racers said {said}")
            barrier.wait(timeout=180)  # looked
            barrier.wait(timeout=180)  # released
            assert lock_object(conn) is None, f"trial {trial}: the winner's release failed"
        for racer in racers:
            racer.join(timeout=60)
            assert racer.exitcode == 0
    finally:
        for racer in racers:
            if racer.is_alive():
                racer.kill()
    outcomes: dict[int, list[tuple[str, str]]] = {}
    for _ in range(2 * RACE_TRIALS):
        trial, outcome, detail = results.get(timeout=10)
        outcomes.setdefault(trial, []).append((outcome, detail))
    for trial in range(RACE_TRIALS):
        kinds = sorted(outcome for outcome, _ in outcomes[trial])
        assert kinds == ["refused", "won"], (trial, outcomes[trial])
        winner = next(detail for outcome, detail in outcomes[trial] if outcome == "won")
        refusal = next(detail for outcome, detail in outcomes[trial] if outcome == "refused")
        assert f"another wbplan apply-{trial} holds the lock" in refusal
        assert f"lock id {winner}" in refusal


# --------------------------------------------------------------------------- expiry, force-unlock


@samba
def test_an_expired_lock_is_reported_as_expired_and_not_taken(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    crashed_session = session_for(samba_2012r2, sessions)
    crashed = acquire(crashed_session, FOREST, TENANT, "apply", ttl=dt.timedelta(seconds=1))
    crashed_session.close()  # the holder is gone without releasing
    time.sleep(2.2)
    session = session_for(samba_2012r2, sessions)

    with pytest.raises(LockedError) as refused:
        acquire(session, FOREST, TENANT, "apply")

    message = refused.value.message
    assert "has EXPIRED" in message
    assert f"{crashed.who} (pid {crashed.pid}) took it for a wbplan apply at {crashed.since}" in (
        message
    )
    assert f"it expired at {crashed.expires} and was never released" in message
    assert f"lock id {crashed.lock_id}" in message
    assert "does not take over an expired lock" in (refused.value.hint or "")
    assert f"`wbplan force-unlock {crashed.lock_id}`" in (refused.value.hint or "")
    assert read_locks(session) == [crashed]  # still the crashed run's lock

    assert force_unlock(session, crashed.lock_id) == crashed
    with held(session, FOREST, TENANT, "apply") as mine:
        assert read_locks(session) == [mine]


@samba
def test_force_unlock_needs_the_exact_id_and_lists_the_locks_otherwise(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    crashed = acquire(session_for(samba_2012r2, sessions), FOREST, TENANT, "apply")
    other_tenant = str(uuid.uuid4())
    bystander = acquire(session_for(samba_2012r2, sessions), FOREST, other_tenant, "rollback")
    operator = session_for(samba_2012r2, sessions)

    wrong = str(uuid.uuid4())
    with pytest.raises(UsageError) as refused:
        force_unlock(operator, wrong)
    message = refused.value.message
    assert f"no lock with id {wrong} in {CONTAINER}; locks there: " in message
    assert f"{crashed.lock_id} ({FOREST} / {TENANT}, apply by {crashed.who}" in message
    assert f"{bystander.lock_id} ({FOREST} / {other_tenant}, rollback" in message
    assert f"until {crashed.expires}" in message
    assert len(read_locks(operator)) == 2

    assert force_unlock(operator, f" {crashed.lock_id.upper()} ") == crashed
    assert read_locks(operator) == [bystander]
    with pytest.raises(UsageError, match="no lock with id"):
        force_unlock(operator, crashed.lock_id)
    force_unlock(operator, bystander.lock_id)
    with pytest.raises(UsageError, match=r"\(there are no locks\)"):
        force_unlock(operator, wrong)


@samba
def test_release_after_force_unlock_leaves_the_new_holders_lock_alone(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    slow_session = session_for(samba_2012r2, sessions)
    slow = acquire(slow_session, FOREST, TENANT, "apply")
    other_session = session_for(samba_2012r2, sessions)
    force_unlock(other_session, slow.lock_id)  # someone thought it had crashed
    newer = acquire(other_session, FOREST, TENANT, "apply")

    assert release(slow_session, slow) is False  # same DN, someone else's lock: kept
    assert read_locks(other_session) == [newer]
    with pytest.raises(LockedError, match="no longer held by this run"):
        refresh(slow_session, slow)
    assert read_locks(other_session) == [newer]

    assert release(other_session, newer) is True


@samba
def test_release_deletes_by_guid_so_a_lock_retaken_between_its_read_and_delete_survives(
    samba_2012r2: SambaDC, sessions: list[LdapSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_session = session_for(samba_2012r2, sessions)
    slow = acquire(slow_session, FOREST, TENANT, "apply")
    other_session = session_for(samba_2012r2, sessions)
    newer: list[AdLockInfo] = []
    real_read = slow_session.read

    def read_then_lose_the_lock(dn: str, attributes: Any, **kw: Any) -> Any:
        entry = real_read(dn, attributes, **kw)
        if dn == LOCK_DN and not newer:
            # right after release read (and found its own id): broken and re-taken elsewhere
            force_unlock(other_session, slow.lock_id)
            newer.append(acquire(other_session, FOREST, TENANT, "apply"))
        return entry

    monkeypatch.setattr(slow_session, "read", read_then_lose_the_lock)
    assert release(slow_session, slow) is False
    assert read_locks(other_session) == newer
    assert release(other_session, newer[0]) is True


@samba
def test_refresh_moves_the_expiry_of_a_lock_we_hold(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    session = session_for(samba_2012r2, sessions)
    info = acquire(session, FOREST, TENANT, "apply", ttl=dt.timedelta(seconds=1))
    time.sleep(1.1)
    renewed = refresh(session, info, ttl=dt.timedelta(hours=1))
    assert renewed.lock_id == info.lock_id and renewed.since == info.since
    assert renewed.expires > info.expires
    assert read_locks(session) == [renewed]
    with pytest.raises(LockedError) as refused:
        acquire(session_for(samba_2012r2, sessions), FOREST, TENANT, "apply")
    assert "EXPIRED" not in refused.value.message
    assert f"until {renewed.expires}" in refused.value.message
    assert release(session, renewed) is True


# --------------------------------------------------------------------------- rights


@samba
def test_an_account_without_create_rights_gets_the_right_it_needs(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    samba_2012r2.create_user("lockless", CONNECTOR_PASSWORD)
    session = session_for(samba_2012r2, sessions, "lockless@contoso.test", CONNECTOR_PASSWORD)

    with pytest.raises(LdapAccessError) as no_container:
        acquire(session, FOREST, TENANT, "apply")
    error = no_container.value
    assert error.message == (
        "the apply lock cannot be created: the bind account lacks Create container objects "
        f"(Create Child of container) on {PROGRAM_DATA}"
    )
    assert f'dsacls "{PROGRAM_DATA}" /I:T /G "DOMAIN\\account:CCDC;container"' in (error.hint or "")
    assert "README" in (error.hint or "")

    # with the container created by an administrator, the refusal names that container
    admin = session_for(samba_2012r2, sessions)
    admin_lock = acquire(admin, FOREST, TENANT, "apply")
    release(admin, admin_lock)
    with pytest.raises(LdapAccessError) as no_lock:
        acquire(session, FOREST, TENANT, "apply")
    assert f"lacks Create container objects (Create Child of container) on {CONTAINER}" in (
        no_lock.value.message
    )
    assert read_locks(session) == []  # reading needs no extra right


def test_a_journal_record_the_account_cannot_create_is_named_as_such(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    """The journal anchor shares the lock's object class and rights, but its refusal names
    the journal record, not the lock (a user looking for a lock problem would be misled)."""
    from planner.apply import anchor
    from planner.apply.journal import JournalDoc

    samba_2012r2.create_user("anchorless", CONNECTOR_PASSWORD)
    session = session_for(samba_2012r2, sessions, "anchorless@contoso.test", CONNECTOR_PASSWORD)
    doc = JournalDoc(
        operation="apply", wbplan_version="test", started="2026-12-01T00:00:00Z", lock_id="x1"
    )
    with pytest.raises(LdapAccessError) as denied:
        anchor.write_record(session, doc, "apply-test.json")
    assert denied.value.message == (
        "the journal records' container cannot be created: the bind account lacks Create "
        f"container objects (Create Child of container) on {PROGRAM_DATA}"
    )
    assert "apply lock" not in denied.value.message


@samba
def test_the_documented_delegation_is_enough_to_take_and_release_the_lock(
    samba_2012r2: SambaDC, sessions: list[LdapSession]
) -> None:
    conn = samba_2012r2.admin_connection()
    user = samba_2012r2.create_user("lockdelegate", CONNECTOR_PASSWORD)
    before = read_sd(conn, PROGRAM_DATA)
    # Create + Delete container objects on CN=Program Data, this object and all descendants
    add_aces(
        conn,
        PROGRAM_DATA,
        allow(
            object_sid(conn, user),
            CREATE_CHILD | DELETE_CHILD,
            obj=CLASS_GUIDS["container"],
            flags=CONTAINER_INHERIT,
        ),
    )
    try:
        session = session_for(
            samba_2012r2, sessions, "lockdelegate@contoso.test", CONNECTOR_PASSWORD
        )
        with held(session, FOREST, TENANT, "apply") as info:
            assert read_locks(session) == [info]
        assert lock_object(conn) is None
        crashed = acquire(session, FOREST, TENANT, "apply")
        assert force_unlock(session, crashed.lock_id) == crashed
    finally:
        write_sd(conn, PROGRAM_DATA, before)


# --------------------------------------------------------------------------- no DC needed


class _RootDse:
    """Stands in for an LdapSession whose DC answers a rootDSE."""

    url = "ldaps://dc1.child.contoso.test"

    def __init__(self, default: str, root: str) -> None:
        self.values = {
            "rootdomainnamingcontext": (root.encode(),),
            "defaultnamingcontext": (default.encode(),),
        }

    def require(self, dn: str, attributes: list[str]) -> Any:
        from planner.observe.ldapconn import Entry

        return Entry(dn=dn, values=self.values)


def test_the_lock_lives_in_the_forest_root_domain() -> None:
    root = _RootDse("DC=contoso,DC=test", "DC=contoso,DC=test")
    assert adlock.locks_container(root) == CONTAINER  # type: ignore[arg-type]
    child = _RootDse("DC=child,DC=contoso,DC=test", "DC=contoso,DC=test")
    with pytest.raises(LdapError) as refused:
        adlock.locks_container(child)  # type: ignore[arg-type]
    assert "lives in the forest root domain (CN=Program Data,DC=contoso,DC=test)" in (
        refused.value.message
    )
    assert "DC of DC=child,DC=contoso,DC=test" in refused.value.message
    assert "forest root domain" in (refused.value.hint or "")


def test_lock_names_fit_cn_and_stay_distinct() -> None:
    assert adlock.lock_rdn_value("Contoso.Test", TENANT.upper()) == f"{FOREST}__{TENANT}"
    long_a = adlock.lock_rdn_value("a" * 40 + ".corp.example.com", TENANT)
    long_b = adlock.lock_rdn_value("a" * 40 + ".corp.example.org", TENANT)
    assert len(long_a) <= 64 and len(long_b) <= 64
    assert long_a != long_b and long_a.endswith(f"__{TENANT}")
    assert adlock.lock_rdn_value("we,ird+forest", TENANT).startswith("we_ird_forest__")
