"""``wbplan rules [ID…]`` (issue 15 §7): with ids, each rule explained — what it checks, why,
how to fix it, its public sources and how to waive it — instead of a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from planner.checking import catalogue
from planner.cli import cli
from planner.references import lines
from tests.references.test_references import _internal_tags


def wbplan(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="wbplan")


def test_rules_explains_one_rule() -> None:
    [rule] = [r for r in catalogue() if r.id == "WB-PWD-002"]
    result = wbplan("rules", "WB-PWD-002")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"WB-PWD-002: {rule.title}\n")
    assert "    criticality: SHALL (a failure makes the report non-compliant" in out
    assert "    feature:     password\n" in out
    flat = " ".join(out.split())
    for heading, text in (("Why:", rule.rationale), ("How to fix:", rule.remediation)):
        assert f"\n{heading}\n" in out
        assert " ".join(text.split()) in flat
    for line in lines(rule.references):
        assert f"    {line}\n" in out
    assert "    - {rule: WB-PWD-002, scope: " in out
    assert _internal_tags(out) == []
    # not the catalogue: one rule only
    assert "WB-PWD-001" not in out


def test_ids_are_case_insensitive_and_several_can_be_named() -> None:
    result = wbplan("rules", "wb-pwd-002", "WB-LIC-001", "WB-PWD-002")
    assert result.exit_code == 0, result.output
    heads = [line.split(":")[0] for line in result.output.splitlines() if line.startswith("WB-")]
    assert heads == ["WB-PWD-002", "WB-LIC-001"]


def test_an_unknown_rule_is_an_error_with_suggestions() -> None:
    result = wbplan("rules", "WB-PWD-999")
    assert result.exit_code == 1
    assert "Error: no such rule: WB-PWD-999" in result.output
    assert "did you mean WB-PWD-" in result.output


def test_waiver_rules_say_they_cannot_be_waived() -> None:
    result = wbplan("rules", "WB-WVR-001")
    assert result.exit_code == 0
    assert "Waiver:\n    rules about waivers cannot be waived.\n" in result.output


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_other_formats(fmt: str) -> None:
    result = wbplan("rules", "WB-PWD-002", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert _internal_tags(result.output) == []
    if fmt == "json":
        [doc] = json.loads(result.output)
        assert doc["id"] == "WB-PWD-002" and doc["remediation"]
    else:
        assert result.output.startswith("## WB-PWD-002\n\n**")
        assert "*Why:* " in result.output and "*Remediation:* " in result.output


def test_without_ids_the_catalogue_is_unchanged(tmp_path: Path) -> None:
    result = wbplan("rules")
    assert result.exit_code == 0
    assert f"\n{len(catalogue())} rule(s)." in result.output
    written = wbplan("rules", "--format", "markdown", "-o", str(tmp_path / "rules.md"))
    assert written.exit_code == 0
    assert (tmp_path / "rules.md").read_text() == wbplan("rules", "--format", "markdown").output
