"""What every report renderer shares: feature titles and order, status order, the closing line.

All report renderers (``report_text``, ``report_json``, ``report_junit``, ``report_sarif``,
``report_markdown``, ``report_html``) are pure functions of one :class:`Report`; this module keeps
the words and orderings they must agree on in one place, so a text report and an HTML report of
the same check never group or count differently.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from planner.featurewords import REPORT_TITLES
from planner.model.report import (
    STATUSES,
    Finding,
    Report,
    ReportSummary,
    RuleInfo,
    Status,
    WaiverRef,
)
from planner.references import Source, confidence_text, sources
from planner.syncstate import parse_time

FEATURE_TITLES = REPORT_TITLES
"""Titles of the features rules belong to, in report order (:mod:`planner.featurewords`; an
unknown feature comes after these, by name)."""

STATUS_ORDER: tuple[Status, ...] = ("fail", "error", "unknown", "waived", "pass")
"""Within a feature: what needs action first, passes last."""

STATUS_WORDS: dict[Status, str] = {
    "pass": "passed",
    "fail": "failed",
    "unknown": "unknown",
    "waived": "waived",
    "error": "errored",
}

STATE_STALE_AFTER = dt.timedelta(days=1)
"""A report flags the observation it was checked against when it was made longer than this
before the check (``check --max-state-age`` sets the threshold instead: older snapshots are then
refused outright)."""

VALUE_MAX = 240
"""Compact evidence longer than this is cut with an ellipsis in one-line renderings (the JSON
report has all of it)."""


def _feature_rank(feature: str) -> tuple[int, str]:
    order = list(FEATURE_TITLES)
    return (order.index(feature) if feature in order else len(order), feature)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Failures first, then errors, unknowns, waivers and passes; by rule id and address."""
    return sorted(findings, key=lambda f: (STATUS_ORDER.index(f.status), f.rule_id, f.address))


def by_feature(report: Report, *, worst_first: bool = True) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by feature, each group sorted by :func:`sort_findings`.

    With ``worst_first`` the features holding a failure or error come first (what a reader must
    act on), otherwise the catalogue's feature order is kept.
    """
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.feature, []).append(finding)

    def key(item: tuple[str, list[Finding]]) -> tuple[int, tuple[int, str]]:
        feature, findings = item
        bad = any(f.status in ("fail", "error") for f in findings)
        return (0 if bad or not worst_first else 1, _feature_rank(feature))

    return [(f, sort_findings(fs)) for f, fs in sorted(groups.items(), key=key)]


def counts(findings: list[Finding]) -> dict[Status, int]:
    """Findings per status (every status present, zero when absent)."""
    out: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    for f in findings:
        out[f.status] += 1
    return out


def counts_phrase(findings: list[Finding]) -> str:
    """``1 failed, 2 passed`` in :data:`STATUS_ORDER`, leaving out zero counts."""
    c = counts(findings)
    return ", ".join(f"{c[s]} {STATUS_WORDS[s]}" for s in STATUS_ORDER if c[s]) or "no findings"


def rule_index(report: Report) -> dict[str, RuleInfo]:
    """Rule id → catalogue entry."""
    return {r.id: r for r in report.rules}


def rule_sources(rule: RuleInfo | None) -> list[Source]:
    """The catalogue entries a rule cites (none for a rule the report does not carry)."""
    return sources(rule.references) if rule is not None else []


def rule_confidence(rule: RuleInfo | None) -> str:
    """``observed, not documented by Microsoft: …`` for a rule that is not documented, else
    the empty string."""
    return confidence_text(rule.confidence, rule.confidence_note) if rule is not None else ""


def summary_line(report: Report) -> str:
    """``Check: N passed, F failed (S SHALL), U unknown, W waived.`` (``, E errored`` before the
    full stop when a rule could not be evaluated)."""
    return summary_text(report.summary)


def summary_text(s: ReportSummary) -> str:
    """:func:`summary_line` of a report with summary ``s``."""
    line = (
        f"Check: {s.passed} passed, {s.fail} failed ({s.shall_failed} SHALL), "
        f"{s.unknown} unknown, {s.waived} waived"
    )
    if s.error:
        line += f", {s.error} errored"
    return line + "."


def verdict(report: Report) -> str:
    """One sentence: compliant, or why not."""
    if report.compliant:
        return "Compliant."
    s = report.summary
    reasons = []
    if s.error:
        reasons.append(f"{s.error} rule finding(s) could not be evaluated")
    if s.shall_failed:
        reasons.append(f"{s.shall_failed} SHALL finding(s) failed")
    if report.fail_on == "should" and s.should_failed:
        reasons.append(f"{s.should_failed} SHOULD finding(s) failed (--fail-on should)")
    return "Not compliant: " + ("; ".join(reasons) or "see the findings") + "."


def state_age(report: Report) -> dt.timedelta | None:
    """How long before the check the observed state was read (``timestamp`` − ``observed_at``);
    None when either time is missing or unreadable. With ``--state-tenant`` this is the age of
    the older reading (the report's ``observed_at``)."""
    observed, checked = parse_time(report.observed_at), parse_time(report.timestamp)
    if observed is None or checked is None:
        return None
    return checked - observed


def is_stale(report: Report, stale_after: dt.timedelta = STATE_STALE_AFTER) -> bool:
    """The observation is older than ``stale_after`` at the time of the check."""
    age = state_age(report)
    return age is not None and age > stale_after


def duration_text(delta: dt.timedelta) -> str:
    """A duration in its two largest units, rounded down: ``3d 4h``, ``5h``, ``12m 5s``."""
    seconds = max(0, int(delta.total_seconds()))
    values = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        values.append((seconds // size, unit))
        seconds %= size
    first = next((i for i, (n, _u) in enumerate(values) if n), len(values) - 1)
    return " ".join(f"{n}{u}" for n, u in values[first : first + 2] if n) or "0s"


def waiver_text(waiver: WaiverRef) -> str:
    """``reason (approved by X, expires D; scope S)``."""
    return (
        f"{waiver.reason} (approved by {waiver.approved_by}, expires {waiver.expires}; "
        f"scope {waiver.scope})"
    )


def evidence_json(evidence: dict[str, Any]) -> str:
    """Evidence as indented JSON (what the folded evidence blocks show)."""
    return json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False)


def evidence_compact(evidence: dict[str, Any], limit: int = VALUE_MAX) -> str:
    """Evidence on one line, cut at ``limit`` characters."""
    text = json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"
