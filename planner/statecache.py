"""The cache an incremental read keeps beside its snapshot: ``<snapshot>.wbplan-cache/``.

``refresh``/``plan``/``check --incremental`` bring a snapshot up to date and write it back. When
nothing observed changed, wbplan need not load the snapshot (40 MB at 100,000 users), write it
again, nor evaluate its hundred thousand objects again: ``planner.observe.unchanged`` shows that
case from the snapshot's *rest* (everything but the bulk reads) and the bulk calls of the last
read, the new marks are spliced into the old bytes (``planner.jsonspan``), and ``check`` reuses
the last report's findings. This folder keeps what that needs:

* ``entry.json``: the sha256 of the snapshot file as wbplan wrote it (the cache is used only for
  those exact bytes: a snapshot replaced, edited or written by another version is read the
  usual way), its rest, the bulk calls, the ``unread`` notes its scans carry, and which report
  belongs to it;
* ``report-<digest>.json``: the last ``check``'s report for that snapshot — the JSON report's
  canonical text when the check rendered JSON, else the model's compact JSON — under a key of
  everything the findings depend on besides the observations (:func:`report_key`).

It is a cache: deleting it costs one ordinary run (a ``.gitignore`` in it keeps it out of git, as
pytest and mypy do with theirs); a cache that does not match (another
snapshot, another wbplan, a damaged file) is ignored, never an error; ``--no-cache`` neither
reads nor writes it. It holds what the snapshot and the report hold (no credentials).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from planner import __version__
from planner.fileio import write_text_atomic
from planner.model.policy import Policy
from planner.observe.bulkcalls import BulkCall

LOG = logging.getLogger(__name__)

SUFFIX = ".wbplan-cache"
ENTRY = "entry.json"
FORMAT = 1

ReportKind = Literal["canonical", "compact"]


def cache_dir(snapshot: Path) -> Path:
    """The cache folder of ``snapshot``: beside it, its name + ``.wbplan-cache``."""
    return snapshot.with_name(snapshot.name + SUFFIX)


def sha256(data: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ReportRef:
    """The report kept for a snapshot."""

    key: str
    """:func:`report_key` of the check that wrote it."""
    file: str
    digest: str
    """sha256 of the file."""
    kind: ReportKind
    summary: dict[str, int]
    """The report's summary (by alias), for the exit code and the summary line."""
    compliant: bool
    features: tuple[str, ...] = ()
    """The features of its rules and findings (the policy lines a report names)."""

    def as_json(self) -> dict[str, Any]:
        """JSON data for ``entry.json``."""
        return {
            "key": self.key,
            "file": self.file,
            "digest": self.digest,
            "kind": self.kind,
            "summary": self.summary,
            "compliant": self.compliant,
            "features": list(self.features),
        }


@dataclass(frozen=True)
class Entry:
    """What the cache holds for one snapshot file."""

    snapshot: str
    """sha256 of the snapshot's bytes."""
    rest: dict[str, Any]
    calls: tuple[BulkCall, ...]
    carried: tuple[dict[str, Any], ...]
    report: ReportRef | None = None

    def as_json(self) -> dict[str, Any]:
        """JSON data for ``entry.json``."""
        return {
            "format": FORMAT,
            "wbplan_version": __version__,
            "snapshot": self.snapshot,
            "rest": self.rest,
            "calls": [c.as_json() for c in self.calls],
            "carried": list(self.carried),
            "report": self.report.as_json() if self.report else None,
        }


def _entry_from(data: Any) -> Entry:
    if not isinstance(data, dict):
        raise ValueError("not an object")
    if data.get("format") != FORMAT or data.get("wbplan_version") != __version__:
        raise ValueError("written by another wbplan")
    rest, calls, carried = data["rest"], data["calls"], data["carried"]
    if not isinstance(rest, dict) or not isinstance(rest.get("ad"), dict):
        raise ValueError("no rest")
    if not isinstance(calls, list) or not isinstance(carried, list):
        raise ValueError("calls and carried must be lists")
    if not all(isinstance(c, dict) for c in (*calls, *carried)):
        raise ValueError("calls and carried must hold objects")
    report = None
    ref = data.get("report")
    if ref is not None:
        if ref.get("kind") not in ("canonical", "compact"):
            raise ValueError("unknown report kind")
        summary = ref["summary"]
        if not isinstance(summary, dict) or not all(isinstance(v, int) for v in summary.values()):
            raise ValueError("bad summary")
        report = ReportRef(
            key=str(ref["key"]),
            file=Path(str(ref["file"])).name,  # never a path out of the folder
            digest=str(ref["digest"]),
            kind=ref["kind"],
            summary=summary,
            compliant=bool(ref["compliant"]),
            features=tuple(str(f) for f in ref["features"]),
        )
    return Entry(
        snapshot=str(data["snapshot"]),
        rest=rest,
        calls=tuple(BulkCall.from_json(c) for c in calls),
        carried=tuple(carried),
        report=report,
    )


