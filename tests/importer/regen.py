"""Regenerate the import goldens: ``python -m tests.importer.regen`` from the repo root, then
review ``git diff tests/importer/golden`` (a golden change is a change of user-visible output)."""

from __future__ import annotations

from tests.importer.harness import GOLDEN, golden_file
from tests.importer.harness import expected as compute
from tests.plan.harness import REPO


def main() -> None:
    count = 0
    for name in GOLDEN:
        path = golden_file(name)
        text = compute(name)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            count += 1
            print(f"updated {path.relative_to(REPO)}")
    print(f"{count} file(s) changed")


if __name__ == "__main__":
    main()
