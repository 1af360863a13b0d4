"""The apply lock: one apply or rollback at a time per forest and tenant.

A lock is a small JSON file ``<lock dir>/<forest>__<tenant id>.lock`` holding the lock id
(uuid4), who holds it (``user@host``, pid), since when and for which operation. It is created
atomically *with its content*: the JSON is written to a private temporary file which is then
hard-linked to the lock name — ``link(2)`` fails with EEXIST when the name is taken, exactly like
``O_CREAT|O_EXCL``, but a second process can never read a half-written lock. (Where the file
system refuses hard links, ``O_CREAT|O_EXCL`` is used instead.)

A lock left behind by a crash is broken with ``wbplan force-unlock LOCK_ID``: only the exact id
breaks it, so a typo cannot break somebody else's running apply. Release removes the file only
while it still carries the holder's id.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from planner.errors import LockedError, UsageError
from planner.fileio import write_text_atomic
from planner.observe.live import now_iso

DEFAULT_LOCK_DIR = Path("state/locks")


@dataclass(frozen=True)
class LockInfo:
    """What a lock file says."""

    lock_id: str
    who: str
    pid: int
    since: str
    operation: str
    forest: str
    tenant_id: str


def lock_path(directory: Path, forest: str, tenant_id: str) -> Path:
    """The lock file of a forest + tenant (names made safe for any file system)."""
    safe = re.sub(r"[^a-z0-9.-]+", "_", f"{forest.lower()}__{tenant_id.lower()}")
    return directory / f"{safe}.lock"


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def read_lock(path: Path) -> LockInfo | None:
    """The lock at ``path`` (None: no lock, or not a lock file wbplan wrote)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def acquire(directory: Path, forest: str, tenant_id: str, operation: str) -> LockInfo:
    """Take the lock or raise ``LockedError`` naming its holder."""
    info = LockInfo(
        lock_id=str(uuid.uuid4()),
        who=_who(),
        pid=os.getpid(),
        since=now_iso(),
        operation=operation,
        forest=forest.lower(),
        tenant_id=tenant_id.lower(),
    )
    path = lock_path(directory, forest, tenant_id)
    tmp = directory / f".{path.name}.{info.lock_id}.tmp"
    write_text_atomic(tmp, json.dumps(asdict(info), indent=2) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _locked(path) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise
        _create_exclusive(path, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return info


def _create_exclusive(path: Path, tmp: Path) -> None:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise _locked(path) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(tmp.read_text(encoding="utf-8"))


def _locked(path: Path) -> LockedError:
    holder = read_lock(path)
    if holder is None:
        return LockedError(
            f"{path} exists but is not readable as a wbplan lock",
            hint="if no apply is running, remove the file by hand",
        )
    return LockedError(
        f"another wbplan {holder.operation} holds the lock for {holder.forest} / "
        f"{holder.tenant_id}: {holder.who} (pid {holder.pid}) since {holder.since}; lock id {holder.lock_id}",
        hint="wait for it to finish; if it crashed, break the lock with "
        f"`wbplan force-unlock {holder.lock_id}`",
    )


def release(directory: Path, info: LockInfo) -> None:
    """Remove the lock if it is still ours (force-unlock may have handed it to someone else)."""
    path = lock_path(directory, info.forest, info.tenant_id)
    current = read_lock(path)
    if current is not None and current.lock_id == info.lock_id:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def held(directory: Path, forest: str, tenant_id: str, operation: str) -> Iterator[LockInfo]:
    """Hold the lock for the ``with`` block; released however the block ends."""
    info = acquire(directory, forest, tenant_id, operation)
    try:
        yield info
    finally:
        release(directory, info)


def force_unlock(directory: Path, lock_id: str) -> LockInfo:
    """Break the lock whose id is ``lock_id``; ``UsageError`` when no lock has that id."""
    found = []
    for path in sorted(directory.glob("*.lock")) if directory.is_dir() else []:
        info = read_lock(path)
        if info is None:
            continue
        if info.lock_id == lock_id.strip().lower():
            path.unlink()
            return info
        found.append(info)
    held_by = "; ".join(f"{i.lock_id} ({i.forest} / {i.tenant_id}, {i.who})" for i in found)
    raise UsageError(
        f"no lock with id {lock_id} in {directory}"
        + (f"; locks there: {held_by}" if held_by else " (there are no locks)"),
        hint="copy the lock id from the message of the refused apply",
    )
