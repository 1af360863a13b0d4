"""Which apply lock a run takes: the lock object in AD when the run has an LDAP connection (one
lock for every runner, machine and working directory on the forest: :mod:`planner.apply.adlock`),
else the lock file under ``--lock-dir`` (a run that writes only the tenant; offline commands).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from planner.apply import adlock, lock
from planner.apply.lock import LockInfo

if TYPE_CHECKING:
    from planner.observe.live import LiveSources


@contextlib.contextmanager
def run_lock(
    sources: LiveSources,
    lock_dir: Path,
    forest: str,
    tenant_id: str,
    operation: str,
    *,
    ttl: dt.timedelta = adlock.DEFAULT_TTL,
) -> Iterator[LockInfo]:
    """Hold the lock for the ``with`` block (released however it ends)."""
    if sources.ldap is None:
        with lock.held(lock_dir, forest, tenant_id, operation) as info:
            yield info
        return
    from planner.observe.ldapconn import connect

    with (
        connect(sources.ldap) as session,
        adlock.held(session, forest, tenant_id, operation, ttl) as held,
    ):
        yield held


def force_unlock(sources: LiveSources, lock_dir: Path, lock_id: str) -> LockInfo:
    """Break the lock with ``lock_id``: in AD with an LDAP connection, else under ``lock_dir``."""
    if sources.ldap is None:
        return lock.force_unlock(lock_dir, lock_id)
    from planner.observe.ldapconn import connect

    with connect(sources.ldap) as session:
        return adlock.force_unlock(session, lock_id)
