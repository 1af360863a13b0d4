"""The compliance report as Markdown for a pull-request comment.

Layout, top to bottom: a title with the verdict; the context line; the **summary table**
(passed, failed, SHALL failed, SHOULD failed, unknown, waived, errored, compliant); one
``<details>`` block per feature (opened when it holds a failure or an error; features with one
come first), each finding a list item with its status, rule, criticality, address and message,
and for anything not passing the evidence, remediation, where to verify, or the waiver; then the
verdict and the closing line shared with the text report.

GitHub refuses comments over 65,536 characters. When the rendering is longer than ``limit``,
passing findings are first reduced to a count per feature, then the remaining items are cut where
the budget ends; the table and closing lines are always kept, with a pointer to the JSON report
saying how many findings are not shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.featurewords import feature_title
from planner.model.report import Finding, Report, RuleInfo, Status
from planner.render.plan_markdown import code, fit_blocks, prose, source_link
from planner.render.report_common import (
    by_feature,
    counts_phrase,
    evidence_compact,
    rule_confidence,
    rule_index,
    rule_sources,
    summary_line,
    verdict,
    waiver_text,
)

DEFAULT_LIMIT = 65_000
"""Characters; GitHub's comment limit is 65,536 and CI tools often append a footer."""
ICONS: dict[Status, str] = {
    "fail": "❌",
    "error": "💥",
    "unknown": "❔",
    "waived": "🟡",
    "pass": "✅",
}
POINTER = (
    "> **Output truncated:** {n} finding(s) not shown; see the JSON report "
    "(`wbplan check --format json`)."
)


def finding_lines(f: Finding, title: str, rule: RuleInfo | None = None) -> list[str]:
    """The list item for one finding (a line, plus indented detail lines unless it passed;
    ``rule`` adds the rule's sources and, when not documented, its confidence)."""
    head = (
        f"- {ICONS[f.status]} **{f.status}** {code(f.rule_id)} {f.criticality} · "
        f"{code(f.address)} — {prose(f.message)}"
    )
    if f.status == "pass":
        return [head]
    lines = [head, f"  - rule: {prose(title)}"]
    if f.evidence:
        lines.append(f"  - evidence: {code(evidence_compact(f.evidence))}")
    if f.status == "unknown" and f.verify_at:
        lines.append(f"  - verify at: {prose(f.verify_at)}")
    if f.waiver is not None:
        lines.append(f"  - waiver: {prose(waiver_text(f.waiver))}")
    if f.remediation and f.status in ("fail", "error"):
        lines.append(f"  - remediation: {prose(f.remediation)}")
    if f.status in ("fail", "error", "unknown"):
        links = [source_link(s) for s in rule_sources(rule)]
        if links:
            lines.append(f"  - see: {', '.join(links)}")
        confidence = rule_confidence(rule)
        if confidence:
            lines.append(f"  - confidence: {prose(confidence)}")
    return lines


@dataclass
class _Block:
    feature: str
    findings: list[Finding]
    items: list[tuple[Finding, list[str]]] = field(default_factory=list)

    def opener(self) -> str:
        bad = any(f.status in ("fail", "error") for f in self.findings)
        title = f"<b>{prose(feature_title(self.feature))}</b> ({code(self.feature)})"
        return (
            f"<details{' open' if bad else ''}><summary>{title}: "
            f"{counts_phrase(self.findings)}</summary>\n\n"
        )

    closer = "\n</details>\n"


def _head(report: Report) -> str:
    s = report.summary
    mark = "✅ compliant" if report.compliant else "❌ not compliant"
    yes = "yes" if report.compliant else "no"
    return (
        "\n".join(
            [
                f"### wbplan check: {prose(report.policy_name)} — {mark}",
                "",
                f"Policy {code(report.policy_file)} against {code(report.state_source)} · forest "
                f"{code(report.forest)} · tenant {code(report.tenant_id)} · fail on "
                f"{report.fail_on.upper()} · checked {report.timestamp} by wbplan {report.wbplan_version}",
                "",
                "| passed | failed | SHALL failed | SHOULD failed | unknown | waived | errored | compliant |",
                "|---:|---:|---:|---:|---:|---:|---:|:---:|",
                f"| {s.passed} | {s.fail} | {s.shall_failed} | {s.should_failed} | {s.unknown} "
                f"| {s.waived} | {s.error} | {yes} |",
            ]
        )
        + "\n"
    )


def _tail(report: Report) -> str:
    extra = ""
    if report.not_applicable:
        ids = ", ".join(code(i) for i in report.not_applicable)
        extra = f"_Not applicable to this policy:_ {ids}\n\n"
    return "\n" + extra + f"**{prose(verdict(report))}**\n\n" + summary_line(report) + "\n"


def _blocks(report: Report, *, passes: bool) -> list[_Block]:
    rules = rule_index(report)
    blocks = []
    for feature, findings in by_feature(report):
        b = _Block(feature, findings)
        for f in findings:
            if f.status == "pass" and not passes:
                continue
            rule = rules.get(f.rule_id)
            title = rule.title if rule is not None else f.rule_id
            b.items.append((f, finding_lines(f, title, rule)))
        blocks.append(b)
    return blocks


def _body(blocks: list[_Block], *, passes: bool) -> str:
    out = []
    for b in blocks:
        text = "".join("\n".join(lines) + "\n" for _, lines in b.items)
        passed = sum(1 for f in b.findings if f.status == "pass")
        if not passes and passed:
            text += f"- ✅ {passed} passed (listed in the JSON report)\n"
        out.append(b.opener() + text + b.closer)
    return "".join(out)


def render_markdown(report: Report, *, limit: int = DEFAULT_LIMIT) -> str:
    """The report as a comment of at most ``limit`` characters (the head and closing lines are
    always kept, so a ``limit`` smaller than them is exceeded)."""
    head, tail = _head(report), _tail(report)
    for passes in (True, False):
        full = head + "\n" + _body(_blocks(report, passes=passes), passes=passes) + tail
        if len(full) <= limit:
            return full
    return _truncated(head, tail, _blocks(report, passes=False), len(report.findings), limit)


def _truncated(head: str, tail: str, blocks: list[_Block], total: int, limit: int) -> str:
    reserve = len(POINTER.format(n=total)) + 4
    budget = limit - len(head) - len(tail) - reserve - 1
    body, shown = fit_blocks(blocks, budget)
    pointer = POINTER.format(n=total - len(shown))
    return head + "\n" + body + "\n" + pointer + "\n" + tail
