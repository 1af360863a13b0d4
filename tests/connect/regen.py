"""The golden file of ``wbplan connect-collector`` and the command that rewrites it:
``python -m tests.connect.regen`` (then review ``git diff tests/connect/golden``).

The script names the wbplan version that wrote it; the golden has ``<wbplan_version>`` there.
"""

from __future__ import annotations

from pathlib import Path

from planner.connect.collector import render_collector

GOLDEN = Path(__file__).resolve().parent / "golden" / "connect-collector.ps1"
VERSION = "<wbplan_version>"


def expected() -> str:
    """The collector script as the golden pins it."""
    return render_collector(VERSION)


def main() -> None:
    """Rewrite the golden file."""
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(expected(), encoding="utf-8", newline="\n")
    print(f"wrote {GOLDEN.relative_to(GOLDEN.parents[3])}")


if __name__ == "__main__":
    main()
