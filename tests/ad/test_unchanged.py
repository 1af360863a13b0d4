"""The unchanged path of incremental refresh against a Samba DC (issue 17: the CLI stops
touching what did not change).

The proof is by comparison, as for the merge itself (``tests/ad/test_incremental.py``): over
seeded rounds — idle ones and ones with random changes (``tests/ad/churn.py``) — the unchanged
path (``planner.observe.unchanged``: the snapshot's rest and bulk calls from its cache, the new
marks spliced into its bytes) runs first, then the usual incremental read from the same
snapshot. Whenever the unchanged path accepts, the usual read must have found no change and
must write, byte for byte, the snapshot the unchanged path wrote (the moment of the mark
aside); on every idle round it must accept (so the path is exercised, not just allowed). The
chain goes on from what the unchanged path wrote, as the command line does.

Then the command line: ``check --incremental`` reuses the last report only when nothing
observed changed and its key holds, and the reused report equals a fresh evaluation.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
from pathlib import Path
from typing import Any

import ldap3
import pytest

from planner import __version__, statecache
from planner.model.policy import Policy
from planner.model.state import AdRead, ObservedState, Source
from planner.observe.bulkcalls import BulkCall, bulk_notes, with_keeps
from planner.observe.incremental import observe_ad_marked
from planner.observe.ldapconn import connect
from planner.observe.snapshot import dump_state, parse_state
from planner.observe.unchanged import (
    Declined,
    read_unchanged,
    rest_of,
    same_observations,
    splice_unchanged,
)
from tests.ad.adops import policy
from tests.ad.churn import Lab
from tests.ad.conftest import options_for
from tests.ad.test_incremental import TODAY, cli_lab, wbplan
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

SEED = int(os.environ.get("WBPLAN_INCREMENTAL_SEED", "17"))
ROUNDS = int(os.environ.get("WBPLAN_INCREMENTAL_ROUNDS", "20"))
OBSERVED_AT = "2026-11-22T00:00:00Z"


def marked_read(
    dc: SambaDC, pol: Policy, previous: ObservedState | None = None
) -> tuple[ObservedState, list[BulkCall]]:
    """The usual read (full, or incremental from ``previous``) as a snapshot holds it, and the
    bulk calls it made."""
    calls: list[BulkCall] = []
    with connect(options_for(dc)) as session:
        ad, how = observe_ad_marked(
            session, pol, previous=previous, incremental=previous is not None, calls=calls
        )
    state = ObservedState(
        wbplan_version=__version__,
        observed_at=OBSERVED_AT,
        source=Source(ldap_url=dc.url, ad_read=how),
        ad=ad,
    )
    return parse_state(json.loads(dump_state(state)), "snapshot"), calls


def cached(state: ObservedState, calls: list[BulkCall]) -> tuple[bytes, statecache.Entry]:
    """The snapshot's bytes and the cache entry the command line keeps for them."""
    assert state.ad is not None
    raw = dump_state(state).encode()
    entry = statecache.Entry(
        statecache.sha256(raw),
        rest_of(state),
        with_keeps(calls, state.ad),
        statecache.carried_json(bulk_notes(state.ad)),
    )
    return raw, entry


def unchanged(
    dc: SambaDC, pol: Policy, raw: bytes, entry: statecache.Entry
) -> tuple[bytes, dict[str, Any]] | str:
    """What the unchanged path writes, or why it declined."""
    with connect(options_for(dc)) as session:
        try:
            found = read_unchanged(session, pol, entry.rest, entry.calls, entry.carried)
        except Declined as declined:
            return declined.reason
    return splice_unchanged(raw, entry.rest, found, dc.url, OBSERVED_AT)


def observations(state: ObservedState) -> dict[str, Any]:
    """Everything observed: the state without the marks and the read's bookkeeping."""
    data = state.model_dump(mode="json")
    for key in ("source", "observed_at", "wbplan_version"):
        data.pop(key)
    data["ad"].pop("marks")
    return data


def how(state: ObservedState) -> AdRead:
    assert state.source.ad_read is not None
    return state.source.ad_read


def as_marked_at(state: ObservedState, rest: dict[str, Any]) -> ObservedState:
    """``state`` with the moment of the mark of ``rest`` (the two reads ran seconds apart)."""
    assert state.ad is not None and state.ad.marks is not None
    marks = state.ad.marks.model_copy(update={"marked_at": rest["ad"]["marks"]["marked_at"]})
    return state.model_copy(update={"ad": state.ad.model_copy(update={"marks": marks})})


