"""The compliance report as one self-contained HTML page for people (auditors, reviewers).

No external assets and no JavaScript: CSS is inline, evidence is folded with ``<details>``, so the
file can be mailed, attached to a CI run or archived as it is. Top to bottom: the verdict
(compliant or not, and why); a banner when the observed state is older than a threshold at the
time of the check (a day, or ``check --max-state-age``); summary counts; a table of features;
then the context (policy, digest, observed state and its age, forest, tenant, when); one section
per feature (features with a failure first) whose findings are ordered
failed, errored, unknown, waived — each with its rule, criticality, address, message,
remediation, where to verify (unknown), the waiver's reason, approver and expiry (waived), and
the evidence folded — and passes folded at the end; then the rule catalogue, folded. A print
stylesheet (``@media print``) prints it on white with every folded block open, the status
colours kept and no finding split across pages.

Every value from the policy, the observed state or a rule is escaped (``html.escape``).
"""

from __future__ import annotations

import datetime as dt
from html import escape

from planner.featurewords import feature_title
from planner.model.report import Finding, Report, RuleInfo, Status
from planner.render.report_common import (
    STATE_STALE_AFTER,
    STATUS_ORDER,
    by_feature,
    counts,
    duration_text,
    evidence_json,
    is_stale,
    rule_confidence,
    rule_index,
    rule_sources,
    state_age,
    summary_line,
    verdict,
)

STATUS_LABELS: dict[Status, str] = {
    "fail": "Failed",
    "error": "Error",
    "unknown": "Unknown",
    "waived": "Waived",
    "pass": "Passed",
}

