"""The rule catalogue rendered for people and tools: text (``wbplan rules``), JSON, and the
Markdown document ``docs/rules.md`` (generated, never edited by hand)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from planner.model.report import RuleInfo

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
listed as not applicable. References are source tags of the domain reference (domain.md §13);
failure modes are its §12.1 catalogue (F1–F24).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


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
            f"- Failure modes: {', '.join(r.failure_modes) or '—'}",
            f"- References: {', '.join(f'[{s}]' for s in r.references) or '—'}",
            "",
            f"*Why:* {r.rationale}",
            "",
            f"*Remediation:* {r.remediation}",
        ]
    return "\n".join(lines) + "\n"


def render_text(rules: Sequence[RuleInfo]) -> str:
    """One block per rule for the terminal."""
    out = []
    for r in rules:
        modes = f"  [{', '.join(r.failure_modes)}]" if r.failure_modes else ""
        out.append(f"{r.id:<10}  {r.criticality:<6}  {r.feature:<15}  {r.title}{modes}")
    out.append(
        f"\n{len(rules)} rule(s). `wbplan rules --format markdown` shows rationale and remediation."
    )
    return "\n".join(out) + "\n"


def render_json(rules: Sequence[RuleInfo]) -> str:
    """The catalogue as a JSON array of RuleInfo objects."""
    return json.dumps([r.model_dump(mode="json") for r in rules], indent=2) + "\n"