def test_the_unchanged_path_writes_what_the_merge_writes(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    rng = random.Random(SEED)
    lab = Lab(dc, rng).build()
    pol = lab.policy()
    state, calls = marked_read(dc, pol)
    raw, entry = cached(state, calls)
    assert any(c.kind == "scope" and c.keeps for c in entry.calls), entry.calls
    accepted = declined = kept = 0
    for round_ in range(ROUNDS):
        kind = ("idle", "changes", "unobserved")[round_ % 3]
        lab.log.append(f"--- round {round_} ({kind})")
        if kind == "changes":
            lab.churn(rng.randint(1, 6))
        elif kind == "unobserved":  # what wbplan does not read: uSNChanged moves, nothing else
            for dn in rng.sample(lab.users(), 3):
                lab.conn.modify(dn, {"description": [(ldap3.MODIFY_REPLACE, [f"r{round_}"])]})
        outcome = unchanged(dc, pol, raw, entry)
        merged, merged_calls = marked_read(dc, pol, state)
        # The check that lets a merge keep the last report agrees with the whole observation.
        same = same_observations(state, merged)
        assert same == (observations(state) == observations(merged)), kind
        if kind == "unobserved":
            assert same and (how(merged).changes or 0) >= 3, how(merged)
            kept += 1
        if isinstance(outcome, str):
            assert kind != "idle", f"an idle round was declined: {outcome}\n" + "\n".join(
                lab.log[-10:]
            )
            declined += 1
            state = merged
            raw, entry = cached(merged, merged_calls)
            continue
        data, rest = outcome
        accepted += 1
        assert how(merged).mode == "incremental" and how(merged).changes == 0, how(merged)
        assert how(merged).reread == ()
        expected = dump_state(as_marked_at(merged, rest)).encode()
        assert data == expected, "\n".join(lab.log[-10:])
        assert [c.as_json() for c in merged_calls] == [
            {**c.as_json(), "keeps": False, "guid": None, "dacl": None} for c in entry.calls
        ]
        # Go on from what the unchanged path wrote, with its cache entry, as the CLI does.
        state = parse_state(json.loads(data), "snapshot")
        entry = statecache.Entry(statecache.sha256(data), rest, entry.calls, entry.carried)
        raw = data
    print(
        f"\n{ROUNDS} rounds, seed {SEED}: {accepted} unchanged, {declined} with changes "
        f"({kept} to unobserved attributes only)"
    )
    assert accepted == len(range(0, ROUNDS, 3)) and kept > 0


def test_another_policy_or_a_changed_root_is_not_unchanged(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    lab = Lab(dc, random.Random(SEED)).build()
    state, calls = marked_read(dc, lab.policy())
    raw, entry = cached(state, calls)
    wider = policy(
        password={"enabled": True, "scope": [lab.staff, lab.outside]},
        exchange_hybrid={"enabled": True, "scope": [lab.corp]},
        group={"enabled": True, "version": "v1", "container": lab.cloud},
        device={"enabled": True},
    )
    reason = unchanged(dc, wider, raw, entry)
    assert isinstance(reason, str) and "bulk read" in reason, reason
    # A call whose previous read the merge would not keep (the marks had no settled DACL).
    unkept = statecache.Entry(
        entry.snapshot,
        entry.rest,
        tuple(BulkCall(c.kind, c.root, c.classes, c.present) for c in entry.calls),
        entry.carried,
    )
    reason = unchanged(dc, lab.policy(), raw, unkept)
    assert isinstance(reason, str) and "would not be kept" in reason, reason
    lab.add_ace()
    reason = unchanged(dc, lab.policy(), raw, entry)
    assert isinstance(reason, str) and "changed since the mark" in reason, reason


# ---------------------------------------------------------------------------- command line


HEADER = ("timestamp", "observed_at", "state_source")
REUSED = "Reused the findings of the last check of this snapshot"
UNCHANGED = "nothing observed changed, so only the snapshot's marks were updated"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ( \([^)]*\))?")


def findings(stdout: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(stdout)
    for key in HEADER:
        doc.pop(key)
    return doc


def test_check_reuses_the_report_only_when_nothing_changed(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    lab, live, snapshot = cli_lab(dc, tmp_path)
    cache = statecache.cache_dir(snapshot)
    check = ["check", *live, "--incremental", "--state", str(snapshot), "--format", "json"]

    first = wbplan(["refresh", *live, "--incremental", "--state", str(snapshot)], tmp_path, dc)
    assert first.returncode == 0, first.stderr
    assert (cache / statecache.ENTRY).is_file()
    # The snapshot is unchanged since refresh (whose cache keeps no report): evaluated.
    evaluated = wbplan(check, tmp_path, dc)
    assert evaluated.returncode in (0, 2), evaluated.stderr
    assert UNCHANGED in evaluated.stderr and REUSED not in evaluated.stderr
    assert len(list(cache.glob("report-*.json"))) == 1
    before = snapshot.read_bytes()

    reused = wbplan(check, tmp_path, dc, PYTHONPROFILEIMPORTTIME="1")
    assert reused.returncode == evaluated.returncode, reused.stderr
    assert REUSED in reused.stderr, reused.stderr
    # What makes it fast: no rule is evaluated (not even imported), no report rendered.
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in reused.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "planner.observe.unchanged" in imported
    assert not imported & {"planner.checking", "planner.rules", "planner.render.report_json"}
    assert findings(reused.stdout) == findings(evaluated.stdout)
    after = parse_state(json.loads(snapshot.read_bytes()), str(snapshot))
    assert after.observed_at != OBSERVED_AT and how(after).changes == 0
    assert json.loads(reused.stdout)["observed_at"] == after.observed_at
    # What the usual path writes and reports from the same snapshot.
    usual_state = tmp_path / "usual.json"
    usual_state.write_bytes(snapshot.read_bytes())
    usual = wbplan(
        [*check[:-4], "--state", str(usual_state), "--format", "json", "--no-cache"], tmp_path, dc
    )
    assert REUSED not in usual.stderr and not statecache.cache_dir(usual_state).exists()
    assert findings(usual.stdout) == findings(reused.stdout)
    a = parse_state(json.loads(usual_state.read_bytes()), "usual")
    b = parse_state(json.loads(snapshot.read_bytes()), "reused")
    assert a.model_dump(exclude={"observed_at": True, "ad": {"marks": {"marked_at"}}}) == (
        b.model_dump(exclude={"observed_at": True, "ad": {"marks": {"marked_at"}}})
    )
    assert snapshot.read_bytes() != before  # the marks moved on

    # Another format renders the kept report anew: as a fresh evaluation renders it.
    text = wbplan([*check[:-2], "--format", "markdown"], tmp_path, dc)
    assert REUSED in text.stderr
    usual_state.write_bytes(snapshot.read_bytes())
    fresh = wbplan(
        [*check[:-4], "--state", str(usual_state), "--format", "markdown", "--no-cache"],
        tmp_path,
        dc,
    )
    assert REUSED not in fresh.stderr
    same_file = fresh.stdout.replace(str(usual_state), str(snapshot))
    assert TIME.sub("T", text.stdout) == TIME.sub("T", same_file)

    # A change to what wbplan does not read: merged, and the observations are the same, so the
    # report is kept.
    user = lab.users()[0]
    lab.conn.modify(user, {"description": [(ldap3.MODIFY_REPLACE, ["touched"])]})
    touched = wbplan(check, tmp_path, dc)
    assert "AD read incrementally: 1 change(s)" in touched.stderr, touched.stderr
    assert UNCHANGED not in touched.stderr and REUSED in touched.stderr
    assert findings(touched.stdout) == findings(evaluated.stdout)

    # Another day (waivers expire against it): evaluated again.
    tomorrow = wbplan(check, tmp_path, dc, today=TODAY + dt.timedelta(days=1))
    assert UNCHANGED in tomorrow.stderr and REUSED not in tomorrow.stderr
    # A damaged kept report is ignored, never an error.
    for kept in cache.glob("report-*.json"):
        kept.write_text("{}")
    damaged = wbplan(check, tmp_path, dc, today=TODAY + dt.timedelta(days=1))
    assert damaged.returncode == evaluated.returncode and REUSED not in damaged.stderr
    # A snapshot edited by hand is not the one the cache is for: read the usual way.
    snapshot.write_text(json.dumps(json.loads(snapshot.read_text())))
    edited = wbplan(check, tmp_path, dc)
    assert UNCHANGED not in edited.stderr and "AD read incrementally: 0 change" in edited.stderr

    # A change: read and evaluated, and the report is the one a full read gives.
    lab.churn(4)
    changed = wbplan(check, tmp_path, dc)
    assert REUSED not in changed.stderr and UNCHANGED not in changed.stderr
    full = wbplan(["check", *live, "--format", "json"], tmp_path, dc)
    assert findings(changed.stdout) == findings(full.stdout)
