"""Rewrite ``tests/permissions/golden/*.txt``: ``python -m tests.permissions.regen``."""

from __future__ import annotations

from tests.permissions.harness import GOLDEN, POLICIES, output


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    changed = 0
    for name, policy in POLICIES.items():
        path = GOLDEN / f"{name}.txt"
        text = output(policy)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(GOLDEN.parent.parent.parent)}")
            changed += 1
    print(f"{changed} file(s) changed")


if __name__ == "__main__":
    main()
