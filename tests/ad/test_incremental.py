"""Incremental refresh against a Samba DC (issue 17 §1–2).

The proof is by comparison: over seeded rounds of random changes (``tests/ad/churn.py``), an
incremental read chained from the previous round's snapshot must observe exactly what a full
read observes at the same moment — every field of the AD observation (the replication marks
and the read's own bookkeeping excepted) and the whole ``check`` report. CI runs
``WBPLAN_INCREMENTAL_ROUNDS`` (default 20) rounds with seed ``WBPLAN_INCREMENTAL_SEED`` (17); a
larger run::

    WBPLAN_INCREMENTAL_ROUNDS=100 WBPLAN_INCREMENTAL_SEED=5 python -m pytest tests/ad/test_incremental.py -k random

Each reason to read everything instead is provoked for real where Samba allows it: a DC
restored from a copy of its database (USN below the mark), a schema extension, a bind that may
not see deleted objects, a snapshot read by another account (two domain admins) or by the same
account before a change of its groups, marks older than the limit and than the tombstone
lifetime, a snapshot without marks; another DC, another invocationId and a snapshot without the
bind's token are the snapshot's marks edited (copies of one template share the first two).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planner import __version__
from planner.checking import make_report
from planner.model.policy import Policy
from planner.model.state import AdRead, ObservedState, Source, TenantState
from planner.observe.incremental import observe_ad_marked
from planner.observe.ldapconn import connect
from planner.observe.snapshot import dump_state, parse_state
from tests.ad.adops import add_member, add_ou, object_sid, policy
from tests.ad.churn import Lab
from tests.ad.conftest import options_for
from tests.support.samba import SambaDC, SambaFactory
from tests.support.samba_tools import extend_exchange_like_schema

pytestmark = pytest.mark.samba

SEED = int(os.environ.get("WBPLAN_INCREMENTAL_SEED", "17"))
ROUNDS = int(os.environ.get("WBPLAN_INCREMENTAL_ROUNDS", "20"))
OBSERVED_AT = "2026-11-22T00:00:00Z"
TODAY = dt.date(2026, 11, 22)


def read(
    dc: SambaDC,
    pol: Policy,
    previous: ObservedState | None = None,
    *,
    max_age: tuple[str, dt.timedelta] | None = None,
    now: dt.datetime | None = None,
    user: str | None = None,
    password: str | None = None,
) -> tuple[ObservedState, int]:
    """A full read (no ``previous``) or an incremental one, as a snapshot would hold it (through
    its JSON round trip), and the number of entries the DC sent."""
    with connect(options_for(dc, user, password)) as session:
        ad, how = observe_ad_marked(
            session,
            pol,
            previous=previous,
            incremental=previous is not None,
            max_age=max_age,
            now=now,
        )
        entries = session.entries
    state = ObservedState(
        wbplan_version=__version__, observed_at=OBSERVED_AT, source=Source(ad_read=how), ad=ad
    )
    return parse_state(json.loads(dump_state(state)), "snapshot"), entries


def how(state: ObservedState) -> AdRead:
    assert state.source.ad_read is not None
    return state.source.ad_read


def observations(state: ObservedState) -> dict[str, Any]:
    """Everything observed: the state without the marks and the read's bookkeeping."""
    data = state.model_dump(mode="json")
    data.pop("source")
    data["ad"].pop("marks")
    return data


def report_of(pol: Policy, state: ObservedState) -> dict[str, Any]:
    report = make_report(
        pol,
        state,
        policy_file="policy.yaml",
        policy_digest="sha256:test",
        state_source="live",
        timestamp=OBSERVED_AT,
        today=TODAY,
    )
    return report.model_dump(mode="json")


def difference(full: dict[str, Any], merged: dict[str, Any]) -> str:
    lines = difflib.unified_diff(
        json.dumps(full, indent=1, sort_keys=True).splitlines(),
        json.dumps(merged, indent=1, sort_keys=True).splitlines(),
        "full read",
        "incremental read",
        lineterm="",
        n=2,
    )
    return "\n".join(list(lines)[:80])


