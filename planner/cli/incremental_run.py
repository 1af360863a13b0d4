"""One incremental read of a snapshot, for ``refresh``/``plan``/``check --incremental``.

Brings the ``--state`` snapshot up to date from live AD and writes it back — by the unchanged
path when the DC shows that nothing observed changed (``planner.observe.unchanged``: the new
marks spliced into the old bytes, the snapshot neither loaded nor re-serialised), else by the
usual incremental read (``planner.observe.incremental``) — and keeps the snapshot's cache
(``planner.statecache``) in step with the bytes written. ``--no-cache`` reads and writes no
cache, so every run takes the usual path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)


@dataclass
class IncrementalRun:
    """The snapshot written, how it was read, and its cache entry."""

    target: Path
    entry: Any
    """The ``statecache.Entry`` of the bytes written (None: no cache)."""
    info: str | None = None
    warning: str | None = None
    _state: Any = field(default=None, repr=False)

    def state(self) -> Any:
        """The snapshot written (loaded from the file on first use after the unchanged path,
        which never parses it)."""
        if self._state is None:
            from planner.observe.snapshot import load_state

            self._state = load_state(self.target)
        return self._state

    def light_state(self) -> Any:
        """The state written when it is loaded, else its rest as a state (no bulk reads): for
        summaries that name the forest, the schema, the tenant and the evidence."""
        if self._state is not None:
            return self._state
        from planner.model.state import ObservedState

        return ObservedState.model_validate(self.rest())

    def rest(self) -> dict[str, Any]:
        """The state written without its bulk reads, as its cache entry keeps it (a run with a
        cache: the unchanged path always has one)."""
        assert self.entry is not None
        rest: dict[str, Any] = self.entry.rest
        return rest


def _try_unchanged(
    loaded: Any,
    state_file: Path,
    raw: bytes,
    entry: Any,
    target: Path,
    sources: Any,
    opts: dict[str, Any],
) -> IncrementalRun | None:
    """The unchanged path from ``state_file`` (its bytes ``raw``, their cache ``entry``), or
    None when it does not apply (the reason logged for --debug)."""
    from planner import statecache as cache
    from planner.cli.refresh_cmd import progress_for
    from planner.fileio import write_bytes_atomic
    from planner.observe.ldapconn import connect
    from planner.observe.live import now_iso
    from planner.observe.unchanged import Declined, read_unchanged, splice_unchanged
    from planner.progress import active, showing

    with showing(progress_for(opts)):
        progress = active()
        try:
            progress.phase(f"Connecting to AD: {sources.ldap.url}")
            session = connect(sources.ldap)
            try:
                found = read_unchanged(
                    session,
                    loaded.policy,
                    entry.rest,
                    entry.calls,
                    entry.carried,
                    progress=progress,
                    max_age=opts.get("max_incremental_age"),
                )
            except Declined as declined:
                LOG.debug("the unchanged path does not apply: %s", declined.reason)
                return None
            finally:
                session.close()
        finally:
            progress.close()
    try:
        data, new = splice_unchanged(raw, entry.rest, found, sources.ldap.url, now_iso())
    except (LookupError, ValueError) as exc:
        LOG.debug("the unchanged path does not apply: the snapshot cannot be spliced: %s", exc)
        return None
    write_bytes_atomic(target, data)
    kept = cache.Entry(cache.sha256(data), new, entry.calls, entry.carried, entry.report)
    cache.store_entry(target, kept)
    info = (
        f"AD read incrementally: 0 change(s) since USN {found.read.since_usn}; nothing observed "
        "changed, so only the snapshot's marks were updated."
    )
    return IncrementalRun(target, kept, info=info)


def run_incremental(
    loaded: Any,
    state_file: Path,
    sources: Any,
    opts: dict[str, Any],
    *,
    target: Path | None = None,
    graph: Any = None,
) -> IncrementalRun:
    """Bring ``state_file`` up to date from live AD (``sources.ldap``) and write it to
    ``target`` (default: itself). ``graph``: Graph options to read the tenant live. That,
    Connect evidence options (``--connect-evidence``, ``--max-evidence-age``: the evidence
    written changes) or a missing or unusable cache mean the usual incremental read."""
    from planner import statecache as cache
    from planner.cli.connect_cmd import evidence_from
    from planner.cli.refresh_cmd import incremental_notes, progress_for
    from planner.fileio import write_bytes_atomic
    from planner.observe.bulkcalls import BulkCall, bulk_notes, with_keeps
    from planner.observe.live import LiveSources, observe_live
    from planner.observe.snapshot import dump_state, load_state, read_snapshot_bytes
    from planner.observe.unchanged import rest_of, same_observations
    from planner.progress import showing

    out = target or state_file
    use_cache = not opts.get("no_cache")
    evidence_given = opts.get("connect_evidence") or opts.get("max_evidence_age")
    raw = read_snapshot_bytes(state_file) if state_file.exists() else None
    old_entry = cache.load_entry(state_file, raw) if use_cache and raw is not None else None
    if old_entry is not None and not evidence_given and graph is None:
        assert raw is not None
        fast = _try_unchanged(loaded, state_file, raw, old_entry, out, sources, opts)
        if fast is not None:
            return fast
    kept_report = old_entry.report if old_entry is not None else None
    previous = load_state(state_file, raw) if raw is not None else None
    del raw  # 40 MB at 100,000 users: not held through the read
    # Before the live read: a bad evidence file stops the command at once.
    evidence = evidence_from(opts, keep=previous.connect if previous is not None else None)
    calls: list[BulkCall] = []
    with showing(progress_for(opts)):
        state = observe_live(
            loaded.policy,
            LiveSources(ldap=sources.ldap, graph=graph),
            marks=True,
            previous=previous,
            incremental=True,
            max_incremental_age=opts.get("max_incremental_age"),
            bulk_calls=calls,
        )
    if evidence is not None:
        state = state.model_copy(update={"connect": evidence})
    data = dump_state(state).encode("utf-8")
    write_bytes_atomic(out, data)
    digest = cache.sha256(data)
    del data
    entry = None
    if use_cache and state.ad is not None:
        # The last report stays this snapshot's when the merge observed exactly what the
        # snapshot did (changes only to what wbplan does not read, e.g. a logon time).
        same = (
            kept_report is not None and previous is not None and same_observations(previous, state)
        )
        entry = cache.Entry(
            digest,
            rest_of(state),
            with_keeps(calls, state.ad),
            cache.carried_json(bulk_notes(state.ad)),
            kept_report if same else None,
        )
        cache.store_entry(out, entry)
    elif use_cache:
        cache.forget(out)
    warning, info = incremental_notes(state)
    return IncrementalRun(out, entry, info=info, warning=warning, _state=state)


__all__ = ["IncrementalRun", "run_incremental"]