CSS = """
:root { --fail:#b42318; --fail-bg:#fef3f2; --error:#7a271a; --error-bg:#fee4e2;
  --unknown:#175cd3; --unknown-bg:#eff8ff; --waived:#b54708; --waived-bg:#fffaeb;
  --pass:#067647; --pass-bg:#ecfdf3; --ink:#101828; --muted:#475467; --line:#eaecf0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color: var(--ink); background: #f9fafb; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 24px 48px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; font-size: 13px; }
code { background: #f2f4f7; padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; }
header.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 16px; }
.verdict { font-weight: 700; padding: 6px 14px; border-radius: 999px; white-space: nowrap; }
.verdict.ok { color: var(--pass); background: var(--pass-bg); border: 1px solid var(--pass); }
.verdict.bad { color: var(--fail); background: var(--fail-bg); border: 1px solid var(--fail); }
.subtitle { color: var(--muted); margin: 0 0 16px; }
.stale { background: var(--waived-bg); border: 1px solid var(--waived); border-left: 5px solid
  var(--waived); border-radius: 8px; padding: 10px 14px; margin: 0 0 16px; }
.stale b { color: var(--waived); }
.flag { font-size: 12px; font-weight: 700; text-transform: uppercase; color: var(--waived);
  background: var(--waived-bg); border: 1px solid var(--waived); border-radius: 999px;
  padding: 0 7px; margin-left: 6px; }
h2.context { font-size: 15px; color: var(--muted); margin: 0 0 6px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 20px;
  background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 0 0 20px; }
.card { background: #fff; border: 1px solid var(--line); border-top: 4px solid; border-radius: 10px;
  padding: 10px 14px; }
.card .n { font-size: 28px; font-weight: 700; line-height: 1.2; }
.card .l { color: var(--muted); font-size: 13px; }
.card.fail { border-top-color: var(--fail); } .card.error { border-top-color: var(--error); }
.card.unknown { border-top-color: var(--unknown); } .card.waived { border-top-color: var(--waived); }
.card.pass { border-top-color: var(--pass); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line);
  border-radius: 10px; overflow: hidden; margin: 0 0 24px; }
th, td { text-align: left; padding: 7px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f2f4f7; font-size: 13px; color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num.hot { color: var(--fail); font-weight: 700; }
td.num.zero { color: #98a2b3; }
section.feature { margin: 0 0 26px; }
section.feature > header { display: flex; align-items: baseline; gap: 12px; margin: 0 0 10px;
  padding-bottom: 6px; border-bottom: 2px solid var(--line); }
.counts { color: var(--muted); font-size: 14px; }
article.finding { background: #fff; border: 1px solid var(--line); border-left: 5px solid;
  border-radius: 8px; padding: 10px 14px; margin: 0 0 10px; }
article.fail { border-left-color: var(--fail); } article.error { border-left-color: var(--error); }
article.unknown { border-left-color: var(--unknown); } article.waived { border-left-color: var(--waived); }
.fhead { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
.badge { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em;
  padding: 2px 8px; border-radius: 999px; }
.badge.fail { color: var(--fail); background: var(--fail-bg); }
.badge.error { color: #fff; background: var(--error); }
.badge.unknown { color: var(--unknown); background: var(--unknown-bg); }
.badge.waived { color: var(--waived); background: var(--waived-bg); }
.badge.pass { color: var(--pass); background: var(--pass-bg); }
.crit { font-size: 12px; font-weight: 700; padding: 1px 7px; border-radius: 4px;
  border: 1px solid var(--muted); color: var(--muted); }
.crit.SHALL { border-color: var(--ink); color: var(--ink); }
.rid { font-weight: 700; }
.title { font-weight: 600; }
.addr { margin: 6px 0 2px; color: var(--muted); font-size: 14px; }
.msg { margin: 4px 0; }
.box { margin: 8px 0 4px; padding: 8px 12px; border-radius: 6px; font-size: 14px; }
.box.fix { background: #f8f9fc; border: 1px solid var(--line); }
.box.verify { background: var(--unknown-bg); }
.box.waiver { background: var(--waived-bg); }
.box.refs { background: #fbfbfd; border: 1px dashed var(--line); }
.box.refs ul { margin: 0; padding-left: 18px; }
.box b { display: block; font-size: 12px; text-transform: uppercase; color: var(--muted);
  letter-spacing: .04em; }
details { margin: 6px 0 0; }
summary { cursor: pointer; color: var(--muted); font-size: 14px; }
pre { background: #101828; color: #f2f4f7; padding: 10px 12px; border-radius: 6px;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 6px 0 0; }
details.passed { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; }
details.passed ul { margin: 8px 0 0; padding-left: 20px; font-size: 14px; }
details.passed li { margin: 3px 0; }
footer { margin-top: 28px; color: var(--muted); font-size: 14px; border-top: 1px solid var(--line);
  padding-top: 12px; }
.na { color: var(--muted); font-size: 14px; }
@media (max-width: 760px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@media print {
  @page { margin: 14mm 12mm; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .verdict, .card, .badge, .crit, .flag, .stale, .box, article.finding, td.num.hot {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .cards { grid-template-columns: repeat(5, 1fr); }
  .card, table, dl.meta, article.finding, details.passed { border-color: #d0d5dd; }
  article.finding, .card, .stale, tr, dl.meta { break-inside: avoid; }
  section.feature > header, h2 { break-after: avoid; }
  pre { background: #fff; color: var(--ink); border: 1px solid #d0d5dd; }
  details::details-content { content-visibility: visible; }
  summary { cursor: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _prose(text: str) -> str:
    """Escaped text whose `backtick` spans (commands, DNs in remediations) become ``<code>``."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as it is
        return _e(text)
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))


def _anchor(feature: str) -> str:
    return "feature-" + "".join(ch if ch.isalnum() else "-" for ch in feature)


def _observed_at(report: Report, stale_after: dt.timedelta) -> str:
    """``2026-11-22T18:00:00Z · 8d 18h before this check`` (and a STALE flag)."""
    shown = _e(report.observed_at or "not recorded")
    age = state_age(report)
    if age is None:
        return shown
    if age.total_seconds() < 0:
        return f"{shown} · after this check: check the clocks"
    shown += f" · {duration_text(age)} before this check"
    if is_stale(report, stale_after):
        shown += f'<span class="flag">stale: older than {duration_text(stale_after)}</span>'
    return shown