def assert_same(pol: Policy, merged: ObservedState, full: ObservedState, log: list[str]) -> None:
    a, b = observations(merged), observations(full)
    assert a == b, "\n".join([*log[-12:], difference(b, a)])
    ra, rb = report_of(pol, merged), report_of(pol, full)
    assert ra == rb, "\n".join([*log[-12:], difference(rb, ra)])


# ---------------------------------------------------------------------------- the proof


def test_random_changes_merge_exactly_like_a_full_read(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    rng = random.Random(SEED)
    lab = Lab(dc, rng).build()
    pol = lab.policy()
    state, _ = read(dc, pol)
    assert how(state).mode == "full" and state.ad is not None and state.ad.marks is not None
    totals: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        lab.log.append(f"--- round {round_}")
        lab.churn(rng.randint(1, 8))
        merged, merged_entries = read(dc, pol, state)
        assert how(merged).mode == "incremental", how(merged)
        full, full_entries = read(dc, pol)
        assert_same(pol, merged, full, lab.log)
        assert merged_entries < full_entries
        totals["changes"] += how(merged).changes or 0
        totals["subtrees read again"] += len(how(merged).reread)
        state = merged  # the next round merges into this one: errors would accumulate
    kinds = Counter(line.split(" ", 1)[0] for line in lab.log if not line.startswith("---"))
    print(f"\n{ROUNDS} rounds, seed {SEED}: {dict(totals)}; changes made: {dict(kinds)}")
    # The seed exercises every kind of change at least once.
    for kind in ("ace+", "ace-", "protect", "move", "delete", "rename", "adminCount", "member"):
        assert kinds[kind], (kind, kinds)
    for kind in ("create", "parent", "add", "rename"):
        assert kinds[kind], (kind, kinds)


def test_nothing_changed_costs_the_same_at_any_size(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    lab = Lab(dc, random.Random(SEED)).build()
    pol = lab.policy()
    state, full_entries = read(dc, pol)
    merged, idle_entries = read(dc, pol, state)
    assert how(merged).mode == "incremental"
    assert how(merged).reread == ()
    assert observations(merged) == observations(state)
    assert idle_entries < full_entries
    for _ in range(40):
        lab._user(lab.staff)
    grown, _ = read(dc, pol, merged)
    assert (how(grown).changes or 0) >= 40
    again, idle_again = read(dc, pol, grown)
    # The named objects (roots, schema, device tree, connector …) are read again; no scan is,
    # so an idle refresh reads as much with 40 more users in scope as without them.
    assert idle_again <= idle_entries + 2, (idle_again, idle_entries)
    full, full_again = read(dc, pol)
    assert full_again >= full_entries + 40
    assert observations(again) == observations(full)


def test_a_new_scope_root_is_read_in_full_and_the_rest_merged(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    lab = Lab(dc, random.Random(SEED)).build()
    state, _ = read(dc, lab.policy())
    wider = policy(
        password={"enabled": True, "scope": [lab.staff, lab.outside]},
        exchange_hybrid={"enabled": True, "scope": [lab.corp]},
        group={"enabled": True, "version": "v1", "container": lab.cloud},
        device={"enabled": True},
    )
    lab.churn(3)
    merged, _ = read(dc, wider, state)
    assert how(merged).mode == "incremental"
    assert lab.outside in how(merged).reread
    assert lab.staff not in how(merged).reread
    full, _ = read(dc, wider)
    assert_same(wider, merged, full, lab.log)


def test_objects_below_an_organization_follow_its_rename(fresh_samba_2012r2: SambaDC) -> None:
    """Users may live below an ``organization`` (neither OU nor container, so not a scanned
    container): the full read records its objectGUID, and its rename moves them."""
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    org = f"O=Acme,{dc.base_dn}"
    conn.add(org, ["top", "organization"], {"o": "Acme"})
    dc.create_user("acme1", parent=org)
    dc.create_user("acme2", parent=add_ou(conn, f"OU=Inner,{org}"))
    pol = policy(password={"enabled": True})  # no scope: the whole domain
    state, _ = read(dc, pol)
    assert state.ad is not None and state.ad.marks is not None
    # (the group policy containers are anchors too: their CN=Machine and CN=User are containers)
    anchors = [a.dn for r in state.ad.marks.roots for a in r.anchors]
    assert org in anchors
    assert all(a == org or "CN=Policies" in a for a in anchors), anchors
    conn.modify_dn(org, "O=Acme2")
    merged, _ = read(dc, pol, state)
    assert how(merged).mode == "incremental"
    assert any(r.endswith(f"O=Acme2,{dc.base_dn}") for r in how(merged).reread), how(merged)
    full, _ = read(dc, pol)
    assert_same(pol, merged, full, ["rename O=Acme"])
    assert merged.ad is not None and merged.ad.marks is not None
    anchors = [a.dn for r in merged.ad.marks.roots for a in r.anchors]
    assert f"O=Acme2,{dc.base_dn}" in anchors
    assert org not in anchors


# ---------------------------------------------------------------------------- full-read reasons


def small_policy(dc: SambaDC) -> Policy:
    staff = f"OU=Staff,{dc.base_dn}"
    return policy(password={"enabled": True, "scope": [staff]})


@pytest.fixture
def small(fresh_samba_2012r2: SambaDC) -> Iterator[tuple[SambaDC, Policy, ObservedState]]:
    dc = fresh_samba_2012r2
    dc.create_connector()
    add_ou(dc.admin_connection(), f"OU=Staff,{dc.base_dn}")
    dc.create_user("alice", parent=f"OU=Staff,{dc.base_dn}")
    pol = small_policy(dc)
    state, _ = read(dc, pol)
    yield dc, pol, state


def with_marks(state: ObservedState, **changes: Any) -> ObservedState:
    assert state.ad is not None and state.ad.marks is not None
    marks = state.ad.marks.model_copy(update=changes)
    return state.model_copy(update={"ad": state.ad.model_copy(update={"marks": marks})})


def assert_full(state: ObservedState, *words: str) -> None:
    reason = how(state).full_read_reason
    assert how(state).mode == "full" and reason is not None
    for word in words:
        assert word in reason, reason
    assert state.ad is not None and state.ad.marks is not None  # a fresh mark to start from


def test_another_dc(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    other = "CN=NTDS Settings,CN=DC2,CN=Servers,CN=Default-First-Site-Name,CN=Sites," + dc.config_dn
    merged, _ = read(dc, pol, with_marks(state, dc=other))
    assert_full(merged, "another domain controller", "DC2")


def test_another_invocation_id(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    merged, _ = read(
        dc, pol, with_marks(state, invocation_id="00000000-0000-0000-0000-000000000001")
    )
    assert_full(merged, "invocationId changed", "restored or replaced")


def test_no_marks(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    assert state.ad is not None
    bare = state.model_copy(update={"ad": state.ad.model_copy(update={"marks": None})})
    merged, _ = read(dc, pol, bare)
    assert_full(merged, "no replication marks")


def test_max_incremental_age(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    merged, _ = read(dc, pol, state, max_age=("2h", dt.timedelta(hours=2)), now=later)
    assert_full(merged, "older than --max-incremental-age 2h")
    merged, _ = read(dc, pol, state, max_age=("4h", dt.timedelta(hours=4)), now=later)
    assert how(merged).mode == "incremental"


def test_tombstone_lifetime(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=200)
    merged, _ = read(dc, pol, state, max_age=("365d", dt.timedelta(days=365)), now=later)
    assert_full(merged, "tombstone lifetime (180 days)")


def test_bind_that_cannot_see_deleted_objects(
    small: tuple[SambaDC, Policy, ObservedState],
) -> None:
    dc, pol, _state = small
    password = "Pl4in!Reader#2026"
    user = dc.create_user("reader", password)
    state, _ = read(dc, pol, user=user, password=password)
    assert how(state).mode == "full"
    merged, _ = read(dc, pol, state, user=user, password=password)
    assert_full(merged, "may not see deleted objects", "Show Deleted")
    # The administrator may see them, but not from the reader's snapshot: it holds only what
    # the reader could read.
    merged, _ = read(dc, pol, state)
    assert_full(merged, "read by a bind with another token")
    merged, _ = read(dc, pol, merged)
    assert how(merged).mode == "incremental"


def test_another_bind_account(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    """Two accounts that may both see deleted objects: a snapshot one of them read is not
    merged with what the other sees, and a change of the account's groups is a change of
    identity too."""
    dc, pol, state = small
    conn = dc.admin_connection()
    password = "Sec0nd!Admin#2026"
    second = dc.create_user("admin2", password)
    add_member(conn, f"CN=Domain Admins,CN=Users,{dc.base_dn}", second)
    admin_sid = object_sid(conn, f"CN=Administrator,CN=Users,{dc.base_dn}")
    second_sid = object_sid(conn, second)
    assert state.ad is not None and state.ad.marks is not None
    recorded = state.ad.marks.bind_token
    # Samba's rootDSE tokenGroups holds the account's own SID besides its groups'.
    assert recorded is not None and admin_sid.upper() in recorded
    assert second_sid.upper() not in recorded

    merged, _ = read(dc, pol, state, user=second, password=password)
    assert_full(merged, "read by a bind with another token", admin_sid.upper(), second_sid.upper())
    assert merged.ad is not None and merged.ad.marks is not None
    assert merged.ad.marks.bind_token is not None
    assert second_sid.upper() in merged.ad.marks.bind_token
    # The second account's own snapshot merges for it …
    again, _ = read(dc, pol, merged, user=second, password=password)
    assert how(again).mode == "incremental", how(again)
    # … until its groups change.
    add_member(conn, f"CN=Group Policy Creator Owners,CN=Users,{dc.base_dn}", second)
    gpo_sid = object_sid(conn, f"CN=Group Policy Creator Owners,CN=Users,{dc.base_dn}")
    regrouped, _ = read(dc, pol, again, user=second, password=password)
    assert_full(regrouped, "another token", "1 only in this bind's", gpo_sid.upper())
    # And the administrator's snapshot still merges for the administrator.
    merged, _ = read(dc, pol, state)
    assert how(merged).mode == "incremental", how(merged)


def test_a_snapshot_without_the_bind_token(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    merged, _ = read(dc, pol, with_marks(state, bind_token=None))
    assert_full(merged, "does not record which account read it")


def test_schema_change(small: tuple[SambaDC, Policy, ObservedState]) -> None:
    dc, pol, state = small
    assert state.ad is not None and state.ad.schema_info.exchange_range_upper is None
    extend_exchange_like_schema(dc.admin_connection(), dc.schema_dn)
    merged, _ = read(dc, pol, state)
    assert_full(merged, "the schema changed since the mark")
    assert merged.ad is not None and merged.ad.schema_info.exchange_range_upper is not None


def test_restored_dc(samba_factory: SambaFactory) -> None:
    """A DC restored from a copy of its database: its USN is below the snapshot's mark."""
    dc = samba_factory.start("2012_R2")
    running = [dc]
    try:
        dc.create_connector()
        add_ou(dc.admin_connection(), f"OU=Staff,{dc.base_dn}")
        pol = small_policy(dc)
        dc.stop()
        samba_factory._running.remove(dc)  # the harness has no restart: its own parts
        running.remove(dc)
        backup = samba_factory._copy(dc.directory, "backup")
        live = samba_factory._start(dc.directory, "2012_R2")
        running.append(live)
        for i in range(5):
            live.create_user(f"late{i}", parent=f"OU=Staff,{live.base_dn}")
        state, _ = read(live, pol)
        samba_factory.stop(live)
        running.remove(live)
        restored = samba_factory._start(backup, "2012_R2")
        running.append(restored)
        merged, _ = read(restored, pol, state)
        assert_full(merged, "below the snapshot's mark", "restored from a backup")
        assert merged.ad is not None
        assert not any("late" in o.dn for s in merged.ad.scopes for o in s.objects)
    finally:
        for each in running:
            samba_factory.stop(each)


# ---------------------------------------------------------------------------- command line


def wbplan(
    args: list[str], cwd: Path, dc: SambaDC, today: dt.date = TODAY, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """The real command line as the DC's administrator (password in the environment), on the
    date ``today`` (waivers expire against it), with ``extra_env`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WBPLAN_", "AZURE_"))}
    env.update(WBPLAN_LDAP_USER=dc.admin_user, WBPLAN_LDAP_PASSWORD=dc.admin_password)
    env["WBPLAN_TODAY"] = today.isoformat()
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_lab(dc: SambaDC, tmp_path: Path) -> tuple[Lab, list[str], Path]:
    """The test forest on ``dc``, its policy written under ``tmp_path``, the options of a live
    read of it, and where the snapshot goes."""
    lab = Lab(dc, random.Random(SEED)).build()
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        json.dumps(lab.policy().model_dump(mode="json", by_alias=True, exclude_none=True))
    )
    live = ["--policy", str(policy_file), "--ldap-url", dc.url, "--ca-file", str(dc.ca_file)]
    live += ["--tls-server-name", dc.tls_server_name]
    return lab, live, tmp_path / "state" / "lab.json"


def test_cli_refresh_check_and_plan_incremental(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    lab, live, snapshot = cli_lab(dc, tmp_path)

    first = wbplan(["refresh", *live, "--incremental", "--state", str(snapshot)], tmp_path, dc)
    assert first.returncode == 0, first.stderr
    assert "read AD in full, not incrementally: there is no earlier snapshot" in first.stderr
    second = wbplan(["refresh", *live, "--incremental", "--state", str(snapshot)], tmp_path, dc)
    assert second.returncode == 0, second.stderr
    assert "AD read incrementally: " in second.stdout

    lab.churn(6)
    check = ["check", *live, "--format", "json", "--quiet"]
    merged = wbplan([*check, "--incremental", "--state", str(snapshot)], tmp_path, dc)
    full = wbplan(check, tmp_path, dc)
    assert merged.returncode == full.returncode, merged.stderr + full.stderr
    a, b = json.loads(merged.stdout), json.loads(full.stdout)
    for doc in (a, b):
        for key in ("timestamp", "observed_at", "state_source"):
            doc.pop(key)
    assert a == b
    written = parse_state(json.loads(snapshot.read_text()), str(snapshot))
    assert how(written).mode == "incremental" and (how(written).changes or 0) > 0

    plan = wbplan(["plan", *live, "--incremental", "--state", str(snapshot)], tmp_path, dc)
    assert plan.returncode == 0, plan.stderr
    assert "AD read incrementally: " in plan.stderr

    # --state-tenant supplies the tenant of what is checked, not of the snapshot written back.
    tenant_file = tmp_path / "tenant.json"
    tenant_id = lab.policy().tenant.id
    tenant_state = ObservedState(
        wbplan_version=__version__, observed_at=OBSERVED_AT, tenant=TenantState(tenant_id=tenant_id)
    )
    tenant_file.write_text(dump_state(tenant_state))
    with_tenant = wbplan(
        [*check, "--incremental", "--state", str(snapshot), "--state-tenant", str(tenant_file)],
        tmp_path,
        dc,
    )
    assert with_tenant.returncode in (0, 2), with_tenant.stderr
    assert json.loads(with_tenant.stdout)["state_source"].endswith(f"+ tenant {tenant_file}")
    assert parse_state(json.loads(snapshot.read_text()), str(snapshot)).tenant is None

    refused = wbplan(["check", *live, "--incremental"], tmp_path, dc)
    assert refused.returncode == 1
    assert "--incremental brings a snapshot up to date from live AD" in refused.stderr
