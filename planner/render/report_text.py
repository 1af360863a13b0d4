"""The compliance report for a terminal.

Layout: a header (policy, state, forest, tenant, when), then one block per feature (features
with a failure first) listing its findings — failures, errors, unknowns and waivers with their
message, compact evidence, remediation, where to verify, or the waiver; passes as one line each —
then the verdict and the closing line ``Check: N passed, F failed (S SHALL), U unknown, W
waived.`` Colour is applied only when the caller asks (the CLI does on a terminal).
"""

from __future__ import annotations

from planner.featurewords import feature_title
from planner.model.report import Finding, Report, RuleInfo, Status
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

LABELS: dict[Status, str] = {
    "fail": "FAIL",
    "error": "ERROR",
    "unknown": "UNKNOWN",
    "waived": "WAIVED",
    "pass": "pass",
}
COLOURS: dict[Status, str] = {
    "fail": "31",
    "error": "1;31",
    "unknown": "36",
    "waived": "33",
    "pass": "32",
}
WIDTH = max(len(label) for label in LABELS.values())
INDENT = " " * (4 + WIDTH + 1)


def _c(text: str, status: Status, color: bool) -> str:
    return f"\x1b[{COLOURS[status]}m{text}\x1b[0m" if color else text


def _finding(f: Finding, color: bool, rule: RuleInfo | None = None) -> list[str]:
    label = _c(LABELS[f.status].ljust(WIDTH), f.status, color)
    head = f"  {'✗' if f.status in ('fail', 'error') else ' '} {label} {f.rule_id} [{f.criticality}] {f.address}"
    if f.status == "pass":
        return [head]
    lines = [head, f"{INDENT}{f.message}"]
    if f.evidence:
        lines.append(f"{INDENT}evidence: {evidence_compact(f.evidence)}")
    if f.status == "unknown" and f.verify_at:
        lines.append(f"{INDENT}verify at: {f.verify_at}")
    if f.waiver is not None:
        lines.append(f"{INDENT}waiver: {waiver_text(f.waiver)}")
    if f.remediation and f.status in ("fail", "error"):
        lines.append(f"{INDENT}fix: {f.remediation}")
    if f.status in ("fail", "error", "unknown"):
        lines += [f"{INDENT}see: {s.line()}" for s in rule_sources(rule)]
        confidence = rule_confidence(rule)
        if confidence:
            lines.append(f"{INDENT}confidence: {confidence}")
    return lines


def render_text(report: Report, *, color: bool = False) -> str:
    """The whole report as terminal text ending in a newline."""
    lines = [
        f"wbplan {report.wbplan_version} check: {report.policy_name} ({report.policy_file}) "
        f"against {report.state_source}",
        f"forest {report.forest} · tenant {report.tenant_id} · checked {report.timestamp} · "
        f"fail on {report.fail_on.upper()}",
    ]
    rules = rule_index(report)
    for feature, findings in by_feature(report):
        lines += ["", f"{feature_title(feature)} ({feature}): {counts_phrase(findings)}"]
        for f in findings:
            lines += _finding(f, color, rules.get(f.rule_id))
    if report.not_applicable:
        lines += ["", f"Not applicable to this policy: {', '.join(report.not_applicable)}"]
    lines += ["", verdict(report), summary_line(report)]
    return "\n".join(lines) + "\n"
