"""``wbplan rules ID…``: one rule explained — what it checks, why, how to fix it, the public
sources it rests on, and how a policy waives it (text or Markdown; ``--format json`` prints the
catalogue entries). The whole catalogue is rendered by :mod:`planner.rules.catalogue_doc`."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from planner.model.report import RuleInfo
from planner.references import confidence_text, lines, sources
from planner.rules.catalogue_doc import link

WIDTH = 96
INDENT = "    "
UNWAIVABLE_PREFIX = "WB-WVR-"
"""Rules about waivers cannot be waived (as in ``planner.checking``)."""

CRITICALITY_WORDS = {
    "SHALL": "a failure makes the report non-compliant: `wbplan check` exits 2",
    "SHOULD": "a failure counts with `wbplan check --fail-on should`",
}


def _para(text: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT, break_on_hyphens=False
    )


def waiver_example(rule: RuleInfo) -> str | None:
    """A policy waiver for ``rule`` (None for a rule that cannot be waived)."""
    if rule.id.startswith(UNWAIVABLE_PREFIX):
        return None
    return (
        f'- {{rule: {rule.id}, scope: "<DN, address or *>", reason: "…", '
        'approved_by: "…", expires: YYYY-MM-DD}'
    )


def explain_text(rules: Sequence[RuleInfo]) -> str:
    """One block per rule, for the terminal: what it checks (its title, criticality, feature,
    confidence), why, how to fix it, its sources and how a policy waives it."""
    blocks = []
    for r in rules:
        note = confidence_text(r.confidence, r.confidence_note) or "documented"
        out = textwrap.wrap(f"{r.id}: {r.title}", WIDTH, subsequent_indent=INDENT)
        out += [
            f"{INDENT}criticality: {r.criticality} ({CRITICALITY_WORDS.get(r.criticality, '')})",
            f"{INDENT}feature:     {r.feature}",
            *textwrap.wrap(
                f"confidence:  {note}",
                WIDTH,
                initial_indent=INDENT,
                subsequent_indent=INDENT + " " * 13,
            ),
            "",
            "Why:",
            *_para(r.rationale),
            "",
            "How to fix:",
            *_para(r.remediation),
        ]
        refs = lines(r.references)
        if refs:
            out += ["", "References:", *(f"{INDENT}{line}" for line in refs)]
        example = waiver_example(r)
        out.append("")
        if example is None:
            out += ["Waiver:", f"{INDENT}rules about waivers cannot be waived."]
        else:
            out += ["Waiver (in the policy's `waivers:`):", f"{INDENT}{example}"]
        blocks.append("\n".join(out))
    return "\n\n".join(blocks) + "\n"


def explain_markdown(rules: Sequence[RuleInfo]) -> str:
    """The rules as sections of ``docs/rules.md``, plus the waiver line."""
    parts = []
    for r in rules:
        note = confidence_text(r.confidence, r.confidence_note)
        example = waiver_example(r)
        parts.append(
            "\n".join(
                [
                    f"## {r.id}",
                    "",
                    f"**{r.title}**",
                    "",
                    f"- Criticality: `{r.criticality}`",
                    f"- Feature: `{r.feature}`",
                    f"- Confidence: {note or '`documented`'}",
                    "- References:" if r.references else "- References: —",
                    *(f"  - {link(s)}" for s in sources(r.references)),
                    "",
                    f"*Why:* {r.rationale}",
                    "",
                    f"*Remediation:* {r.remediation}",
                    "",
                    f"*Waiver:* `{example}`"
                    if example
                    else "*Waiver:* rules about waivers cannot be waived.",
                ]
            )
        )
    return "\n\n".join(parts) + "\n"
