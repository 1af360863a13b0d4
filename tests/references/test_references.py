"""Users see public references, never the project's internal notes (issue 13 §5–6).

- every rule and every plan item (the requirements of the shipped example and of every plan
  scenario, expanded against their states) cites at least one source, and only sources of the
  catalogue (``planner/references.py``); every source is cited by something (a rule, a plan
  item, or a policy validation code of ``planner/policy/codes.py``);
- the catalogue itself: unique ids, Microsoft sources at a Microsoft address, third-party
  sources marked so, wbplan's own documents present in the tree;
- a rule or plan item that is not ``documented`` says why in plain words (and one that is says
  nothing);
- ``docs/references.md`` is generated and fresh;
- no golden file (plan, check, emit, validate), no generated document and no output of
  ``wbplan rules`` carries an internal tag: ``domain.md``, ``[S12]``, ``[F8]``, ``OBS``,
  ``UNCONFIRMED``, or the ``wbplan.dev`` address (the policy's ``apiVersion: wbplan.dev/v1`` is a
  format name users write, not an address, and is allowed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from planner.checking import catalogue
from planner.model.plan import Resource
from planner.references import CATALOGUE, SOURCES, first_url, lines
from planner.references_doc import DOC, corpus, current
from planner.render.report_sarif import render_sarif
from tests.plan.harness import SCENARIOS_DIR

REPO = Path(__file__).resolve().parents[2]
CORPUS = corpus()
INTERNAL = {
    "domain.md": re.compile(r"domain\.md"),
    "source tag": re.compile(r"\[S\d"),
    "failure-mode tag": re.compile(r"\[F\d"),
    "OBS": re.compile(r"\bOBS\b"),
    "UNCONFIRMED": re.compile(r"UNCONFIRMED"),
    "wbplan.dev address": re.compile(r"wbplan\.dev(?!/v\d)"),
}


def _internal_tags(text: str) -> list[str]:
    return [name for name, pattern in INTERNAL.items() if pattern.search(text)]


def test_the_corpus_covers_the_example_and_every_scenario_wbplan_accepts() -> None:
    names = {name for name, _, _ in CORPUS}
    scenarios = {
        d.name
        for d in SCENARIOS_DIR.iterdir()
        if (d / "state.json").is_file() and not (d / "error.txt").exists()
    }
    assert names == {"example", *scenarios}
    assert len(scenarios) > 20


@pytest.mark.parametrize("info", catalogue(), ids=lambda r: r.id)
def test_every_rule_cites_catalogued_sources(info) -> None:  # type: ignore[no-untyped-def]
    assert info.references, f"{info.id} cites nothing"
    unknown = [i for i in info.references if i not in CATALOGUE]
    assert unknown == [], f"{info.id} cites ids not in planner/references.py: {unknown}"
    assert len(set(info.references)) == len(info.references)
    if info.confidence == "documented":
        assert info.confidence_note is None
    else:
        assert info.confidence_note, f"{info.id} is {info.confidence} but does not say why"
    assert not _internal_tags(
        " ".join((info.title, info.rationale, info.remediation, info.confidence_note or ""))
    )


def _requirement_id(item: tuple[str, Resource, object]) -> str:
    name, resource, _ = item
    return f"{name}:{resource.address}"


@pytest.mark.parametrize("item", CORPUS, ids=_requirement_id)
def test_every_requirement_cites_catalogued_sources(item: tuple[str, Resource, object]) -> None:
    _, r, _ = item
    assert r.references, f"{r.address} cites nothing"
    unknown = [i for i in r.references if i not in CATALOGUE]
    assert unknown == [], f"{r.address} cites ids not in planner/references.py: {unknown}"
    if r.confidence == "documented":
        assert r.confidence_note is None
    else:
        assert r.confidence_note, f"{r.address} is {r.confidence} but does not say why"
    assert not _internal_tags(" ".join((r.why, r.instructions or "", r.confidence_note or "")))


def test_every_source_is_cited_by_a_rule_a_plan_item_or_a_validation_code() -> None:
    from planner.policy.codes import CODES

    cited = {i for r in catalogue() for i in r.references}
    cited |= {i for _, r, _ in CORPUS for i in r.references}
    cited |= {i for c in CODES for i in c.references}
    assert [s.id for s in SOURCES if s.id not in cited] == []


def test_the_catalogue_is_well_formed() -> None:
    ids = [s.id for s in SOURCES]
    assert len(ids) == len(set(ids))
    for s in SOURCES:
        assert re.fullmatch(r"(S\d+[a-z]?|M\d+|W\d+)", s.id), s.id
        assert s.title and s.site
        assert not _internal_tags(f"{s.title} {s.note}"), s.id
        if s.kind == "microsoft":
            assert s.url is not None, s.id
            assert s.url.startswith(
                (
                    "https://learn.microsoft.com/en-us/",
                    "https://github.com/MicrosoftDocs/",
                    "https://github.com/microsoft/",  # Microsoft's own tools (sample exports)
                )
            ), s.id
        elif s.kind == "third-party":
            assert s.url is not None or s.note, s.id
            assert s.url is None or s.url.startswith("https://"), s.id
        else:
            assert s.url is not None and (REPO / s.url).is_file(), s.id
        assert s.line().startswith(s.label)


def test_renderers_print_titles_and_addresses() -> None:
    s29 = CATALOGUE["S29"]
    assert lines(["S29"]) == [f"Microsoft Learn: {s29.title} — {s29.url}"]
    assert s29.url == (
        "https://learn.microsoft.com/en-us/entra/identity/authentication/tutorial-enable-sspr-writeback"
    )
    assert first_url(["W1", "S29"]) == s29.url  # a project path is not an address
    assert lines(["no-such-id"]) == []


@pytest.mark.parametrize("source", ["golden", "samples"])
def test_sarif_rules_point_help_at_their_first_source(source: str) -> None:
    from tests.report.samples import every_status

    if source == "golden":
        path = REPO / "tests" / "report" / "golden" / "example" / "report.sarif"
        doc = json.loads(path.read_text(encoding="utf-8"))
    else:
        doc = json.loads(render_sarif(every_status()))
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    for rule in rules:
        refs = rule["properties"]["references"]
        assert rule.get("helpUri") == first_url(refs)
        assert "failureModes" not in rule["properties"]
        for ref in refs:
            assert CATALOGUE[ref].title in rule["help"]["text"]


def test_docs_references_md_is_fresh() -> None:
    assert DOC.read_text(encoding="utf-8") == current(), (
        "docs/references.md is stale: run python -m planner.references --write"
    )
    text = DOC.read_text(encoding="utf-8")
    for s in SOURCES:
        assert f"\n## {s.id}\n" in text
        assert s.url is None or s.url in text


def test_check_mode_of_the_generator_reports_staleness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner import references_doc as gen

    stale = tmp_path / "references.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen, "DOC", stale)
    assert gen.main(["--check"]) == 1
    assert gen.main(["--write"]) == 0
    assert gen.main(["--check"]) == 0


def _goldens() -> list[Path]:
    tests = REPO / "tests"
    files = [
        *sorted((tests / "plan" / "scenarios").glob("*/plan.*")),
        *sorted((tests / "plan" / "scenarios").glob("*/error.txt")),
        *sorted((tests / "report" / "golden").glob("*/*")),
        *sorted((tests / "apply" / "emit_goldens").glob("*/emit.*")),
        *sorted((tests / "policy").glob("*/*/expected.txt")),
        REPO / "docs" / "rules.md",
        REPO / "docs" / "references.md",
    ]
    return [f for f in files if f.is_file()]


def test_the_goldens_are_found() -> None:
    names = {f.name for f in _goldens()}
    assert {"plan.txt", "plan.json", "plan.md", "report.txt", "report.sarif"} <= names
    assert {"report.json", "report.junit.xml", "report.md", "report.html"} <= names
    assert {"emit.ldif", "emit.ps1", "expected.txt", "rules.md", "references.md"} <= names


@pytest.mark.parametrize("path", _goldens(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_golden_carries_an_internal_tag(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = {
        name: sorted({m.group(0) for m in pattern.finditer(text)})
        for name, pattern in INTERNAL.items()
        if pattern.search(text)
    }
    assert found == {}, f"{path.relative_to(REPO)} carries internal tags: {found}"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_wbplan_rules_carries_no_internal_tag(fmt: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "planner", "rules", "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert _internal_tags(out) == []
    if fmt == "text":
        assert f"see: {CATALOGUE['S29'].line()}" in out
    if fmt == "json":
        rules = json.loads(out)
        assert all("failure_modes" not in r and r["confidence"] for r in rules)
