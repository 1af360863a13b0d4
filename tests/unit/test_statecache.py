"""The cache beside a snapshot (``planner.statecache``) and the splice of the unchanged path
(``planner.observe.unchanged.splice_unchanged``), offline.

The Samba tests (``tests/ad/test_unchanged.py``) show that the unchanged path writes what the
usual merge writes; these pin what the cache accepts and refuses without a DC: it is used only
for the exact snapshot bytes it was written for, by this wbplan, and a kept report only under its
key; damage of any kind means "not cached", never an error.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from planner import __version__, statecache
from planner.model.state import AdMarks, AdRead, ObservedState
from planner.observe.bulkcalls import BulkCall
from planner.observe.snapshot import dump_state, load_state
from planner.observe.unchanged import (
    Declined,
    ProbeReads,
    Unchanged,
    changed_paths,
    rest_of,
    splice_unchanged,
)
from planner.policy.loader import load_file

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 22)


def marked_example() -> ObservedState:
    """The example snapshot with replication marks, as an incremental read writes one (no
    tenant: no Graph was read)."""
    state = load_state(REPO / "state" / "example.json")
    assert state.ad is not None
    marks = AdMarks(
        dc="CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,"
        "CN=Configuration,DC=contoso,DC=com",
        invocation_id="0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
        highest_committed_usn=41000,
        marked_at="2026-11-22T08:00:00Z",
        full_read_at="2026-11-21T08:00:00Z",
        naming_contexts=("DC=contoso,DC=com",),
        bind_token=("S-1-5-11", "S-1-5-21-1-2-3-1104"),
    )
    return state.model_copy(
        update={"ad": state.ad.model_copy(update={"marks": marks}), "tenant": None}
    )


def entry_for(raw: bytes, state: ObservedState) -> statecache.Entry:
    calls = (BulkCall("scope", "OU=Corp,DC=contoso,DC=com", ("user",), True, True, "g", "d"),)
    return statecache.Entry(statecache.sha256(raw), rest_of(state), calls, ())


def test_the_splice_is_the_canonical_text_of_the_new_state() -> None:
    state = marked_example()
    raw = dump_state(state).encode()
    assert state.ad is not None and state.ad.marks is not None
    marks = state.ad.marks.model_copy(
        update={"highest_committed_usn": 41007, "marked_at": "2026-11-22T09:00:00Z"}
    )
    read = AdRead(mode="incremental", since_usn=41000, changes=0)
    url = "ldaps://dc1.contoso.com"
    data, rest = splice_unchanged(
        raw, rest_of(state), Unchanged(marks, read), url, "2026-11-22T09:00:01Z"
    )
    expected = state.model_copy(
        update={
            "observed_at": "2026-11-22T09:00:01Z",
            "wbplan_version": __version__,
            "source": state.source.model_copy(
                update={"ldap_url": url, "graph_url": None, "description": None, "ad_read": read}
            ),
            "ad": state.ad.model_copy(update={"marks": marks}),
        }
    )
    assert data == dump_state(expected).encode()
    assert rest == rest_of(expected)


def test_changed_paths_splice_only_the_marks_and_the_top_level() -> None:
    rest = rest_of(marked_example())
    new = json.loads(json.dumps(rest))
    new["observed_at"] = "later"
    new["ad"]["marks"]["highest_committed_usn"] += 1
    assert changed_paths(rest, new) == {
        ("observed_at",): "later",
        ("ad", "marks", "highest_committed_usn"): 41001,
    }
    new["ad"]["forest"] = "other.test"
    with pytest.raises(ValueError, match=r"ad\.forest differs"):
        changed_paths(rest, new)


def test_the_entry_serves_only_the_bytes_it_was_written_for(tmp_path: Path) -> None:
    snapshot = tmp_path / "state" / "prod.json"
    state = marked_example()
    raw = dump_state(state).encode()
    snapshot.parent.mkdir()
    snapshot.write_bytes(raw)
    entry = entry_for(raw, state)
    statecache.store_entry(snapshot, entry)
    assert statecache.cache_dir(snapshot) == tmp_path / "state" / "prod.json.wbplan-cache"
    ignore = statecache.cache_dir(snapshot) / ".gitignore"
    assert ignore.read_text().splitlines()[-1] == "*"  # never committed by accident
    loaded = statecache.load_entry(snapshot, raw)
    assert loaded == entry
    # One byte different: another snapshot.
    assert statecache.load_entry(snapshot, raw.replace(b"41000", b"41001", 1)) is None
    # Another wbplan wrote it.
    path = statecache.cache_dir(snapshot) / statecache.ENTRY
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "wbplan_version": __version__ + "x"}))
    assert statecache.load_entry(snapshot, raw) is None
    # Damaged: not JSON, wrong shapes.
    for damage in ("{", "[]", json.dumps({**data, "calls": [{"kind": "bulk"}]})):
        path.write_text(damage)
        assert statecache.load_entry(snapshot, raw) is None
    path.unlink()
    assert statecache.load_entry(snapshot, raw) is None


def test_a_kept_report_is_served_under_its_key_and_intact(tmp_path: Path) -> None:
    snapshot = tmp_path / "prod.json"
    state = marked_example()
    raw = dump_state(state).encode()
    entry = entry_for(raw, state)
    summary = {"pass": 3, "fail": 1, "unknown": 0, "waived": 0, "error": 0}
    summary |= {"shall_failed": 1, "should_failed": 0}
    kept = statecache.store_report(
        snapshot, entry, "k1", '{"a": 1}\n', "canonical", summary, False, ["password"]
    )
    assert kept.report is not None and kept.report.features == ("password",)
    assert statecache.load_entry(snapshot, raw) == kept
    assert statecache.report_text(snapshot, kept, "k1") == '{"a": 1}\n'
    assert statecache.report_text(snapshot, kept, "k2") is None
    # A newer report replaces the file of the older one.
    newer = statecache.store_report(snapshot, kept, "k1", "{}", "compact", summary, False, [])
    files = sorted(p.name for p in statecache.cache_dir(snapshot).glob("report-*.json"))
    assert newer.report is not None and files == [newer.report.file]
    (statecache.cache_dir(snapshot) / newer.report.file).write_text("{ }")
    assert statecache.report_text(snapshot, newer, "k1") is None
    # A file name out of the folder is read as a name in it.
    path = statecache.cache_dir(snapshot) / statecache.ENTRY
    data = json.loads(path.read_text())
    data["report"]["file"] = "../../prod.json"
    path.write_text(json.dumps(data))
    found = statecache.load_entry(snapshot, raw)
    assert found is not None and found.report is not None and found.report.file == "prod.json"


def test_the_report_key_names_what_findings_depend_on_besides_the_observations() -> None:
    loaded, problems = load_file(REPO / "policies" / "example.yaml", TODAY)
    assert loaded is not None, problems
    policy = loaded.policy
    rest = rest_of(marked_example())
    key = statecache.report_key(policy, TODAY, "shall", rest)
    assert key == statecache.report_key(policy, TODAY, "shall", {**rest, "observed_at": "x"})
    assert key != statecache.report_key(policy, TODAY + dt.timedelta(days=1), "shall", rest)
    assert key != statecache.report_key(policy, TODAY, "should", rest)
    other = policy.model_copy(update={"waivers": ()})
    assert policy.waivers and key != statecache.report_key(other, TODAY, "shall", rest)
    # A tenant or Connect evidence is judged as of the observation's time: never the same key.
    timed = {**rest, "tenant": {"tenant_id": "t"}}
    assert statecache.report_key(policy, TODAY, "shall", timed) != statecache.report_key(
        policy, TODAY, "shall", {**timed, "observed_at": "x"}
    )


def test_the_probe_declines_any_call_it_did_not_record() -> None:
    recorded = [
        BulkCall("scope", "OU=Corp,DC=contoso,DC=com", ("user",), True, True, "g", "d"),
        BulkCall("groups", "OU=Groups,DC=contoso,DC=com", (), True, False, "g", "d"),
    ]
    probe = ProbeReads(recorded)
    with pytest.raises(Declined, match="bulk reads differ"):
        probe._next(None, BulkCall("scope", "OU=Corp,DC=contoso,DC=com", ("contact",)))  # type: ignore[arg-type]
    probe = ProbeReads(recorded[1:])
    with pytest.raises(Declined, match="would not be kept"):
        probe._next(None, BulkCall("groups", "OU=Groups,DC=contoso,DC=com"))  # type: ignore[arg-type]
    probe = ProbeReads([])
    with pytest.raises(Declined, match="not made last time"):
        probe._next(None, BulkCall("devices", "CN=RegisteredDevices,DC=contoso,DC=com"))  # type: ignore[arg-type]
