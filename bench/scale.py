"""Scale benchmark: wbplan's live read against the ldapsearch floor on a large Samba AD DC.

    python -m bench.scale --size ci|large [--keep-workdir] [--rebuild]

(run from the repository root, as root, with Samba and ldap-utils installed; see
bench/README.md). The first run of a size builds its DC into ``bench/.cache/<params-hash>/``
(:mod:`bench.dc`, :mod:`bench.population`); later runs copy that directory and start the copy.

One run measures, on one started DC (issue 17 §5: everything in the same run):

1. the floor: paged ``ldapsearch`` of the same objects and attributes wbplan's bulk reads ask
   for (OUs with DACL-only nTSecurityDescriptor, users with adminCount, the groups under the
   group writeback OU, the msDS-Device objects), before and after wbplan (the faster is kept);
2. ``wbplan refresh`` and ``wbplan check`` live, in full, as subprocesses of the real CLI;
3. ``wbplan check --incremental --state SNAPSHOT`` (what a user runs hourly) on a copy of the
   snapshot refresh wrote: with no change (best of three), then after 100 and after 1,000
   random changes the benchmark makes over LDAP (``bench.incremental.make_changes``); after
   each, the snapshot the CLI wrote back must observe exactly what a full read observes at that
   moment (``bench.incremental``'s comparison; a difference makes the run exit 1);
4. offline: ``wbplan plan`` on the snapshot refresh wrote and on the example, against
   ``python -c pass`` and ``wbplan --version`` (best of seven), interpreter start-up and
   imports included.

Every child runs with compiled bytecode, as an installed wheel does
(:func:`bench.measure.use_bytecode_cache`).

Printed as a table and written as JSON to ``bench/results/<size>-<timestamp>.json``: wall time,
ratio to the floor, peak RSS of each child, LDAP requests, and the counts read (checked against
what the generator put in). No assertion on times: a benchmark informs, a test decides.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import dc as benchdc
from bench.measure import (
    Measured,
    measure_check,
    measure_check_incremental,
    measure_evaluation,
    measure_floor,
    measure_plan,
    measure_refresh,
    policy_yaml,
    scan_counts,
    use_bytecode_cache,
)
from bench.population import SIZES, expected
from planner.model.policy import Policy
from planner.observe.incremental import observe_ad_marked
from planner.observe.ldapconn import LdapOptions, connect
from planner.observe.snapshot import load_state
from planner.policy.loader import load_file
from tests.support.samba import ADMIN_PASSWORD, ADMIN_USER, CONNECTOR_SAM

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"


def say(text: str) -> None:
    print(text, flush=True)


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_1m_at_start": round(load[0], 2),
    }


def ensure_cache(size: str, rebuild: bool) -> tuple[Path, dict[str, Any], float | None]:
    """The cached DC directory for ``size`` (built if missing) with its metadata and the build
    time when it was built by this run."""
    params = SIZES[size]
    key = benchdc.cache_key(params)
    cached = benchdc.CACHE / key
    if rebuild:
        shutil.rmtree(cached, ignore_errors=True)
    if (cached / "meta.json").exists():
        return cached, json.loads((cached / "meta.json").read_text()), None
    say(f"building the {size} DC ({params.ous:,} OUs, {params.users:,} users) into {cached}")
    start = time.perf_counter()
    meta = benchdc.build(params, key, say=say)
    return cached, meta, time.perf_counter() - start


def table(rows: list[Measured], floor_s: float, python_s: float) -> str:
    """One table: live rows against the floor, offline rows against ``python -c pass``."""
    width = max(40, *(len(r.name) for r in rows))
    lines = [
        f"{'measure':<{width}} {'wall s':>8} {'x floor':>8} {'x python':>9} {'peak RSS MB':>12}"
        f" {'LDAP requests':>14}",
        "-" * (width + 56),
    ]
    for row in rows:
        live = row.extra.get("live", False)
        ratio = f"{row.wall_s / floor_s:8.3f}" if live else ""
        vs_python = "" if live else f"{row.wall_s / python_s:9.1f}"
        rss = f"{row.max_rss_mb:12.1f}" if row.max_rss_mb else ""
        requests = row.extra.get("ldap_requests", row.extra.get("pages", ""))
        lines.append(
            f"{row.name:<{width}} {row.wall_s:8.3f} {ratio:>8} {vs_python:>9} {rss:>12} {requests!s:>14}"
        )
    return "\n".join(lines)


def best_wall(args: list[str], runs: int) -> float:
    """Best wall time of ``args`` over ``runs`` runs (output discarded), in this process's
    environment (bytecode cached: :func:`bench.measure.use_bytecode_cache`). ``bench/startup.py``
    measures start-up in more detail; this is the same measure, kept here so that the two
    scripts can change independently."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def bench_policy(path: Path) -> Policy:
    """The policy the CLI is given, loaded as the CLI loads it (for the in-process full reads
    the written snapshots are compared with)."""
    loaded, problems = load_file(path, dt.date.today())
    if loaded is None:
        raise SystemExit(f"the benchmark policy does not load: {problems}")
    return loaded.policy


