"""Compliance rules, findings and the report document (``schemas/report.schema.json``).

``wbplan check`` evaluates every rule of the catalogue (``planner/rules/``) over the same
``ObservedState`` the planner reads, and every report format (text, json, junit, sarif,
markdown, html) is rendered from one :class:`Report`, the document ``check --format json``
prints. Nothing here may hold a secret.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from planner.model.base import Frozen
from planner.references import Confidence

REPORT_FORMAT_VERSION = "1.0"

Criticality = Literal["SHALL", "SHOULD"]
"""SHALL: writeback fails or is unsafe without it. SHOULD: recommended (``--fail-on should``)."""

Status = Literal["pass", "fail", "unknown", "waived", "error"]
"""``unknown``: cannot be verified from what wbplan can read (the finding says why and where a
person can verify); ``waived``: a failure an unexpired waiver covers; ``error``: the rule itself
could not be evaluated (a bug or unexpected data), never silently a pass."""

STATUSES: tuple[Status, ...] = ("pass", "fail", "unknown", "waived", "error")

CheckStatus = Literal["pass", "fail", "unknown"]
"""What a rule or a judgement of observations concludes by itself (``waived`` and ``error`` are
the report's: a waiver applied, a rule that raised)."""


class RuleInfo(Frozen):
    """One rule of the catalogue (what ``wbplan rules`` prints)."""

    id: str
    """Stable, never reused: ``WB-<AREA>-<NNN>``, e.g. ``WB-PWD-001``."""
    title: str
    criticality: Criticality
    feature: str
    """Which writeback feature (or ``tenant``, ``licence``, ``policy``) the rule belongs to."""
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()
    """Ids of the public sources the rule rests on (``planner/references.py``; titles and
    addresses in ``docs/references.md``)."""
    confidence: Confidence = "documented"
    """``documented`` (a cited primary source states it), ``observed`` (wbplan's own
    observation, not documented by Microsoft) or ``inferred``."""
    confidence_note: str | None = None
    """In plain words, why the rule is not ``documented`` (None when it is)."""
    failure_modes: tuple[str, ...] = Field(default=(), exclude=True)
    """Internal traceability to the project's failure-mode catalogue; never serialised (users
    get the public references instead)."""


class WaiverRef(Frozen):
    """The waiver that turned a failure into ``waived`` (or that itself expired)."""

    rule: str
    scope: str
    reason: str
    approved_by: str
    expires: str
    """ISO date."""


class Finding(Frozen):
    """One rule's verdict at one address (a rule may emit several: one per scope root, …)."""

    rule_id: str
    criticality: Criticality
    status: Status
    address: str
    """The DN or tenant path the finding is about (plan address vocabulary where one exists)."""
    message: str
    feature: str
    evidence: dict[str, Any] = {}
    """What was observed, as plain JSON (counts, DNs, ACEs, flags)."""
    remediation: str = ""
    verify_at: str | None = None
    """For ``unknown``: where a person can verify by hand."""
    waiver: WaiverRef | None = None
    fixed_by: tuple[str, ...] = ()
    """Plan addresses whose change or manual step fixes this finding, when they are not the
    finding's own address (``wbplan plan`` lists them)."""


class ReportSummary(Frozen):
    """Counts per status, and failures per criticality."""

    passed: int = Field(0, alias="pass")
    fail: int = 0
    unknown: int = 0
    waived: int = 0
    error: int = 0
    shall_failed: int = 0
    should_failed: int = 0


class Report(Frozen):
    """The compliance report document."""

    format_version: str = REPORT_FORMAT_VERSION
    wbplan_version: str
    timestamp: str
    policy_name: str
    policy_file: str
    policy_digest: str
    state_source: str
    """``live`` or the snapshot path."""
    observed_at: str | None = None
    forest: str
    tenant_id: str
    fail_on: Literal["shall", "should"] = "shall"
    rules: tuple[RuleInfo, ...]
    """Every rule evaluated (the catalogue), in id order."""
    findings: tuple[Finding, ...]
    """In rule id order, then address."""
    summary: ReportSummary
    compliant: bool
    """False when a SHALL rule failed (or a SHOULD rule, with ``fail_on: should``), or a rule
    errored. ``waived`` and ``unknown`` do not make a report non-compliant."""
    not_applicable: tuple[str, ...] = ()
    """Ids of catalogue rules that produced no finding because the policy does not declare the
    feature they check (e.g. device rules without ``writeback.device``), in id order."""
    policy_lines: dict[str, int] = {}
    """feature → 1-based line of the policy file that declares it (SARIF result locations)."""
