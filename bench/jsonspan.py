"""Splicing new values into a big canonical snapshot (``planner.jsonspan``) against
serialising the modified data again (``planner.jsontext.canonical_json``), best of ``--runs``.

    .venv/bin/python -m bench.jsonspan [--objects 100000] [--runs 5]

The document is ``state/example.json`` grown to snapshot size: ``--objects`` AD objects (about
600 bytes each: 100,000 make ~63 MB, more than the ~40 MB of a real 100,000-user snapshot), one
DACL per 30 objects (~2.7 MB at 100,000) and ``ad.marks`` between them, as a snapshot has them (keys sorted: ``dacls`` … ``marks``, ``objects``). Timed:

* lookups (``value_span``) of a top-level key after ``ad`` (``observed_at``), of keys under
  ``ad.marks`` (after the DACLs, before the objects), and of an array element half-way through
  ``ad.objects`` (linear in the elements before it);
* ``replace_values`` (and ``replaced_parts``, the same without joining the pieces) of what an unchanged incremental check rewrites (``observed_at``,
  ``source``, ``ad.marks.marked_at``, ``ad.marks.highest_committed_usn``) against
  ``canonical_json`` of the data so modified; the two texts are compared (a difference exits 1).

Asserts nothing about time: a benchmark informs, a test decides.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner.jsonspan import replace_values, replaced_parts, value_span
from planner.jsontext import canonical_json

REPO = Path(__file__).resolve().parents[1]


def best(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Best wall time of ``runs`` calls (after a collection each) and the last result."""
    times = []
    result = None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def snapshot_like(objects: int) -> dict[str, Any]:
    """``state/example.json`` with ``objects`` AD objects, ``objects // 30`` DACLs and marks."""
    data: dict[str, Any] = json.loads((REPO / "state" / "example.json").read_bytes())
    ad = data["ad"]
    template = copy.deepcopy(ad["objects"][0])
    del template["security"]["aces"][1:]  # one ACE: ~600 bytes an object
    grown = []
    for n in range(objects):
        item = copy.deepcopy(template)
        item["dn"] = f"CN=User {n:06d},OU=Staff {n % 2000:04d},OU=People,DC=contoso,DC=test"
        item["usn_changed"] = 100_000 + n
        grown.append(item)
    ad["objects"] = grown
    dacl = next(iter(ad["dacls"].values()))
    ad["dacls"] = {f"{n:024x}": dacl for n in range(max(objects // 30, 1))}
    ad["marks"] = {
        "dc": "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,"
        "CN=Configuration,DC=contoso,DC=test",
        "full_read_at": "2030-01-01T00:00:00Z",
        "highest_committed_usn": 200_000,
        "invocation_id": "0b5e2c4e-0000-4000-8000-000000000001",
        "marked_at": "2030-01-01T00:00:00Z",
        "naming_contexts": ["DC=contoso,DC=test"],
        "roots": [],
    }
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    data = snapshot_like(args.objects)
    doc = canonical_json(data).encode()
    print(f"document: {len(doc) / 1e6:.1f} MB, {args.objects:,} objects")
    half = args.objects // 2
    for path in [
        ("observed_at",),
        ("wbplan_version",),
        ("ad", "marks", "marked_at"),
        ("ad", "marks", "highest_committed_usn"),
        ("ad", "forest"),
        ("ad", "objects", half),
    ]:
        seconds, span = best(lambda path=path: value_span(doc, path), args.runs)
        print(f"value_span {'.'.join(map(str, path)):<40} {seconds * 1e3:8.3f} ms  {span}")

    changes: dict[tuple[str | int, ...], Any] = {
        ("observed_at",): "2030-01-02T00:00:00Z",
        ("source",): {**data["source"], "description": "re-observed, nothing changed"},
        ("ad", "marks", "marked_at"): "2030-01-02T00:00:00Z",
        ("ad", "marks", "highest_committed_usn"): 200_017,
    }
    modified = copy.deepcopy(data)
    for path, value in changes.items():
        target = modified
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    splice, spliced = best(lambda: replace_values(doc, changes), args.runs)
    pieces, _ = best(lambda: replaced_parts(doc, changes), args.runs)
    dump, dumped = best(lambda: canonical_json(modified).encode(), args.runs)
    print(f"replace_values ({len(changes)} values)              {splice * 1e3:8.1f} ms")
    print(f"replaced_parts (no join: to write/hash)  {pieces * 1e3:8.1f} ms")
    print(f"canonical_json of the modified data      {dump * 1e3:8.1f} ms")
    print(f"ratio                                    {dump / splice:8.0f}x")
    if spliced != dumped:
        print("texts differ", file=sys.stderr)
        return 1
    print("texts identical")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
