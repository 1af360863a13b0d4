"""Regenerate the plan scenarios: ``python -m tests.plan.regen`` from the repo root.

Writes every scenario's inputs (``policy.yaml``, ``state.json``: ``build_scenarios.py``), then
its expected outputs (``plan.json``, ``plan.txt``, ``plan.md`` or ``error.txt``: ``harness.py``),
removing golden files a scenario no longer produces. Review the result as a diff
(``git diff tests/plan/scenarios``) before committing: a golden change is a change of
user-visible output.
"""

from __future__ import annotations

from tests.plan.build_scenarios import write_all
from tests.plan.harness import GOLDEN_NAMES, REPO, outputs, scenario_dirs


def main() -> None:
    """Write every input and golden file and say how many changed."""
    changed = write_all()
    for path in changed:
        print(f"updated {path.relative_to(REPO)}")
    count = len(changed)
    for folder in scenario_dirs():
        expected = outputs(folder)
        for name in GOLDEN_NAMES:
            path = folder / name
            if name not in expected:
                if path.is_file():
                    path.unlink()
                    count += 1
                    print(f"removed {path.relative_to(REPO)}")
                continue
            if not path.is_file() or path.read_text(encoding="utf-8") != expected[name]:
                path.write_text(expected[name], encoding="utf-8")
                count += 1
                print(f"updated {path.relative_to(REPO)}")
    print(f"{count} file(s) changed")


if __name__ == "__main__":
    main()