def incremental_checks(
    dc: benchdc.RunningDC, work: Path, policy: Path, snapshot: Path, batches: list[int], seed: int
) -> tuple[list[Measured], list[str]]:
    """``wbplan check --incremental`` on a copy of ``snapshot``: with no change (best of
    three), then after each batch of changes; each written snapshot compared with a full read.
    Returns the rows and the mismatches."""
    from bench import incremental as inc  # it imports this module: not at the top

    state = work / "incremental.json"
    shutil.copyfile(snapshot, state)
    rows: list[Measured] = []
    mismatches: list[str] = []

    def compare(label: str) -> None:
        # In a child process: a full read in this one would grow it by the whole directory,
        # and every child forked afterwards would report that as its own peak RSS.
        proc = subprocess.run(
            [sys.executable, "-m", "bench.scale", "--compare", str(state), str(policy), dc.url,
             str(dc.ca_file), dc.tls_server_name],
            cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            mismatches.append(f"{label}: {(proc.stdout + proc.stderr).strip()[-2000:]}")

    # With no change: first the usual merge (--no-cache: load, merge, evaluate, write the
    # whole snapshot), then with the cache beside the snapshot — the first such run has no
    # cache yet (the copy came without one) and writes it; the next ones take the unchanged
    # path and reuse the report (what an hourly job on an idle directory does).
    merge = [
        measure_check_incremental(
            "wbplan check --incremental --no-cache, 0 changes", dc, work, policy, state,
            "--no-cache",
        )
        for _ in range(3)
    ]  # fmt: skip
    rows.append(_best(merge))
    first = measure_check_incremental(
        "wbplan check --incremental, 0 changes, first run (writes the cache)",
        dc, work, policy, state,
    )  # fmt: skip
    rows.append(first)
    kept = [
        measure_check_incremental("wbplan check --incremental, 0 changes", dc, work, policy, state)
        for _ in range(3)
    ]
    rows.append(_best(kept))
    compare("0 changes")
    conn = inc.admin(dc)
    sid = inc.object_sid(conn, f"CN={CONNECTOR_SAM},CN=Users,DC=contoso,DC=test")
    rng = random.Random(seed)
    try:
        # Changes to what wbplan does not read: merged in full, the observations found the same,
        # so the report is reused (the common hourly case in a directory in use).
        made = inc.touch_users(conn, rng, 100)
        name = "wbplan check --incremental, 100 changes wbplan does not read"
        row = measure_check_incremental(name, dc, work, policy, state)
        row.extra["made"] = made
        rows.append(row)
        compare("100 unobserved changes")
        for count in batches:
            made = inc.make_changes(conn, rng, count, sid)
            name = f"wbplan check --incremental, {count:,} changes"
            row = measure_check_incremental(name, dc, work, policy, state)
            row.extra["made"] = made
            rows.append(row)
            compare(f"{count} changes")
    finally:
        conn.unbind()
    for row in rows:
        row.extra["live"] = True
    return rows, mismatches


def _best(runs: list[Measured]) -> Measured:
    """The fastest of ``runs``, with every run's time."""
    best = min(runs, key=lambda r: r.wall_s)
    best.extra["runs_s"] = [round(r.wall_s, 3) for r in runs]
    best.extra["paths"] = [
        ("unchanged" if r.extra.get("unchanged_path") else "merge")
        + (", report reused" if r.extra.get("report_reused") else "")
        for r in runs
    ]
    return best


def compare_with_full_read(argv: list[str]) -> int:
    """``--compare SNAPSHOT POLICY URL CA TLS-NAME``: exit 0 when a full read now observes
    exactly what SNAPSHOT holds (marks and bookkeeping aside), 1 with the first difference."""
    from bench import incremental as inc  # it imports this module: not at the top

    snapshot, policy, url, ca, name = argv
    pol = bench_policy(Path(policy))
    options = LdapOptions(
        url=url, ca_file=Path(ca), tls_server_name=name, user=ADMIN_USER,
        password=ADMIN_PASSWORD, timeout=120.0,
    )  # fmt: skip
    with connect(options) as session:
        full, _ = observe_ad_marked(session, pol)
    written = load_state(Path(snapshot)).ad
    a, b = inc.observations(written), inc.observations(full)
    if a == b:
        return 0
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    print(f"the snapshot and a full read differ in: {', '.join(diff)}")
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--compare"]:
        return compare_with_full_read(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="ci")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached DC")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the run's snapshot, logs and report"
    )
    parser.add_argument(
        "--changes", default="100,1000", help="comma-separated batch sizes of changes made"
    )
    parser.add_argument("--seed", type=int, default=17, help="seed of the changes made")
    args = parser.parse_args(argv)
    batches = [int(x) for x in args.changes.split(",") if x.strip()]
    os.chdir(REPO)

    run_start = time.perf_counter()
    use_bytecode_cache(benchdc.CACHE / "pycache")
    cached, meta, built_s = ensure_cache(args.size, args.rebuild)
    want = expected(SIZES[args.size])
    stamp = time.strftime("%Y%m%dT%H%M%S")
    work = benchdc.CACHE / f"work-{args.size}-{stamp}"
    work.mkdir(parents=True)
    policy = work / "bench-policy.yaml"
    policy.write_text(policy_yaml(f"bench-{args.size}"))
    snapshot = work / "snapshot.json"

    rows: list[Measured] = []
    start = time.perf_counter()
    with benchdc.running_copy(cached) as dc:
        started_s = time.perf_counter() - start
        say(f"DC copy started on {dc.ip} in {started_s:.1f} s; measuring")
        # Untimed warm-up: the first read of a freshly copied DC pays for cold page caches,
        # which would flatter whichever measure came first.
        measure_floor(dc, work)
        floors = [measure_floor(dc, work)]
        live = [measure_refresh(dc, work, policy, snapshot), measure_check(dc, work, policy)]
        for row in live:
            row.extra["live"] = True
        say("full reads done; incremental checks")
        incremental, mismatches = incremental_checks(dc, work, policy, snapshot, batches, args.seed)
        floors.append(measure_floor(dc, work))
    # The faster floor of the two (before and after wbplan): the ratio errs against wbplan.
    floor = min(floors, key=lambda m: m.wall_s)
    floor.extra["floor_runs_s"] = [round(f.wall_s, 3) for f in floors]
    floor.extra["live"] = True
    rows += [floor, *live, *incremental]
    say("offline plan and start-up")
    python_s = best_wall([sys.executable, "-c", "pass"], 7)
    version_s = best_wall([sys.executable, "-m", "planner", "--version"], 7)
    rows.append(Measured("python -c pass", python_s, 0.0, 0))
    rows.append(Measured("wbplan --version", version_s, 0.0, 0))
    plan_args = ["--policy", str(policy), "--state", str(snapshot)]
    rows.append(measure_plan("wbplan plan (offline)", work, plan_args))
    rows.append(measure_plan("wbplan plan (example)", work, []))

    counts = scan_counts(snapshot)
    evaluation = measure_evaluation(snapshot)
    generated = {
        "ous": want.ous,
        "protected_ous": want.protected_ous,
        "admin_count_users": want.admin_count_users,
        "users": want.users,
        "groups": want.groups,
        "devices": want.devices,
    }
    mismatch = {k: (counts.get(k), v) for k, v in generated.items() if counts.get(k) != v}
    result = {
        "size": args.size,
        "params": meta["params"],
        "cache": str(cached.relative_to(REPO)),
        "build": {"built_this_run_s": built_s, **meta.get("build_timings", {})},
        "dc_copy_start_s": round(started_s, 2),
        "machine": machine(),
        "floor_s": round(floor.wall_s, 3),
        "python_start_s": round(python_s, 4),
        "measures": [
            {
                **r.as_dict(),
                "ratio_to_floor": round(r.wall_s / floor.wall_s, 3),
                "ratio_to_python": round(r.wall_s / python_s, 1),
            }
            for r in rows
        ],
        "incremental_equal_to_full_read": not mismatches,
        "incremental_mismatches": mismatches,
        "counts_read": counts,
        "evaluation": evaluation,
        "counts_generated": generated,
        "counts_match": not mismatch,
        "total_run_s": round(time.perf_counter() - run_start, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.size}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")

    say("")
    say(table(rows, floor.wall_s, python_s))
    say("")
    for idle in (r for r in incremental if ", 0 changes" in r.name):
        say(
            f"{idle.name.removeprefix('wbplan ')}: {floor.wall_s / idle.wall_s:.1f}x faster than "
            f"the full floor ({idle.wall_s:.2f} s vs {floor.wall_s:.2f} s, same run)"
        )
    for row in incremental:
        how = row.extra.get("ad_read", "?")
        detail = (
            f"{row.extra.get('changes_read')} change(s) read, "
            f"{row.extra.get('subtrees_read_again', 0)} subtree(s) read again"
            if how == "incremental"
            else f"FULL READ: {row.extra.get('full_read_reason')}"
        )
        path = ("unchanged path" if row.extra.get("unchanged_path") else "merged") + (
            ", report reused" if row.extra.get("report_reused") else ", evaluated"
        )
        say(f"  {row.name}: AD read {how}; {detail}; {path}")
    say(
        "snapshots written by check --incremental equal to a full read: "
        + ("yes" if not mismatches else f"NO {mismatches}")
    )
    say("")
    say("counts read: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    say(
        f"per-object verdicts: {evaluation['objects_evaluated']:,} objects from "
        f"{evaluation['distinct_dacls']:,} distinct DACLs in {evaluation['evaluate_s']} s (in-process)"
    )
    if mismatch:
        say(f"COUNT MISMATCH (read, generated): {mismatch}")
    say(f"floor searches: {json.dumps(floor.extra['searches'])}")
    say(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} (shared with other work)")
    say(f"wrote {out.relative_to(REPO)}; total {result['total_run_s']} s")
    if not args.keep_workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if mismatch or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
