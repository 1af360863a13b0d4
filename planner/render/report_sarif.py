"""The report as SARIF 2.1.0, the format GitHub code scanning (and Azure DevOps' SARIF viewer)
ingests.

- ``tool.driver.rules``: the whole catalogue, each with its title (``shortDescription``),
  rationale (``fullDescription``), ``help`` (rationale, remediation, the public sources with
  titles and addresses from ``planner/references.py``, the confidence when not documented; text
  and Markdown), ``helpUri`` (the first source's address), ``defaultConfiguration.level``
  (SHALL → ``error``, SHOULD → ``warning``) and tags.
  No ``informationUri``: wbplan has no public home page (``pyproject.toml`` declares no
  ``[project.urls]``), and a link that points nowhere is worse than none.
- ``results``: one per finding that is not a pass — ``fail`` at its rule's level; ``unknown`` at
  level ``note`` (a person must look; the message says where). Findings that pass carry no result
  (SARIF results are problems).
- ``waived`` findings are left out by default (``waived="omit"``, ``wbplan check
  --sarif-waived omit``): GitHub code scanning ignores ``suppressions`` and would show every
  waiver as an open alert (sources in the comment above :func:`fingerprint`). With
  ``waived="include"`` they are results at their rule's level with a ``suppressions`` entry
  (kind ``external``: the waiver lives in the policy, not in a source comment) whose
  justification is the waiver's reason, approver and expiry; every other result of the run then
  carries ``"suppressions": []`` (SARIF 2.1.0: the suppressions of all results of a run are
  either all present or all absent). The run's ``properties`` say which (``waivedResults``).
- A finding with status ``error`` is not a result about the forest but a failure of wbplan: it is
  an ``invocations[0].toolExecutionNotifications`` entry and ``executionSuccessful`` is false.
- Every result is located on the policy file line declaring the feature
  (``Report.policy_lines``). The artifact URI is the policy path relative to the source root
  (the repository's top level, see :func:`artifact_location`) with ``uriBaseId`` ``%SRCROOT%``,
  so code scanning annotates the policy in a pull request; a policy outside the root gets an
  absolute ``file://`` URI and no base id — never ``../``. The DN or tenant path is a logical
  location.
- ``partialFingerprints`` carries ``wbplanFinding/v1`` (sha256 of rule id and address) and
  GitHub's ``primaryLocationLineHash`` (the same hash with a ``:<n>`` occurrence suffix), so an
  alert keeps its identity when the policy file's lines move and each finding is an alert of its
  own even when several share a rule and a policy line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Literal
from urllib.parse import quote

from planner.featurewords import feature_title
from planner.model.report import Criticality, Finding, Report, RuleInfo
from planner.references import confidence_text, first_url, sources
from planner.render.plan_markdown import source_link
from planner.render.report_common import waiver_text

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "wbplanFinding/v1"
LINE_HASH_KEY = "primaryLocationLineHash"
LEVELS: dict[Criticality, str] = {"SHALL": "error", "SHOULD": "warning"}

WaivedMode = Literal["include", "omit"]
WAIVED_MODES: tuple[WaivedMode, ...] = ("omit", "include")

# What GitHub code scanning does with an uploaded SARIF log (checked against GitHub's material):
#
# - Alerts are matched across runs by `partialFingerprints`: GitHub's "SARIF support for code
#   scanning" (docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/
#   sarif-support-for-code-scanning, "Providing data to track code scanning alerts across runs")
#   says `primaryLocationLineHash` "is used as a stable intra-file location, which is combined
#   with the repository, file path, and rule data". When a result has none, the upload-sarif
#   action fills it in from the text of the result's start line (github/codeql-action,
#   src/fingerprints.ts: a rolling hash over the line's first 100 non-blank characters, written
#   `<hex>:<n>`, `n` counting equal hashes), so every finding of one rule on one policy line
#   would get the same value and collapse into one alert. wbplan writes its own
#   `<sha256 of rule id and address>:<n>`; the action keeps a value that is present (it only
#   logs "found existing inconsistent fingerprint value" and does not overwrite it).
# - `suppressions` are not honoured: a suppressed result is uploaded as an open alert
#   (github/codeql-action issue #1230, "upload-sarif@v2 Doesn't support `suppressions` property
#   in Sarif files"; the maintainers in 2024: "This feature has not been prioritized"). Hence
#   waived findings are left out unless `waived="include"` (`--sarif-waived include`).


def fingerprint(rule_id: str, address: str) -> str:
    """Stable identity of a finding across runs: sha256 of rule id and address."""
    return hashlib.sha256(f"{rule_id}\x00{address}".encode()).hexdigest()


def line_hash(rule_id: str, address: str, occurrence: int = 1) -> str:
    """``partialFingerprints.primaryLocationLineHash`` of a finding: :func:`fingerprint` with
    GitHub's ``:<n>`` suffix (``n`` > 1 only if one rule reports one address twice), so no two
    results of a run share it (see the comment above :func:`fingerprint`)."""
    return f"{fingerprint(rule_id, address)}:{occurrence}"


def _name(title: str) -> str:
    """A rule's ``name``: its title in PascalCase (SARIF wants an identifier-like name)."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)