def load_entry(snapshot: Path, raw: bytes) -> Entry | None:
    """The cache entry of ``snapshot`` when it was written for exactly ``raw`` (the snapshot's
    bytes) by this wbplan; None otherwise (the reason is logged at debug level)."""
    path = cache_dir(snapshot) / ENTRY
    try:
        data = json.loads(path.read_bytes())
        entry = _entry_from(data)
    except FileNotFoundError:
        LOG.debug("no cache entry at %s", path)
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        LOG.debug("cache entry %s not used: %s", path, exc)
        return None
    if entry.snapshot != sha256(raw):
        LOG.debug("cache entry %s is for other snapshot bytes", path)
        return None
    return entry


def store_entry(snapshot: Path, entry: Entry) -> None:
    """Write ``entry`` (atomically) and drop report files it no longer names. A cache that
    cannot be written is logged, never an error: the next run reads the usual way."""
    folder = cache_dir(snapshot)
    try:
        write_text_atomic(folder / ENTRY, json.dumps(entry.as_json(), separators=(",", ":")))
        ignore = folder / ".gitignore"
        if not ignore.exists():  # as pytest and mypy do: a cache is not for version control
            write_text_atomic(
                ignore, "# Created by wbplan: a cache (see its README), safe to delete.\n*\n"
            )
        keep = entry.report.file if entry.report else None
        for stale in folder.glob("report-*.json"):
            if stale.name != keep:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        LOG.debug("cache %s not written: %s", folder, exc)


def forget(snapshot: Path) -> None:
    """Remove the cache entry of ``snapshot`` (its report files stay until the next store)."""
    try:
        (cache_dir(snapshot) / ENTRY).unlink(missing_ok=True)
    except OSError as exc:
        LOG.debug("cache entry of %s not removed: %s", snapshot, exc)


def report_key(policy: Policy, today: dt.date, fail_on: str, rest: Mapping[str, Any]) -> str:
    """What a report's findings depend on besides the observations: this wbplan (its rules),
    the policy as loaded (includes resolved), the date waivers expire against, ``--fail-on``,
    and — only when the state holds a tenant or Connect evidence, whose verdicts are judged as
    of the observation's time — that time (so such reports are never reused)."""
    timed = rest.get("tenant") is not None or rest.get("connect") is not None
    data = {
        "wbplan": __version__,
        "policy": policy.model_dump(mode="json", by_alias=True),
        "today": today.isoformat(),
        "fail_on": fail_on,
        "observed_at": rest.get("observed_at") if timed else None,
    }
    return sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())


def store_report(
    snapshot: Path,
    entry: Entry,
    key: str,
    text: str,
    kind: ReportKind,
    summary: dict[str, int],
    compliant: bool,
    features: Sequence[str],
) -> Entry:
    """Keep ``text`` as the report of ``entry``'s snapshot; the entry as written."""
    data = text.encode("utf-8")
    digest = sha256(data)
    name = f"report-{digest[:16]}.json"
    folder = cache_dir(snapshot)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if not target.exists() or sha256(target.read_bytes()) != digest:
            write_text_atomic(target, text)
    except OSError as exc:
        LOG.debug("cache report %s not written: %s", folder, exc)
        return entry
    ref = ReportRef(key, name, digest, kind, summary, compliant, tuple(sorted(features)))
    updated = Entry(entry.snapshot, entry.rest, entry.calls, entry.carried, ref)
    store_entry(snapshot, updated)
    return updated


def report_text(snapshot: Path, entry: Entry, key: str) -> str | None:
    """The kept report's text when it was written under ``key`` and is intact; else None."""
    ref = entry.report
    if ref is None or ref.key != key:
        return None
    try:
        data = (cache_dir(snapshot) / ref.file).read_bytes()
    except OSError as exc:
        LOG.debug("cache report not read: %s", exc)
        return None
    if sha256(data) != ref.digest:
        LOG.debug("cache report %s is damaged", ref.file)
        return None
    return data.decode("utf-8")


def carried_json(notes: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """``Unread`` notes as JSON data."""
    return tuple(n.model_dump(mode="json") for n in notes)


__all__ = [
    "ENTRY",
    "SUFFIX",
    "Entry",
    "ReportRef",
    "cache_dir",
    "carried_json",
    "forget",
    "load_entry",
    "report_key",
    "report_text",
    "sha256",
    "store_entry",
    "store_report",
]