def _stale_banner(report: Report, stale_after: dt.timedelta) -> str:
    """The warning under the verdict when the observed state is older than ``stale_after``."""
    age = state_age(report)
    if age is None or not is_stale(report, stale_after):
        return ""
    return (
        '<div class="stale" role="note"><b>Stale observation.</b> '
        f"This check read a state observed {duration_text(age)} before it ran "
        f"(<code>{_e(report.state_source)}</code>, observed {_e(report.observed_at)}), older "
        f"than {duration_text(stale_after)}: the verdict describes the directory and tenant as "
        "they were then. Write a fresh snapshot with <code>wbplan refresh</code> (or check "
        "live) before relying on it.</div>"
    )


def _meta(report: Report, stale_after: dt.timedelta = STATE_STALE_AFTER) -> str:
    rows = [
        ("Policy", f"{_e(report.policy_name)} · <code>{_e(report.policy_file)}</code>"),
        ("Policy digest", f"<code>{_e(report.policy_digest)}</code>"),
        ("Observed state", f"<code>{_e(report.state_source)}</code>"),
        ("Observed at", _observed_at(report, stale_after)),
        ("Forest", f"<code>{_e(report.forest)}</code>"),
        ("Tenant", f"<code>{_e(report.tenant_id)}</code>"),
        ("Fails on", f"{_e(report.fail_on.upper())} rules"),
        (
            "Checked",
            f'<time datetime="{_e(report.timestamp)}">{_e(report.timestamp)}</time> by wbplan '
            f"{_e(report.wbplan_version)}",
        ),
    ]
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<h2 class="context">About this check</h2><dl class="meta">{body}</dl>'


def _cards(report: Report) -> str:
    s = report.summary
    cards = [
        ("fail", s.fail, f"failed ({s.shall_failed} SHALL, {s.should_failed} SHOULD)"),
        ("error", s.error, "could not be evaluated"),
        ("unknown", s.unknown, "unknown: verify by hand"),
        ("waived", s.waived, "waived"),
        ("pass", s.passed, "passed"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {cls}"><div class="n">{n}</div><div class="l">{_e(label)}</div></div>'
            for cls, n, label in cards
        )
        + "</div>"
    )


def _cell_class(status: Status, n: int) -> str:
    if not n:
        return " zero"
    return " hot" if status in ("fail", "error") else ""


