"""The rule catalogue rendered for people and tools: text (``wbplan rules``), JSON, and the
Markdown document ``docs/rules.md`` (generated, never edited by hand)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from planner.model.report import RuleInfo
from planner.references import Source, confidence_text, lines, sources

DOC_HEADER = """\
# Compliance rule catalogue

<!-- Generated from planner/rules/ by `python -m planner.rules --write`; do not edit by hand.
     tests/rules/test_catalogue.py fails when this file is stale. -->

`wbplan check` evaluates these rules over the same observations as `wbplan plan`
(`wbplan rules` prints this catalogue). Each finding has one status:

| Status | Meaning |
|---|---|
| `pass` | the rule holds at that address |
| `fail` | it does not; the finding names what is missing and the remediation |
| `unknown` | it cannot be verified from what wbplan can read; the finding says why and where a person can verify (`verify_at`) |
| `waived` | a failure that an unexpired waiver of the policy covers (same rule, scope covering the address); the finding carries the waiver |
| `error` | the rule itself could not be evaluated (a bug or unexpected data); never counted as a pass |

`SHALL` failures make the report non-compliant (exit code 2); `SHOULD` failures do too with
`--fail-on should`. A rule whose feature the policy does not declare produces no finding and is
listed as not applicable. Each rule names the public documents it rests on, and its confidence:
`documented` (a cited primary source states it), `observed` (wbplan's own observation, not
documented by Microsoft) or `inferred`; [`references.md`](references.md) lists every source and
what cites it.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def link(s: Source) -> str:
    """A source as a Markdown link (a project document links relative to ``docs/``)."""
    if s.url is None:
        return f"{_cell(s.label)} ({s.note})" if s.note else _cell(s.label)
    target = f"../{s.url}" if s.kind == "project" else s.url
    return f"[{_cell(s.label)}]({target})"


def _confidence(r: RuleInfo) -> str:
    if r.confidence == "documented":
        return "`documented`"
    return confidence_text(r.confidence, r.confidence_note)


def render_markdown(rules: Sequence[RuleInfo]) -> str:
    """``docs/rules.md``."""
    lines = [DOC_HEADER, "| Id | Criticality | Feature | Title |", "|---|---|---|---|"]
    for r in rules:
        anchor = r.id.lower()
        lines.append(f"| [{r.id}](#{anchor}) | {r.criticality} | {r.feature} | {_cell(r.title)} |")
    for r in rules:
        lines += [
            "",
            f"## {r.id}",
            "",
            f"**{r.title}**",
            "",
            f"- Criticality: `{r.criticality}`",
            f"- Feature: `{r.feature}`",
            f"- Confidence: {_confidence(r)}",
            "- References:" if r.references else "- References: —",
            *(f"  - {link(s)}" for s in sources(r.references)),
            "",
            f"*Why:* {r.rationale}",
            "",
            f"*Remediation:* {r.remediation}",
        ]
    return "\n".join(lines) + "\n"


def render_text(rules: Sequence[RuleInfo]) -> str:
    """One block per rule for the terminal: the rule's line, then its sources (title and
    address) and, when it is not documented, its confidence."""
    out = []
    for r in rules:
        out.append(f"{r.id:<10}  {r.criticality:<6}  {r.feature:<15}  {r.title}")
        out.extend(f"{'':<12}see: {line}" for line in lines(r.references))
        if r.confidence != "documented":
            out.append(f"{'':<12}confidence: {confidence_text(r.confidence, r.confidence_note)}")
    out.append(
        f"\n{len(rules)} rule(s). `wbplan rules --format markdown` shows rationale and remediation."
    )
    return "\n".join(out) + "\n"


def render_json(rules: Sequence[RuleInfo]) -> str:
    """The catalogue as a JSON array of RuleInfo objects."""
    return json.dumps([r.model_dump(mode="json") for r in rules], indent=2) + "\n"
