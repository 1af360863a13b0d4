"""Scale benchmark: wbplan's live read against the ldapsearch floor on a large Samba AD DC.

    python -m bench.scale --size ci|large [--keep-workdir] [--rebuild]

(run from the repository root, as root, with Samba and ldap-utils installed; see
bench/README.md). The first run of a size builds its DC into ``bench/.cache/<params-hash>/``
(:mod:`bench.dc`, :mod:`bench.population`); later runs copy that directory and start the copy.

One run measures, on one started DC:

1. the floor: paged ``ldapsearch`` of the same objects and attributes wbplan's bulk reads ask
   for (OUs with DACL-only nTSecurityDescriptor, users with adminCount, the groups under the
   group writeback OU, the msDS-Device objects);
2. ``wbplan refresh`` live (and ``wbplan check`` live once it exists), as subprocesses of the
   real CLI;
3. ``wbplan plan`` offline on the snapshot refresh wrote, and on the example snapshot.

Printed as a table and written as JSON to ``bench/results/<size>-<timestamp>.json``: wall time,
ratio to the floor, peak RSS of each child, LDAP requests, and the counts read (checked against
what the generator put in). No assertion on times: a benchmark informs, a test decides.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import dc as benchdc
from bench.measure import (
    Measured,
    check_available,
    measure_check,
    measure_evaluation,
    measure_floor,
    measure_plan,
    measure_refresh,
    policy_yaml,
    scan_counts,
)
from bench.population import SIZES, expected

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


def table(rows: list[Measured], floor_s: float) -> str:
    lines = [
        f"{'measure':<28} {'wall s':>8} {'x floor':>8} {'peak RSS MB':>12} {'LDAP requests':>14}",
        "-" * 74,
    ]
    for row in rows:
        ratio = (
            f"{row.wall_s / floor_s:8.2f}" if row.name.startswith(("wbplan r", "wbplan c")) else ""
        )
        requests = row.extra.get("ldap_requests", row.extra.get("pages", ""))
        lines.append(
            f"{row.name:<28} {row.wall_s:8.2f} {ratio:>8} {row.max_rss_mb:12.1f} {requests!s:>14}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="ci")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached DC")
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the run's snapshot, logs and report"
    )
    args = parser.parse_args(argv)
    os.chdir(REPO)

    run_start = time.perf_counter()
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
        live = [measure_refresh(dc, work, policy, snapshot)]
        if check_available():
            live.append(measure_check(dc, work, policy))
        else:
            say("wbplan check is not built yet (issue #7): measured refresh + plan only")
        floors.append(measure_floor(dc, work))
    # The faster floor of the two (before and after wbplan): the ratio errs against wbplan.
    floor = min(floors, key=lambda m: m.wall_s)
    floor.extra["floor_runs_s"] = [round(f.wall_s, 3) for f in floors]
    rows += [floor, *live]
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
        "measures": [
            {**r.as_dict(), "ratio_to_floor": round(r.wall_s / floor.wall_s, 2)} for r in rows
        ],
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
    say(table(rows, floor.wall_s))
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
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
