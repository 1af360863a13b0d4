"""Incremental refresh against a full read, on the benchmark's Samba AD DC (issue 17 §1).

    python -m bench.incremental [--size tiny|ci|large] [--changes 100,1000]

(run from the repository root, as root, with Samba and ldap-utils installed; the DC is the one
``bench.scale`` builds and caches, see bench/README.md). One run, on one started copy of the DC:

1. the floor: paged ``ldapsearch`` of the bulk reads (``bench.measure.measure_floor``);
2. a full AD read with marks (``observe_ad_marked``, in-process: the read, not the interpreter
   start), best of two;
3. incremental reads from the previous snapshot: with no change, then after each batch of
   ``--changes`` random changes made by the benchmark over LDAP (explicit ACEs on users,
   adminCount set, users moved between OUs, renamed, deleted, and in each batch one inheritable
   ACE on an OU, whose subtree is then read again); after each batch a full read checks that
   the merged snapshot observes exactly the same (a mismatch makes the run exit 1).

Printed as a table — wall time, × the full read, × the floor, LDAP requests, entries received —
and written to ``bench/results/incremental-<size>-<timestamp>.json``. No assertion on times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import ssl
import sys
import time
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3

from bench import dc as benchdc
from bench.measure import measure_floor
from bench.population import GROUPS_DN, SCOPE_DN, SIZES
from bench.scale import REPO, RESULTS, ensure_cache, machine, say
from planner.model.policy import Policy
from planner.model.state import AdState, ObservedState
from planner.observe.incremental import observe_ad_marked
from planner.observe.ldapconn import LdapOptions, connect
from planner.observe.sd import merge_into_descriptor
from tests.ad.adops import CI_IO, PWD_LAST_SET, USER, allow, object_sid, policy, read_sd, write_sd
from tests.support.samba import ADMIN_PASSWORD, ADMIN_USER, CONNECTOR_SAM


def bench_policy() -> Policy:
    return policy(
        password={"enabled": True, "scope": [SCOPE_DN]},
        device={"enabled": True, "domain": "contoso.test"},
        group={
            "enabled": True,
            "version": "v1",
            "container": GROUPS_DN,
            "new_group_default": False,
        },
    )


def options(dc: benchdc.RunningDC) -> LdapOptions:
    return LdapOptions(
        url=dc.url,
        ca_file=dc.ca_file,
        tls_server_name=dc.tls_server_name,
        user=ADMIN_USER,
        password=ADMIN_PASSWORD,
        timeout=120.0,
    )


def read(
    dc: benchdc.RunningDC, pol: Policy, previous: ObservedState | None = None
) -> tuple[ObservedState, dict[str, Any]]:
    """One AD read (incremental from ``previous`` when given), timed in-process."""
    start = time.perf_counter()
    with connect(options(dc)) as session:
        ad, how = observe_ad_marked(
            session, pol, previous=previous, incremental=previous is not None
        )
        requests, entries = session.requests, session.entries
    wall = time.perf_counter() - start
    state = ObservedState(wbplan_version="bench", observed_at="2026-01-01T00:00:00Z", ad=ad)
    info = {
        "wall_s": round(wall, 3),
        "ldap_requests": requests,
        "entries": entries,
        "mode": how.mode,
        "changes": how.changes,
        "reread": len(how.reread),
        "full_read_reason": how.full_read_reason,
    }
    return state, info


def observations(ad: AdState | None) -> dict[str, Any]:
    assert ad is not None
    data = ad.model_dump(mode="json")
    data.pop("marks")
    return data


def admin(dc: benchdc.RunningDC) -> ldap3.Connection:
    server = ldap3.Server(
        dc.ip, port=636, use_ssl=True, tls=ldap3.Tls(validate=ssl.CERT_NONE), get_info=ldap3.NONE
    )
    conn = ldap3.Connection(
        server, user=ADMIN_USER, password=ADMIN_PASSWORD, raise_exceptions=True, check_names=False
    )
    conn.bind()
    return conn


def dns_under(conn: ldap3.Connection, search_filter: str) -> list[str]:
    found = conn.extend.standard.paged_search(
        SCOPE_DN, search_filter, ldap3.SUBTREE, attributes=["1.1"], paged_size=1000, generator=True
    )
    return [e["dn"] for e in found if e.get("type") == "searchResEntry"]


def make_changes(
    conn: ldap3.Connection, rng: random.Random, count: int, sid: str
) -> dict[str, int]:
    """``count`` random changes under the scope; one of them an inheritable ACE on an OU."""
    users = dns_under(conn, "(&(objectCategory=person)(objectClass=user))")
    ous = [o for o in dns_under(conn, "(objectClass=organizationalUnit)") if o != SCOPE_DN]
    rng.shuffle(users)
    made: dict[str, int] = {}
    ace = allow(sid, 0x20, PWD_LAST_SET, USER, CI_IO)
    ou = rng.choice(ous)
    write_sd(conn, ou, merge_into_descriptor(read_sd(conn, ou), [ace]))
    made["ou ace"] = 1
    for n in range(count - 1):
        user = users[n]
        kind = rng.choices(("ace", "adminCount", "move", "rename", "delete"), (4, 2, 2, 1, 1))[0]
        if kind == "ace":
            write_sd(
                conn,
                user,
                merge_into_descriptor(read_sd(conn, user), [allow(sid, 0x20, PWD_LAST_SET)]),
            )
        elif kind == "adminCount":
            conn.modify(user, {"adminCount": [(ldap3.MODIFY_REPLACE, ["1"])]})
        elif kind == "move":
            conn.modify_dn(user, user.split(",", 1)[0], new_superior=rng.choice(ous))
        elif kind == "rename":
            conn.modify_dn(user, f"CN=renamed{n}-{rng.randrange(10**6)}")
        else:
            conn.delete(user)
        made[kind] = made.get(kind, 0) + 1
    return made


def touch_users(conn: ldap3.Connection, rng: random.Random, count: int) -> dict[str, int]:
    """``count`` changes wbplan does not read: ``description`` on random users under the scope
    (as a logon-time update moves uSNChanged in a real directory and changes no verdict)."""
    users = dns_under(conn, "(&(objectCategory=person)(objectClass=user))")
    for n, user in enumerate(rng.sample(users, count)):
        conn.modify(user, {"description": [(ldap3.MODIFY_REPLACE, [f"touched {n}"])]})
    return {"description": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--changes", default="100,1000", help="comma-separated batch sizes")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    os.chdir(REPO)
    batches = [int(x) for x in args.changes.split(",") if x.strip()]
    cached, meta, _built = ensure_cache(args.size, rebuild=False)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    work = benchdc.CACHE / f"work-incremental-{args.size}-{stamp}"
    work.mkdir(parents=True)
    pol = bench_policy()
    rng = random.Random(args.seed)
    rows: list[dict[str, Any]] = []
    mismatches: list[str] = []
    with benchdc.running_copy(cached) as dc:
        measure_floor(dc, work)  # untimed warm-up
        floor = measure_floor(dc, work)
        fulls = [read(dc, pol) for _ in range(2)]
        state, full = min(fulls, key=lambda f: f[1]["wall_s"])
        rows.append({"name": "full read", **full})
        merged, info = read(dc, pol, state)
        rows.append({"name": "incremental, 0 changes", **info})
        conn = admin(dc)
        sid = object_sid(conn, f"CN={CONNECTOR_SAM},CN=Users,DC=contoso,DC=test")
        for count in batches:
            made = make_changes(conn, rng, count, sid)
            merged, info = read(dc, pol, merged)
            rows.append({"name": f"incremental, {count:,} changes", **info, "made": made})
            check, _ = read(dc, pol)
            if observations(merged.ad) != observations(check.ad):
                mismatches.append(f"after {count} changes")
        conn.unbind()
    floor_s = floor.wall_s
    for row in rows:
        row["x_full"] = round(row["wall_s"] / full["wall_s"], 3)
        row["x_floor"] = round(row["wall_s"] / floor_s, 3)
    result = {
        "size": args.size,
        "params": meta["params"],
        "machine": machine(),
        "floor_s": round(floor_s, 3),
        "rows": rows,
        "equal_to_full_read": not mismatches,
        "mismatches": mismatches,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"incremental-{args.size}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    say("")
    say(
        f"{'measure':<28} {'wall s':>8} {'x full':>8} {'x floor':>8} {'requests':>9} {'entries':>9}"
    )
    say("-" * 75)
    say(
        f"{'floor (ldapsearch)':<28} {floor_s:8.3f} {'':>8} {1.0:8.3f} {floor.extra['pages']:>9} {'':>9}"
    )
    for row in rows:
        say(
            f"{row['name']:<28} {row['wall_s']:8.3f} {row['x_full']:8.3f} {row['x_floor']:8.3f}"
            f" {row['ldap_requests']:>9} {row['entries']:>9}"
        )
    say("")
    say(
        "merged snapshots equal to a full read: "
        + ("yes" if not mismatches else f"NO {mismatches}")
    )
    say(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} (shared with other work)")
    say(f"wrote {out.relative_to(REPO)}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
