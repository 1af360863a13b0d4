"""Start-up cost of the offline path (issue 17 §4): ``wbplan plan --example`` and
``wbplan --version`` against a bare ``python -c pass`` measured in the same run, and the import
time of ``plan --example`` itemised by top-level package (``python -X importtime``).

Run from the repository root with the venv's Python::

    .venv/bin/python bench/startup.py [--runs 9]

Bytecode: a user's install has every module compiled (pip writes the ``.pyc`` files), but a
checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (this project's CI and sandboxes) compiles each of
wbplan's ~100 modules from source on every start. The rows "as installed" run with the bytecode
cached under ``bench/.cache/pycache`` (``PYTHONPYCACHEPREFIX``, git-ignored; one untimed warm-up
writes it); the last row is the uncached start, for comparison.

Every round runs each command once, in turn, so a burst of load from other processes on the
machine hits all rows alike; best and median are over the rounds. CPU is the child's user + system
time. Prints a table; asserts nothing (a benchmark informs, a test decides).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYCACHE = REPO / "bench" / ".cache" / "pycache"


def environment(cached: bool) -> dict[str, str]:
    """The children's environment: bytecode cached under ``PYCACHE``, or never written."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``args``, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def import_costs(args: list[str], runs: int) -> dict[str, float]:
    """Seconds of import time per module (self time, the least over ``runs`` runs: the noise of
    a shared machine only ever adds), from ``-X importtime`` with the bytecode cached."""
    best: dict[str, float] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *args],
            cwd=REPO,
            env=environment(cached=True),
            capture_output=True,
            text=True,
            check=False,
        )
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _cumulative, name = (p.strip() for p in line[len("import time:") :].split("|"))
            seconds = int(self_us) / 1e6
            best[name] = min(best.get(name, seconds), seconds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed rounds")
    parser.add_argument("--import-runs", type=int, default=3, help="-X importtime runs")
    options = parser.parse_args()
    py = sys.executable
    plan = [py, "-m", "planner", "plan", "--example"]
    rows = [
        ("python -c pass", [py, "-c", "pass"], True),
        ("wbplan --version", [py, "-m", "planner", "--version"], True),
        ("wbplan plan --example", plan, True),
        ("  same, no bytecode cache", plan, False),
    ]
    for _label, args, cached in rows:  # warm-up: writes the bytecode cache, fills the OS cache
        run_once(args, environment(cached))
    walls: dict[str, list[float]] = defaultdict(list)
    cpus: dict[str, list[float]] = defaultdict(list)
    for _ in range(options.runs):
        for label, args, cached in rows:
            wall, cpu = run_once(args, environment(cached))
            walls[label].append(wall)
            cpus[label].append(cpu)
    base = min(walls[rows[0][0]])
    load = os.getloadavg()[0]
    print(f"{options.runs} rounds; 1-minute load average at the end {load:.2f}")
    header = f"{'command':28} {'best':>7} {'median':>7} {'× pass':>7} {'CPU best':>9}"
    print(header)
    for label, _args, _cached in rows:
        best, median = min(walls[label]), statistics.median(walls[label])
        print(f"{label:28} {best:7.3f} {median:7.3f} {best / base:7.1f} {min(cpus[label]):9.3f}")

    per_module = import_costs(plan[1:], options.import_runs)
    total = sum(per_module.values())
    per_package: dict[str, float] = defaultdict(float)
    for name, seconds in per_module.items():
        per_package[name.split(".")[0]] += seconds
    print(
        f"\nimport time of `plan --example`, bytecode cached, by top-level package "
        f"(least of {options.import_runs} runs per module; total {total:.3f} s):"
    )
    for name, seconds in sorted(per_package.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:26} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    own = sorted(((s, n) for n, s in per_module.items() if n.startswith("planner")), reverse=True)
    print("wbplan's own modules, the costliest bodies:")
    for seconds, name in own[:10]:
        print(f"  {name:40} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
