"""The report as JUnit XML, for the test tabs of Azure DevOps, Jenkins and GitLab.

One ``<testsuite>`` per feature (with its counts and the report's context as properties), one
``<testcase>`` per finding — a rule at one scope (address) — named ``<rule id> <address>`` with
the rule id as ``classname`` (Jenkins groups by it). ``fail`` carries a ``<failure>`` (type is
the criticality: a failing SHOULD rule is a failed test too, although it only fails
``wbplan check`` with ``--fail-on should``), ``error`` an ``<error>``, and ``unknown`` or
``waived`` a ``<skipped>`` whose message says why (where to verify; the waiver's reason,
approver and expiry). The document validates against the Jenkins xUnit ``junit-10.xsd``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from planner.featurewords import feature_title
from planner.model.report import Finding, Report, RuleInfo
from planner.render.report_common import (
    by_feature,
    counts,
    evidence_json,
    rule_confidence,
    rule_index,
    rule_sources,
    waiver_text,
)


def _body(f: Finding, title: str, rule: RuleInfo | None) -> str:
    parts = [f"{f.rule_id} [{f.criticality}] {title}", f"address: {f.address}", f.message]
    if f.evidence:
        parts += ["evidence:", evidence_json(f.evidence)]
    if f.remediation:
        parts.append(f"remediation: {f.remediation}")
    parts += [f"see: {s.line()}" for s in rule_sources(rule)]
    confidence = rule_confidence(rule)
    if confidence:
        parts.append(f"confidence: {confidence}")
    return "\n".join(parts) + "\n"


def _testcase(parent: ET.Element, f: Finding, title: str, rule: RuleInfo | None = None) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        {"classname": f.rule_id, "name": f"{f.rule_id} {f.address}", "time": "0"},
    )
    if f.status == "fail":
        el = ET.SubElement(case, "failure", {"type": f.criticality, "message": f.message})
        el.text = _body(f, title, rule)
    elif f.status == "error":
        el = ET.SubElement(case, "error", {"type": "error", "message": f.message})
        el.text = _body(f, title, rule)
    elif f.status == "waived":
        reason = waiver_text(f.waiver) if f.waiver is not None else "waived"
        ET.SubElement(case, "skipped", {"type": "waived", "message": f"waived: {reason}"})
    elif f.status == "unknown":
        where = f"; verify at: {f.verify_at}" if f.verify_at else ""
        ET.SubElement(
            case, "skipped", {"type": "unknown", "message": f"unknown: {f.message}{where}"}
        )


def render_junit(report: Report) -> str:
    """The JUnit XML document (UTF-8 declaration, two-space indentation, final newline)."""
    rules = rule_index(report)
    groups = by_feature(report, worst_first=False)
    every = [f for _, fs in groups for f in fs]
    total = counts(every)
    root = ET.Element(
        "testsuites",
        {
            "name": f"wbplan check {report.policy_name}",
            "tests": str(len(every)),
            "failures": str(total["fail"]),
            "errors": str(total["error"]),
            "time": "0",
        },
    )
    context = {
        "policy_name": report.policy_name,
        "policy_file": report.policy_file,
        "policy_digest": report.policy_digest,
        "state_source": report.state_source,
        "forest": report.forest,
        "tenant_id": report.tenant_id,
        "fail_on": report.fail_on,
        "compliant": "true" if report.compliant else "false",
        "wbplan_version": report.wbplan_version,
    }
    for feature, findings in groups:
        c = counts(findings)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"{feature} — {feature_title(feature)}",
                "package": "wbplan",
                "tests": str(len(findings)),
                "failures": str(c["fail"]),
                "errors": str(c["error"]),
                "skipped": str(c["unknown"] + c["waived"]),
                "time": "0",
                "timestamp": report.timestamp,
            },
        )
        props = ET.SubElement(suite, "properties")
        for name, value in context.items():
            ET.SubElement(props, "property", {"name": name, "value": value})
        for f in findings:
            rule = rules.get(f.rule_id)
            title = rule.title if rule is not None else f.rule_id
            _testcase(suite, f, title, rule)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
