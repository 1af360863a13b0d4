"""Reading and writing a snapshot: the fast paths of ``planner.observe.snapshot`` against the
reference paths they replace, interleaved in one process (so load on a shared machine hits both
alike), best of ``--runs``.

    .venv/bin/python -m bench.snapshot_io SNAPSHOT.json [--runs 7]

* read, reference: bounded read, ``json.loads`` with the digit bound, nesting and surrogate
  walks, ``ObservedState.model_validate`` (what ``load_state`` did before);
* read, fast: ``load_state`` (byte scans, then pydantic's ``model_validate_json``);
* write, reference: ``json.dumps(model_dump(), indent=2, sort_keys=True)`` (pure-Python
  indenting encoder);
* write, fast: ``dump_state`` (C encoder sorts, Rust encoder indents); the two texts are
  compared (a difference exits 1).

Asserts nothing about time: a benchmark informs, a test decides.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from planner.fileio import read_json
from planner.model.state import ObservedState
from planner.observe.snapshot import dump_state, load_state, parse_state


def timed(fn: Callable[[], Any], times: list[float]) -> Any:
    """Run ``fn`` once (after a collection, so earlier garbage is not charged to it), add its
    wall time to ``times``; returns its result."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    times.append(time.perf_counter() - start)
    return result


def read_reference(path: Path) -> ObservedState:
    return parse_state(read_json(path), str(path))


def write_reference(state: ObservedState) -> str:
    return json.dumps(state.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    path: Path = args.snapshot
    times: dict[str, list[float]] = {
        k: [] for k in ("read ref", "read fast", "write ref", "write fast")
    }
    same = True
    for _ in range(args.runs):
        ref = timed(partial(read_reference, path), times["read ref"])
        fast = timed(partial(load_state, path), times["read fast"])
        ref_text = timed(partial(write_reference, ref), times["write ref"])
        fast_text = timed(partial(dump_state, fast), times["write fast"])
        same = same and ref == fast and ref_text == fast_text
    size = path.stat().st_size
    print(f"{path} ({size / 1e6:.1f} MB), best of {args.runs}, interleaved:")
    for what in ("read", "write"):
        r, f = min(times[f"{what} ref"]), min(times[f"{what} fast"])
        print(f"  {what:5}  reference {r:6.3f} s   fast {f:6.3f} s   ({r / f:4.1f}x)")
    print("  same state and same bytes: " + ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