def _feature_table(groups: list[tuple[str, list[Finding]]]) -> str:
    head = (
        "<tr><th>Feature</th><th>Failed</th><th>Errored</th><th>Unknown</th>"
        "<th>Waived</th><th>Passed</th></tr>"
    )
    rows = []
    for feature, findings in groups:
        c = counts(findings)
        cells = "".join(f'<td class="num{_cell_class(s, c[s])}">{c[s]}</td>' for s in STATUS_ORDER)
        rows.append(
            f'<tr><td><a href="#{_anchor(feature)}">{_e(feature_title(feature))}</a></td>{cells}</tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _finding(f: Finding, rule: RuleInfo | None) -> str:
    title = rule.title if rule else f.rule_id
    parts = [
        f'<article class="finding {f.status}">',
        '<div class="fhead">',
        f'<span class="badge {f.status}">{STATUS_LABELS[f.status]}</span>',
        f'<span class="rid">{_e(f.rule_id)}</span>',
        f'<span class="crit {f.criticality}">{f.criticality}</span>',
        f'<span class="title">{_e(title)}</span>',
        "</div>",
        f'<div class="addr"><code>{_e(f.address)}</code></div>',
        f'<p class="msg">{_prose(f.message)}</p>',
    ]
    if f.status == "unknown" and f.verify_at:
        parts.append(f'<div class="box verify"><b>Verify by hand</b>{_prose(f.verify_at)}</div>')
    if f.waiver is not None:
        w = f.waiver
        parts.append(
            '<div class="box waiver"><b>Waiver</b>'
            f"{_e(w.reason)}<br>Approved by {_e(w.approved_by)} · expires "
            f"<time>{_e(w.expires)}</time> · scope <code>{_e(w.scope)}</code></div>"
        )
    if f.remediation and f.status in ("fail", "error", "waived"):
        parts.append(f'<div class="box fix"><b>How to fix</b>{_prose(f.remediation)}</div>')
    if f.status in ("fail", "error", "unknown"):
        parts += _sources(rule)
    if f.evidence:
        parts.append(
            f"<details><summary>Evidence</summary><pre>{_e(evidence_json(f.evidence))}</pre></details>"
        )
    parts.append("</article>")
    return "".join(parts)


def _sources(rule: RuleInfo | None) -> list[str]:
    """The rule's sources, title and address, and, when the rule is not documented, its
    confidence. Addresses are text, not links: the page links to nothing outside itself."""
    items = []
    for s in rule_sources(rule):
        where = f" — <code>{_e(s.url)}</code>" if s.url else ""
        items.append(f"<li>{_e(s.label)}{where}</li>")
    out = [f'<div class="box refs"><b>Sources</b><ul>{"".join(items)}</ul></div>'] if items else []
    confidence = rule_confidence(rule)
    if confidence:
        out.append(f'<div class="box refs"><b>Confidence</b>{_e(confidence)}</div>')
    return out


def _passed(findings: list[Finding], rules: dict[str, RuleInfo]) -> str:
    items = "".join(
        f"<li><b>{_e(f.rule_id)}</b> {_e(rules[f.rule_id].title if f.rule_id in rules else '')}"
        f" · <code>{_e(f.address)}</code> — {_e(f.message)}</li>"
        for f in findings
    )
    return f'<details class="passed"><summary>{len(findings)} passed</summary><ul>{items}</ul></details>'


def _section(feature: str, findings: list[Finding], rules: dict[str, RuleInfo]) -> str:
    c = counts(findings)
    phrase = ", ".join(f"{c[s]} {STATUS_LABELS[s].lower()}" for s in STATUS_ORDER if c[s])
    problems = [f for f in findings if f.status != "pass"]
    passes = [f for f in findings if f.status == "pass"]
    body = "".join(_finding(f, rules.get(f.rule_id)) for f in problems)
    if passes:
        body += _passed(passes, rules)
    return (
        f'<section class="feature" id="{_anchor(feature)}"><header>'
        f"<h2>{_e(feature_title(feature))}</h2>"
        f'<span class="counts"><code>{_e(feature)}</code> · {_e(phrase)}</span></header>'
        f"{body}</section>"
    )


def _catalogue(report: Report) -> str:
    rows = "".join(
        f"<tr><td><b>{_e(r.id)}</b></td><td>{r.criticality}</td><td>{_e(feature_title(r.feature))}</td>"
        f"<td>{_e(r.title)}</td></tr>"
        for r in report.rules
    )
    na = ""
    if report.not_applicable:
        na = (
            '<p class="na">Not applicable to this policy (the feature is not declared): '
            + ", ".join(f"<code>{_e(i)}</code>" for i in report.not_applicable)
            + "</p>"
        )
    return (
        f"<details><summary>Rules evaluated ({len(report.rules)})</summary>{na}"
        "<table><tr><th>Rule</th><th>Criticality</th><th>Feature</th><th>Title</th></tr>"
        f"{rows}</table></details>"
    )


def render_html(report: Report, *, stale_after: dt.timedelta = STATE_STALE_AFTER) -> str:
    """The whole page, UTF-8, ending in a newline. ``stale_after``: the age past which the
    observed state is flagged (at the time of the check)."""
    rules = rule_index(report)
    groups = by_feature(report)
    ok = report.compliant
    sections = "".join(_section(feature, fs, rules) for feature, fs in groups)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>wbplan check: {_e(report.policy_name)} — {'compliant' if ok else 'not compliant'}</title>"
        f"<style>{CSS}</style></head>\n<body><main>"
        '<header class="top"><div>'
        f"<h1>Writeback compliance: {_e(report.policy_name)}</h1>"
        f'<p class="subtitle">{_e(verdict(report))}</p></div>'
        f'<div class="verdict {"ok" if ok else "bad"}">{"Compliant" if ok else "Not compliant"}</div>'
        "</header>"
        f"{_stale_banner(report, stale_after)}{_cards(report)}{_feature_table(groups)}"
        f"{_meta(report, stale_after)}{sections}"
        f"<footer>{_catalogue(report)}<p>{_e(summary_line(report))}</p></footer>"
        "</main></body></html>\n"
    )
