"""Regenerate the policy golden files: ``python -m tests.policy.regen`` from the repo root.

Rewrites ``expected.txt`` of every case under ``tests/policy/invalid`` and ``tests/policy/valid``
and the schema-error snapshot ``tests/policy/schema_errors.json``. Review the result as a diff
(``git diff tests/policy``) before committing: a golden change is a change of user-visible output.
"""

from __future__ import annotations

import json

from tests.policy.corpus import GOLDEN, INVALID, VALID, cases, run_case
from tests.policy.schema_snapshot import SNAPSHOT, schema_errors_by_case


def main() -> None:
    """Write every golden file and say how many changed."""
    changed = 0
    for case in [*cases(INVALID), *cases(VALID)]:
        golden = case / GOLDEN
        text = run_case(case).stdout
        if not golden.is_file() or golden.read_text(encoding="utf-8") != text:
            golden.write_text(text, encoding="utf-8")
            changed += 1
            print(f"updated {golden.relative_to(INVALID.parent.parent.parent)}")
    snapshot = json.dumps(schema_errors_by_case(), indent=2, sort_keys=True) + "\n"
    if not SNAPSHOT.is_file() or SNAPSHOT.read_text(encoding="utf-8") != snapshot:
        SNAPSHOT.write_text(snapshot, encoding="utf-8")
        changed += 1
        print(f"updated {SNAPSHOT.name}")
    print(f"{changed} golden file(s) changed")


if __name__ == "__main__":
    main()
