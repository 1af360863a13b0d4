"""The report as SARIF 2.1.0, the format GitHub code scanning (and Azure DevOps' SARIF viewer)
ingests.

- ``tool.driver.rules``: the whole catalogue, each with its title (``shortDescription``),
  rationale (``fullDescription``), ``help`` (rationale, remediation, references; text and
  Markdown), ``defaultConfiguration.level`` (SHALL → ``error``, SHOULD → ``warning``) and tags.
- ``results``: one per finding that is not a pass — ``fail`` at its rule's level; ``waived`` at
  that level too, with a ``suppressions`` entry (kind ``external``: the waiver lives in the
  policy, not in a source comment) whose justification is the waiver's reason, approver and
  expiry; ``unknown`` at level ``note`` (a person must look; the message says where). Findings
  that pass carry no result (SARIF results are problems).
- A finding with status ``error`` is not a result about the forest but a failure of wbplan: it is
  an ``invocations[0].toolExecutionNotifications`` entry and ``executionSuccessful`` is false.
- Every result is located on the policy file line declaring the feature
  (``Report.policy_lines``), relative to ``%SRCROOT%`` (the checkout root), so code scanning
  annotates the policy in a pull request. The DN or tenant path is a logical location.
- ``partialFingerprints`` is a hash of rule id and address, so an alert keeps its identity when
  the policy file's lines move.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import PurePath, PurePosixPath
from typing import Any
from urllib.parse import quote

from planner.model.report import Criticality, Finding, Report, RuleInfo
from planner.render.report_common import feature_title, waiver_text

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://wbplan.dev/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "wbplanFinding/v1"
LEVELS: dict[Criticality, str] = {"SHALL": "error", "SHOULD": "warning"}


def fingerprint(rule_id: str, address: str) -> str:
    """Stable identity of a finding across runs: sha256 of rule id and address."""
    return hashlib.sha256(f"{rule_id}\x00{address}".encode()).hexdigest()


def _name(title: str) -> str:
    """A rule's ``name``: its title in PascalCase (SARIF wants an identifier-like name)."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)


def _help(rule: RuleInfo) -> dict[str, str]:
    refs = ", ".join(rule.references)
    modes = ", ".join(rule.failure_modes)
    text = [rule.rationale, "", f"Remediation: {rule.remediation}"]
    markdown = [rule.rationale, "", "**Remediation:** " + rule.remediation]
    if refs:
        text.append(f"References (wbplan domain notes): {refs}")
        markdown.append(f"**References** (wbplan domain notes): {refs}")
    if modes:
        text.append(f"Failure modes: {modes}")
        markdown.append(f"**Failure modes:** {modes}")
    return {"text": "\n".join(text), "markdown": "\n\n".join(m for m in markdown if m)}


def _rule(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": _name(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": _help(rule),
        "defaultConfiguration": {"level": LEVELS[rule.criticality]},
        "properties": {
            "tags": ["wbplan", "entra-connect-writeback", rule.feature, rule.criticality],
            "criticality": rule.criticality,
            "feature": rule.feature,
            "featureTitle": feature_title(rule.feature),
            "failureModes": list(rule.failure_modes),
            "references": list(rule.references),
        },
    }


def _artifact_location(policy_file: str) -> dict[str, str]:
    path = PurePath(policy_file)
    if path.is_absolute():  # outside the checkout (the bundled example): a plain file URI
        return {"uri": PurePosixPath(path.as_posix()).as_uri()}
    return {"uri": quote(path.as_posix()), "uriBaseId": SRCROOT}


def _message(f: Finding) -> str:
    text = f.message if f.address in f.message else f"{f.message} ({f.address})"
    if f.status == "unknown":
        text = f"Cannot be verified by wbplan: {text}"
        if f.verify_at:
            text += f". Verify at: {f.verify_at}"
    return text


def _result(f: Finding, index: int, report: Report) -> dict[str, Any]:
    level = "note" if f.status == "unknown" else LEVELS[f.criticality]
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact_location(report.policy_file),
                    "region": {"startLine": report.policy_lines.get(f.feature, 1)},
                },
                "logicalLocations": [{"fullyQualifiedName": f.address, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f.rule_id, f.address)},
        "properties": {
            "status": f.status,
            "criticality": f.criticality,
            "feature": f.feature,
            "address": f.address,
            "evidence": f.evidence,
            "remediation": f.remediation,
        },
    }
    if f.status == "waived" and f.waiver is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": waiver_text(f.waiver)}
        ]
    if f.verify_at:
        result["properties"]["verifyAt"] = f.verify_at
    return result


def _notification(f: Finding, index: int) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": f"{f.rule_id} could not be evaluated at {f.address}: {f.message}"},
        "associatedRule": {"id": f.rule_id, "index": index},
    }


def sarif_document(report: Report) -> dict[str, Any]:
    """The SARIF log as plain data."""
    rules = list(report.rules)
    index = {r.id: i for i, r in enumerate(rules)}
    results = [
        _result(f, index[f.rule_id], report)
        for f in report.findings
        if f.status in ("fail", "waived", "unknown")
    ]
    errors = [_notification(f, index[f.rule_id]) for f in report.findings if f.status == "error"]
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = errors
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wbplan",
                        "version": report.wbplan_version,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "automationDetails": {"id": f"wbplan/check/{report.policy_name}/"},
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "policyName": report.policy_name,
                    "policyFile": report.policy_file,
                    "policyDigest": report.policy_digest,
                    "stateSource": report.state_source,
                    "forest": report.forest,
                    "tenantId": report.tenant_id,
                    "failOn": report.fail_on,
                    "compliant": report.compliant,
                    "timestamp": report.timestamp,
                },
            }
        ],
    }


def render_sarif(report: Report) -> str:
    """The SARIF log as indented JSON with a final newline."""
    return json.dumps(sarif_document(report), indent=2, ensure_ascii=False) + "\n"
