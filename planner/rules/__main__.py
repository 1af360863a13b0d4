"""``python -m planner.rules --write``: regenerate docs/rules.md from the rule modules
(``--check``: exit 1 when the committed file is stale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from planner.checking import catalogue
from planner.rules.catalogue_doc import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def main(argv: list[str] | None = None) -> int:
    """Write or check the catalogue document."""
    parser = argparse.ArgumentParser(prog="python -m planner.rules", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate docs/rules.md")
    mode.add_argument("--check", action="store_true", help="exit 1 when docs/rules.md is stale")
    args = parser.parse_args(argv)
    text = render_markdown(catalogue())
    if args.write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {DOC}\n")
        return 0
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if current != text:
        sys.stderr.write(f"{DOC} is stale: run python -m planner.rules --write\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
