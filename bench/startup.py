"""Start-up cost of the offline path (issue 17 §4): ``wbplan plan --example`` and
``wbplan --version`` against a bare ``python -c pass`` measured in the same run, and the import
time of ``plan --example`` itemised by top-level package (``python -X importtime``).

Run from the repository root with the venv's Python::

    .venv/bin/python bench/startup.py [--runs 7]

Prints a table; asserts nothing (a benchmark informs, a test decides).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def wall(args: list[str], runs: int) -> tuple[float, float]:
    """(best, median) wall time of ``args`` over ``runs`` runs, output discarded."""
    env = {**os.environ, "NO_COLOR": "1"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def import_costs(args: list[str]) -> tuple[dict[str, float], float]:
    """Seconds of import time per top-level package (self time summed over its modules), and
    the total, from ``-X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    per: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (p.strip() for p in line[len("import time:") :].split("|"))
        top = name.strip().split(".")[0]
        per[top] += int(self_us) / 1e6
    return dict(per), sum(per.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    py = sys.executable
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("wbplan --version", [py, "-m", "planner", "--version"]),
        ("wbplan plan --example", [py, "-m", "planner", "plan", "--example"]),
    ]
    base_best, _ = wall(rows[0][1], runs)
    print(f"{'command':28} {'best':>8} {'median':>8} {'× python -c pass':>18}")
    for label, args in rows:
        best, median = wall(args, runs)
        print(f"{label:28} {best:8.3f} {median:8.3f} {best / base_best:18.1f}")
    per, total = import_costs(["-m", "planner", "plan", "--example"])
    print(f"\nimport time of `plan --example`, by top-level package (total {total:.3f} s):")
    for name, seconds in sorted(per.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:24} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")


if __name__ == "__main__":
    main()
