"""Reports built by hand for renderer tests that need a case real rule output may not produce:
every status at once, a rule error, markup and quotes in every text field, many findings."""

from __future__ import annotations

from planner.model.report import (
    Finding,
    Report,
    ReportSummary,
    RuleInfo,
    Status,
    WaiverRef,
)

NASTY = "<script>alert('x')</script> & \"quoted\" `tick`"
"""Text that must come out escaped (HTML, XML) or inert (Markdown) in every format."""

RULES = (
    RuleInfo(
        id="WB-GRP-001",
        title="Exchange schema present for group writeback v1",
        criticality="SHALL",
        feature="group",
        rationale="Group writeback v1 writes Exchange attributes.",
        remediation="Run Exchange /PrepareSchema.",
        references=("S17c",),
        failure_modes=("F9",),
    ),
    RuleInfo(
        id="WB-PWD-001",
        title="Connector can reset passwords under each scope root",
        criticality="SHALL",
        feature="password",
        rationale="Password writeback resets passwords as the connector account.",
        remediation="Grant Reset Password, write lockoutTime and write pwdLastSet.",
        references=("S1", "S2"),
        failure_modes=("F1",),
    ),
    RuleInfo(
        id="WB-PWD-003",
        title="Protected users (adminCount=1) in scope are listed",
        criticality="SHOULD",
        feature="password",
        rationale="AdminSDHolder resets their DACL; writeback fails for them by design.",
        remediation="Accept by waiver, or move the users out of scope.",
    ),
    RuleInfo(
        id="WB-PWD-005",
        title="SSPR on-premises writeback toggle",
        criticality="SHOULD",
        feature="password",
        rationale="No API exposes the toggle.",
        remediation="Switch it on in the portal.",
    ),
    RuleInfo(
        id="WB-TEN-001",
        title="The tenant is directory-synced and the last sync is recent",
        criticality="SHALL",
        feature="tenant",
        rationale="Every writeback feature runs through Entra Connect.",
        remediation="Check the Entra Connect server.",
    ),
)

WAIVER = WaiverRef(
    rule="WB-PWD-003",
    scope="OU=Admins,OU=Staff,DC=contoso,DC=test",
    reason="Tier-0 administrators reset passwords on-premises only.",
    approved_by="ciso@contoso.test",
    expires="2099-12-31",
)


def _summary(findings: tuple[Finding, ...]) -> ReportSummary:
    def n(status: Status) -> int:
        return sum(1 for f in findings if f.status == status)

    return ReportSummary(
        passed=n("pass"),
        fail=n("fail"),
        unknown=n("unknown"),
        waived=n("waived"),
        error=n("error"),
        shall_failed=sum(1 for f in findings if f.status == "fail" and f.criticality == "SHALL"),
        should_failed=sum(1 for f in findings if f.status == "fail" and f.criticality == "SHOULD"),
    )


def report_of(
    findings: tuple[Finding, ...],
    *,
    compliant: bool,
    fail_on: str = "shall",
    policy_name: str = "contoso-test",
) -> Report:
    """A report over :data:`RULES` with the given findings and counts derived from them."""
    return Report(
        wbplan_version="0.1.0",
        timestamp="2026-11-22T18:00:00Z",
        policy_name=policy_name,
        policy_file="policies/example.yaml",
        policy_digest="sha256:" + "0" * 64,
        state_source="state/example.json",
        observed_at="2026-11-22T17:55:00Z",
        forest="contoso.test",
        tenant_id="7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
        fail_on=fail_on,  # type: ignore[arg-type]
        rules=RULES,
        findings=findings,
        summary=_summary(findings),
        compliant=compliant,
        policy_lines={"password": 20, "group": 27, "tenant": 9, "licence": 17},
    )


def every_status() -> Report:
    """One finding of each status, with markup in the messages."""
    staff = "ad.object[OU=Staff,DC=contoso,DC=test]"
    findings = (
        Finding(
            rule_id="WB-GRP-001",
            criticality="SHALL",
            status="error",
            address="ad.schema[contoso.test]",
            message=f"the rule raised ValueError: {NASTY}",
            feature="group",
            remediation="Run Exchange /PrepareSchema.",
        ),
        Finding(
            rule_id="WB-PWD-001",
            criticality="SHALL",
            status="fail",
            address=staff,
            message=f"the connector lacks Reset Password {NASTY}",
            feature="password",
            evidence={"missing": ["reset-password"], "note": NASTY},
            remediation="Grant Reset Password, write lockoutTime and write pwdLastSet.",
        ),
        Finding(
            rule_id="WB-PWD-003",
            criticality="SHOULD",
            status="waived",
            address="ad.object[OU=Admins,OU=Staff,DC=contoso,DC=test]",
            message="2 protected users in scope",
            feature="password",
            evidence={"users": ["CN=adm1,OU=Admins,OU=Staff,DC=contoso,DC=test"]},
            remediation="Accept by waiver, or move the users out of scope.",
            waiver=WAIVER,
        ),
        Finding(
            rule_id="WB-PWD-005",
            criticality="SHOULD",
            status="unknown",
            address="tenant.feature[sspr-onprem-writeback]",
            message="no API exposes the SSPR on-premises writeback toggle",
            feature="password",
            verify_at="Entra admin center > Protection > Password reset > On-premises integration",
        ),
        Finding(
            rule_id="WB-TEN-001",
            criticality="SHALL",
            status="pass",
            address="tenant.organization[7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b]",
            message="synced 0.5 hours before the observation",
            feature="tenant",
            evidence={"age_hours": 0.5},
        ),
    )
    return report_of(findings, compliant=False)


def many_findings(n: int) -> Report:
    """``n`` failing findings of one rule (for truncation)."""
    findings = tuple(
        Finding(
            rule_id="WB-PWD-001",
            criticality="SHALL",
            status="fail",
            address=f"ad.object[OU=Dept{i:04d},OU=Staff,DC=contoso,DC=test]",
            message="the connector lacks Reset Password on descendant users",
            feature="password",
            evidence={"missing": ["reset-password", "write-lockoutTime", "write-pwdLastSet"]},
            remediation="Grant Reset Password, write lockoutTime and write pwdLastSet.",
        )
        for i in range(n)
    )
    return report_of(findings, compliant=False)
