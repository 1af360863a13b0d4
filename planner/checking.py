"""``wbplan check`` without the CLI: evaluate every applicable rule of the catalogue over an
``ObservedState``, apply the policy's waivers, and build the :class:`Report` every format renders.

Pure apart from the rules themselves: the caller passes the observations, the timestamp and
today's date. A rule that raises becomes one ``error`` finding (never a pass, never a crash of
the whole report); a failure an unexpired waiver covers becomes ``waived`` and carries the
waiver. Rules whose feature the policy does not declare produce no finding and are listed in
``Report.not_applicable``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from planner import __version__
from planner.model.policy import Policy, Waiver
from planner.model.report import Finding, Report, ReportSummary, RuleInfo, WaiverRef
from planner.model.state import ObservedState
from planner.planning import check_lineage
from planner.policy.semantics import scope_covers
from planner.rules.base import REGISTRY, Result, Rule
from planner.rules.context import RuleContext

UNWAIVABLE_PREFIX = "WB-WVR-"
"""Rules about waivers themselves cannot be waived (an expired waiver cannot excuse itself)."""


def catalogue() -> tuple[RuleInfo, ...]:
    """Every rule, sorted by id."""
    import planner.rules  # noqa: F401  (registers the rules)

    return tuple(REGISTRY[k].info for k in sorted(REGISTRY))


def _rules() -> list[Rule]:
    import planner.rules  # noqa: F401

    return [REGISTRY[k] for k in sorted(REGISTRY)]


def active_waiver(
    waivers: tuple[Waiver, ...], rule_id: str, address: str, today: dt.date
) -> Waiver | None:
    """The first unexpired waiver for ``rule_id`` whose scope covers ``address``."""
    if rule_id.startswith(UNWAIVABLE_PREFIX):
        return None
    for w in waivers:
        if w.rule == rule_id and w.expires >= today and scope_covers(w.scope, address):
            return w
    return None


def waiver_ref(w: Waiver) -> WaiverRef:
    """The report's view of a policy waiver."""
    return WaiverRef(
        rule=w.rule,
        scope=w.scope,
        reason=w.reason,
        approved_by=w.approved_by,
        expires=w.expires.isoformat(),
    )


def _finding(info: RuleInfo, result: Result, policy: Policy, today: dt.date) -> Finding:
    status = result.status
    waiver = None
    if status == "fail":
        found = active_waiver(policy.waivers, info.id, result.address, today)
        if found is not None:
            waiver = waiver_ref(found)
    return Finding(
        rule_id=info.id,
        criticality=info.criticality,
        status="waived" if waiver is not None else status,
        address=result.address,
        message=result.message if waiver is None else f"{result.message} (waived: {waiver.reason})",
        feature=info.feature,
        evidence=result.evidence,
        remediation=info.remediation if status != "pass" else "",
        fixed_by=result.fixed_by if status == "fail" else (),
        verify_at=result.verify_at,
        waiver=waiver,
    )


def _error(info: RuleInfo, exc: Exception) -> Finding:
    return Finding(
        rule_id=info.id,
        criticality=info.criticality,
        status="error",
        address=f"wbplan.rule[{info.id}]",
        message=f"the rule could not be evaluated: {type(exc).__name__}: {exc}",
        feature=info.feature,
        evidence={"exception": type(exc).__name__},
        remediation="This is a wbplan bug or unexpected data: rerun with --debug and report it; "
        "the rule's verdict is unknown until then.",
    )


def evaluate(
    policy: Policy, state: ObservedState, today: dt.date
) -> tuple[list[Finding], list[str]]:
    """Findings of every applicable rule (sorted by rule id, then address) and the ids of the
    rules that were not applicable."""
    ctx: RuleContext | None = None
    ctx_error: Exception | None = None
    try:
        ctx = RuleContext(policy, state, today)
    except Exception as exc:  # requirements failing must not hide the report
        ctx_error = exc
    findings: list[Finding] = []
    not_applicable: list[str] = []
    for r in _rules():
        if not r.applies(policy):
            not_applicable.append(r.info.id)
            continue
        try:
            if ctx is None:
                assert ctx_error is not None
                raise ctx_error
            results = list(r.check(ctx))
        except Exception as exc:  # isolate each rule: an error is never a pass
            findings.append(_error(r.info, exc))
            continue
        findings.extend(_finding(r.info, res, policy, today) for res in results)
    findings.sort(key=lambda f: (f.rule_id, f.address.lower()))
    return findings, not_applicable


def summarise(
    findings: list[Finding], fail_on: Literal["shall", "should"]
) -> tuple[ReportSummary, bool]:
    """Counts, and whether the report is compliant."""
    counts = {"pass": 0, "fail": 0, "unknown": 0, "waived": 0, "error": 0}
    shall = should = 0
    for f in findings:
        counts[f.status] += 1
        if f.status == "fail":
            if f.criticality == "SHALL":
                shall += 1
            else:
                should += 1
    summary = ReportSummary.model_validate(
        {**counts, "shall_failed": shall, "should_failed": should}
    )
    failing = shall + (should if fail_on == "should" else 0)
    return summary, failing == 0 and counts["error"] == 0


def make_report(
    policy: Policy,
    state: ObservedState,
    *,
    policy_file: str,
    policy_digest: str,
    state_source: str,
    timestamp: str,
    today: dt.date,
    fail_on: Literal["shall", "should"] = "shall",
) -> Report:
    """The compliance report for ``policy`` against ``state`` (``policy_lines`` left empty: the
    check command fills it from the policy file's marks)."""
    check_lineage(policy, state)
    findings, not_applicable = evaluate(policy, state, today)
    summary, compliant = summarise(findings, fail_on)
    return Report(
        wbplan_version=__version__,
        timestamp=timestamp,
        policy_name=policy.metadata.name,
        policy_file=policy_file,
        policy_digest=policy_digest,
        state_source=state_source,
        observed_at=state.observed_at,
        forest=policy.forest.lower(),
        tenant_id=(state.tenant.tenant_id if state.tenant else policy.tenant.id).lower(),
        fail_on=fail_on,
        rules=catalogue(),
        findings=tuple(findings),
        summary=summary,
        compliant=compliant,
        not_applicable=tuple(not_applicable),
    )
