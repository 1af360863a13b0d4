"""Does the tenant hold Entra ID P1 (or P2)? A pure decision over observed ``subscribedSkus``.

The rule (domain.md §2.1): a SKU counts when it contains the required **service plan**
(``AAD_PREMIUM`` 41781fb2-…, or ``AAD_PREMIUM_P2`` eec0eb4f-… which also satisfies P1) with
``provisioningStatus`` Success, its ``capabilityStatus`` is Enabled or Warning, and it has
``prepaidUnits.enabled + warning > 0``. The SKU id or part number alone never decides: bundles
(Microsoft 365 E3/E5, EMS…) carry the plan under other SKU ids, and a SKU can be listed yet
suspended. Every candidate that did not count is reported with the reasons, so a person can see
*why* "we bought P1" is not enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planner.model.state import SubscribedSku

AAD_PREMIUM = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
AAD_PREMIUM_P2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
ENTRA_ID_GOVERNANCE = "e866a266-3cff-43a3-acca-0c90a7e00c8b"
"""Service plan ``Entra_Identity_Governance`` of the Microsoft Entra ID Governance SKU
(``Microsoft_Entra_ID_Governance``): Cloud Sync's third to twentieth provisioning-to-AD
configurations need it (cloud-sync.md §2.1). UNCONFIRMED by a Microsoft source read here
(cloud-sync.md §8 item 14): the name and id come from public third-party licence tables that
agree with each other."""

RequiredPlan = Literal["AAD_PREMIUM", "AAD_PREMIUM_P2", "Entra_Identity_Governance"]

# Which service-plan ids satisfy each requirement: P2 includes P1 (domain.md §2.1 [S34]).
SATISFYING_PLANS: dict[RequiredPlan, dict[str, str]] = {
    "AAD_PREMIUM": {AAD_PREMIUM: "AAD_PREMIUM", AAD_PREMIUM_P2: "AAD_PREMIUM_P2"},
    "AAD_PREMIUM_P2": {AAD_PREMIUM_P2: "AAD_PREMIUM_P2"},
    "Entra_Identity_Governance": {ENTRA_ID_GOVERNANCE: "Entra_Identity_Governance"},
}
USABLE_CAPABILITY = ("Enabled", "Warning")


@dataclass(frozen=True)
class SkuAssessment:
    """One SKU that carries a satisfying service plan, and whether it counts."""

    sku_part_number: str
    sku_id: str
    capability_status: str
    service_plan: str
    """The satisfying plan found in it (``AAD_PREMIUM`` or ``AAD_PREMIUM_P2``)."""
    available_units: int
    """``prepaidUnits.enabled + prepaidUnits.warning``."""
    consumed_units: int
    counts: bool
    reasons: tuple[str, ...] = ()
    """Why it does not count (empty when it counts); notes such as a grace period otherwise."""


@dataclass(frozen=True)
class LicenceVerdict:
    """The decision for one required plan."""

    required_plan: RequiredPlan
    satisfied: bool
    counted: tuple[SkuAssessment, ...]
    """SKUs that satisfy the requirement."""
    rejected: tuple[SkuAssessment, ...]
    """SKUs that carry a satisfying plan but do not count, with reasons."""
    available_units: int
    """Sum over ``counted`` of enabled + warning prepaid units."""
    consumed_units: int
    """Sum over ``counted`` of consumed units."""

    @property
    def summary(self) -> str:
        """One sentence for plans and reports."""
        if self.satisfied:
            skus = ", ".join(a.sku_part_number for a in self.counted)
            text = (
                f"{self.required_plan} held via {skus}: "
                f"{self.consumed_units} of {self.available_units} units consumed"
            )
            notes = [r for a in self.counted for r in a.reasons]
            return text + (f" ({'; '.join(notes)})" if notes else "")
        if not self.rejected:
            return f"no subscribed SKU contains the {self.required_plan} service plan"
        why = "; ".join(f"{a.sku_part_number}: {', '.join(a.reasons)}" for a in self.rejected)
        return f"{self.required_plan} is listed but not usable — {why}"


def licence_status(skus: tuple[SubscribedSku, ...], required_plan: RequiredPlan) -> LicenceVerdict:
    """Decide whether ``skus`` provide ``required_plan`` (see the module docstring)."""
    wanted = SATISFYING_PLANS[required_plan]
    counted: list[SkuAssessment] = []
    rejected: list[SkuAssessment] = []
    for sku in skus:
        assessment = _assess(sku, wanted)
        if assessment is None:
            continue
        (counted if assessment.counts else rejected).append(assessment)
    return LicenceVerdict(
        required_plan=required_plan,
        satisfied=bool(counted),
        counted=tuple(counted),
        rejected=tuple(rejected),
        available_units=sum(a.available_units for a in counted),
        consumed_units=sum(a.consumed_units for a in counted),
    )


def _assess(sku: SubscribedSku, wanted: dict[str, str]) -> SkuAssessment | None:
    plans = [p for p in sku.service_plans if p.service_plan_id.lower() in wanted]
    if not plans:
        return None
    # Prefer a plan that is provisioned: a SKU listing P1 (Disabled) and P2 (Success) counts.
    plans.sort(key=lambda p: p.provisioning_status != "Success")
    plan = plans[0]
    available = sku.prepaid_units.enabled + sku.prepaid_units.warning
    reasons: list[str] = []
    if sku.capability_status not in USABLE_CAPABILITY:
        reasons.append(f"capabilityStatus is {sku.capability_status} (needs Enabled or Warning)")
    if plan.provisioning_status != "Success":
        reasons.append(
            f"service plan {wanted[plan.service_plan_id.lower()]} provisioningStatus is "
            f"{plan.provisioning_status} (needs Success)"
        )
    if available <= 0:
        reasons.append(
            "no enabled or warning prepaid units"
            + (f" ({sku.prepaid_units.suspended} suspended)" if sku.prepaid_units.suspended else "")
        )
    counts = not reasons
    if counts and sku.capability_status == "Warning":
        reasons.append("subscription expired and in its grace period (capabilityStatus Warning)")
    if counts and sku.consumed_units > available:
        reasons.append(f"{sku.consumed_units} units consumed but only {available} available")
    return SkuAssessment(
        sku_part_number=sku.sku_part_number,
        sku_id=sku.sku_id,
        capability_status=sku.capability_status,
        service_plan=wanted[plan.service_plan_id.lower()],
        available_units=available,
        consumed_units=sku.consumed_units,
        counts=counts,
        reasons=tuple(reasons),
    )
