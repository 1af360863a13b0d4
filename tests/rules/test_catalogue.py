"""The catalogue itself: ids well-formed and unique (the registry refuses otherwise), every id
of issue #7 present, every rule documented and tested, docs/rules.md generated and fresh, and
``wbplan rules`` in each format."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from planner.checking import catalogue
from planner.model.report import RuleInfo
from planner.references import CATALOGUE
from planner.rules import base
from planner.rules.__main__ import DOC
from planner.rules.catalogue_doc import render_markdown

HERE = Path(__file__).resolve().parent
ISSUE_IDS = {
    "WB-LIC-001", "WB-TEN-001", "WB-DEV-001", "WB-DEV-002", "WB-DEV-003", "WB-DEV-004",
    "WB-DEV-005", "WB-PWD-001", "WB-PWD-002", "WB-PWD-003", "WB-PWD-004", "WB-PWD-005",
    "WB-GRP-001", "WB-GRP-002", "WB-GRP-003", "WB-GRP-004", "WB-EXH-001", "WB-USR-001",
    "WB-KEY-001", "WB-DEV-006", "WB-HJ-001",
}  # fmt: skip


def test_ids_are_well_formed_unique_and_sorted() -> None:
    ids = [r.id for r in catalogue()]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    assert all(base.RULE_ID.match(i) for i in ids)
    assert set(ids) >= ISSUE_IDS


def test_registry_refuses_a_duplicate_or_malformed_id() -> None:
    existing = catalogue()[0]
    with pytest.raises(ValueError, match="duplicate rule id"):
        base.rule(existing, base.always)(lambda ctx: [])
    malformed = existing.model_copy(update={"id": "WB-PWD-1"})
    with pytest.raises(ValueError, match="malformed rule id"):
        base.rule(malformed, base.always)(lambda ctx: [])


@pytest.mark.parametrize("info", catalogue(), ids=lambda r: r.id)
def test_every_rule_is_documented(info: RuleInfo) -> None:
    assert info.title and info.rationale and info.remediation
    assert all(re.fullmatch(r"F([1-9]|1\d|2[0-4])", f) for f in info.failure_modes)
    assert info.references and all(s in CATALOGUE for s in info.references)
    assert info.feature


def test_every_rule_id_appears_in_a_rule_test() -> None:
    """A rule without a test under tests/rules/ (other than this file) fails here."""
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in HERE.glob("test_*.py")
        if p.name != Path(__file__).name
    )
    untested = [r.id for r in catalogue() if f'"{r.id}"' not in text]
    assert untested == []


def test_docs_rules_md_is_fresh() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(catalogue()), (
        "docs/rules.md is stale: run python -m planner.rules --write"
    )
    for info in catalogue():
        assert f"## {info.id}\n" in DOC.read_text(encoding="utf-8")


def _wbplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "planner", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_rules_command_prints_the_catalogue_in_each_format() -> None:
    text = _wbplan("rules")
    assert text.returncode == 0, text.stderr
    lines = [line for line in text.stdout.splitlines() if line.startswith("WB-")]
    assert [line.split()[0] for line in lines] == [r.id for r in catalogue()]
    assert "WB-PWD-003  SHOULD" in text.stdout
    as_json = _wbplan("rules", "--format", "json")
    assert [r["id"] for r in json.loads(as_json.stdout)] == [r.id for r in catalogue()]
    assert json.loads(as_json.stdout)[0] == catalogue()[0].model_dump(mode="json")
    markdown = _wbplan("rules", "--format", "markdown")
    assert markdown.stdout == render_markdown(catalogue())


def test_check_mode_of_the_generator_reports_staleness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.rules import __main__ as gen

    stale = tmp_path / "rules.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen, "DOC", stale)
    assert gen.main(["--check"]) == 1
    assert gen.main(["--write"]) == 0
    assert gen.main(["--check"]) == 0