def _help(rule: RuleInfo) -> dict[str, str]:
    """Rationale, remediation and the public sources (title and address, from the reference
    catalogue), with the confidence when the rule is not documented."""
    cited = sources(rule.references)
    confidence = confidence_text(rule.confidence, rule.confidence_note)
    text = [rule.rationale, "", f"Remediation: {rule.remediation}"]
    markdown = [rule.rationale, "", "**Remediation:** " + rule.remediation]
    if cited:
        text += ["References:", *(f"- {s.line()}" for s in cited)]
        markdown.append("**References:**\n\n" + "\n".join(f"- {source_link(s)}" for s in cited))
    if confidence:
        text.append(f"Confidence: {confidence}")
        markdown.append(f"**Confidence:** {confidence}")
    return {"text": "\n".join(text), "markdown": "\n\n".join(m for m in markdown if m)}


def _rule(rule: RuleInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
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
            "references": list(rule.references),
            "confidence": rule.confidence,
        },
    }
    help_uri = first_url(rule.references)
    if help_uri is not None:
        out["helpUri"] = help_uri
    return out


def _relative(policy: Path, root: Path) -> PurePosixPath | None:
    if not policy.is_relative_to(root):
        return None
    rel = PurePosixPath(policy.relative_to(root).as_posix())
    return None if ".." in rel.parts or not rel.parts else rel


def artifact_location(policy: Path, root: Path) -> dict[str, str]:
    """The SARIF ``artifactLocation`` of ``policy`` for a source root ``root`` (both resolved
    against the working directory when relative): the path relative to the root with
    ``uriBaseId`` ``%SRCROOT%``, or, for a policy outside the root, an absolute ``file://`` URI
    without a base id. Never a ``../`` URI: GitHub resolves URIs against the repository root.

    The paths are compared as written (normalised) first, then with symlinks resolved, since
    ``git rev-parse --show-toplevel`` prints the resolved top level."""
    named = Path(os.path.normpath(policy.absolute()))
    real = policy.absolute().parent.resolve() / policy.name
    for p, r in ((named, Path(os.path.normpath(root.absolute()))), (real, root.resolve())):
        rel = _relative(p, r)
        if rel is not None:
            return {"uri": quote(str(rel)), "uriBaseId": SRCROOT}
    return {"uri": real.as_uri()}


def _default_location(policy_file: str) -> dict[str, str]:
    """Without a source root: ``Report.policy_file`` as it is (relative to the working
    directory), or an absolute URI when it is absolute or climbs out with ``..``."""
    path = PurePath(policy_file)
    if path.is_absolute():  # outside the checkout (the bundled example): a plain file URI
        return {"uri": PurePosixPath(path.as_posix()).as_uri()}
    if ".." in path.parts:
        return artifact_location(Path(path), Path.cwd())
    return {"uri": quote(path.as_posix()), "uriBaseId": SRCROOT}


def _message(f: Finding) -> str:
    text = f.message if f.address in f.message else f"{f.message} ({f.address})"
    if f.status == "unknown":
        text = f"Cannot be verified by wbplan: {text}"
        if f.verify_at:
            text += f". Verify at: {f.verify_at}"
    return text


def _result(
    f: Finding, index: int, report: Report, location: dict[str, str], occurrence: int
) -> dict[str, Any]:
    level = "note" if f.status == "unknown" else LEVELS[f.criticality]
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": dict(location),
                    "region": {"startLine": report.policy_lines.get(f.feature, 1)},
                },
                "logicalLocations": [{"fullyQualifiedName": f.address, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {
            FINGERPRINT_KEY: fingerprint(f.rule_id, f.address),
            LINE_HASH_KEY: line_hash(f.rule_id, f.address, occurrence),
        },
        "properties": {
            "status": f.status,
            "criticality": f.criticality,
            "feature": f.feature,
            "address": f.address,
            "evidence": f.evidence,
            "remediation": f.remediation,
        },
    }
    if f.status == "waived":
        suppression = {"kind": "external", "status": "accepted"}
        if f.waiver is not None:
            suppression["justification"] = waiver_text(f.waiver)
        result["suppressions"] = [suppression]
    if f.verify_at:
        result["properties"]["verifyAt"] = f.verify_at
    return result


def _notification(f: Finding, index: int) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": f"{f.rule_id} could not be evaluated at {f.address}: {f.message}"},
        "associatedRule": {"id": f.rule_id, "index": index},
    }


def sarif_document(
    report: Report,
    *,
    waived: WaivedMode = "omit",
    location: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The SARIF log as plain data.

    ``waived``: ``omit`` leaves waived findings out, ``include`` keeps them as suppressed
    results. ``location``: the policy's ``artifactLocation`` (:func:`artifact_location`);
    by default derived from ``report.policy_file``."""
    if waived not in WAIVED_MODES:
        raise ValueError(f"waived must be one of {WAIVED_MODES}, not {waived!r}")
    rules = list(report.rules)
    index = {r.id: i for i, r in enumerate(rules)}
    where = location if location is not None else _default_location(report.policy_file)
    statuses = ("fail", "waived", "unknown") if waived == "include" else ("fail", "unknown")
    seen: dict[tuple[str, str], int] = {}
    results = []
    for f in report.findings:
        if f.status not in statuses:
            continue
        key = (f.rule_id, f.address)
        seen[key] = seen.get(key, 0) + 1
        results.append(_result(f, index[f.rule_id], report, where, seen[key]))
    if any("suppressions" in r for r in results):  # on all results of the run or on none
        for r in results:
            r.setdefault("suppressions", [])
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
                    "waivedFindings": report.summary.waived,
                    "waivedResults": "included" if waived == "include" else "omitted",
                },
            }
        ],
    }


def render_sarif(
    report: Report,
    *,
    waived: WaivedMode = "omit",
    location: dict[str, str] | None = None,
) -> str:
    """The SARIF log (:func:`sarif_document`) as indented JSON with a final newline."""
    doc = sarif_document(report, waived=waived, location=location)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
