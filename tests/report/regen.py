"""Regenerate the report goldens: ``python -m tests.report.regen`` from the repo root.

Writes ``tests/report/golden/<case>/`` for every case of ``harness.CASES`` (see
``harness.py``). Review the result as a diff (``git diff tests/report/golden``) before
committing: a golden change is a change of user-visible output.
"""

from __future__ import annotations

from tests.report.harness import CASES, GOLDEN_DIR, REPO, outputs


def main() -> None:
    """Write every golden file and say how many changed."""
    count = 0
    for case in CASES:
        folder = GOLDEN_DIR / case
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in outputs(case).items():
            path = folder / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                count += 1
                print(f"updated {path.relative_to(REPO)}")
    print(f"{count} file(s) changed")


if __name__ == "__main__":
    main()
