"""Shared vocabulary of the requirement modules: schema levels, ACE flags, address builders, and the context every feature module expands against.

GUIDs are resolved from the observed schema when it was read (domain.md §0.1: "resolve GUIDs at
run time and only use the tables to cross-check"); ``planner.model.guids`` holds the cross-check and
fallback values; access-mask bits live in ``planner.rights``.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.dn import configuration_nc, domain_dn
from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS, EXTENDED_RIGHTS
from planner.model.plan import AceSpec, Resource, RightSpec
from planner.model.policy import Policy
from planner.model.state import CONTAINER_INHERIT_ACE, INHERIT_ONLY_ACE, ObservedState
from planner.references import Confidence

CI = CONTAINER_INHERIT_ACE
CI_IO = CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE

SCHEMA_2012R2 = 69
SCHEMA_2016 = 87
EXCHANGE_MIN_RANGE_UPPER = 15312
DEVICE_CLASSES = (
    "msDS-Device",
    "msDS-DeviceContainer",
    "msDS-DeviceRegistrationService",
    "msDS-DeviceRegistrationServiceContainer",
)


def ad_object(dn: str) -> str:
    """Address of an AD object."""
    return f"ad.object[{dn}]"


def ad_ace(dn: str, purpose: str, name: str) -> str:
    """Address of an ACE requirement on ``dn``."""
    return f"ad.ace[{dn}/{purpose}/{name}]"


@dataclass(frozen=True)
class Context:
    """What every feature module expands against."""

    policy: Policy
    state: ObservedState | None

    @property
    def forest(self) -> str:
        """Forest root DNS name, lower-case."""
        return self.policy.forest.lower()

    @property
    def config_nc(self) -> str:
        """Configuration NC (observed when available)."""
        if self.state and self.state.ad:
            return self.state.ad.root_dse.configuration_naming_context
        return configuration_nc(self.forest)

    @property
    def domain_roots(self) -> tuple[str, ...]:
        """DNs of every domain of the forest (observed), else the forest root domain."""
        if self.state and self.state.ad and self.state.ad.domains:
            return tuple(d.dn for d in self.state.ad.domains)
        return (domain_dn(self.forest),)

    @property
    def schema_address(self) -> str:
        """Address of the forest schema gate."""
        return f"ad.schema[{self.forest}]"

    @property
    def exchange_schema_address(self) -> str:
        """Address of the Exchange schema gate."""
        return f"ad.exchange_schema[{self.forest}]"

    @property
    def connector_address(self) -> str:
        """Address of the connector account."""
        return f"ad.connector[{self.policy.connector_account}]"

    def licence_addresses(self) -> tuple[str, ...]:
        """Addresses of the licence resources every tenant feature depends on."""
        return tuple(f"tenant.licence[{name}]" for name in self.policy.licences.require)

    def class_guid(self, name: str) -> str:
        """schemaIDGUID of a class: observed first, domain.md constant otherwise."""
        observed = (
            self.state.ad.schema_info.classes.get(name) if self.state and self.state.ad else None
        )
        return observed or CLASS_GUIDS[name]

    def attribute_guid(self, name: str) -> str:
        """schemaIDGUID of an attribute: observed first, constant otherwise."""
        observed = (
            self.state.ad.schema_info.attributes.get(name) if self.state and self.state.ad else None
        )
        return observed or ATTRIBUTE_GUIDS[name]

    def right_guid(self, name: str) -> str:
        """rightsGuid of an extended right: observed first, constant otherwise."""
        observed = (
            self.state.ad.schema_info.extended_rights.get(name)
            if self.state and self.state.ad
            else None
        )
        return observed or EXTENDED_RIGHTS[name]


def connector_resource(ctx: Context) -> Resource:
    """The connector account must exist: every ACE is granted to its SID."""
    return Resource(
        address=ctx.connector_address,
        type="ad.connector",
        provider="ad",
        features=(),
        why="ACEs are granted to the AD DS connector account, which cannot be discovered from Graph",
        references=("S1",),
        manageable=False,
        desired={"exists": True},
        instructions=(
            f"Create or name the correct AD DS connector account ({ctx.policy.connector_account}); on the Connect "
            "server Get-ADSyncADConnectorAccount shows the one in use"
        ),
    )


def ace_resource(
    ctx: Context,
    *,
    dn: str,
    purpose: str,
    name: str,
    feature: str,
    why: str,
    references: tuple[str, ...],
    ace: AceSpec,
    rights: tuple[RightSpec, ...],
    depends_on: tuple[str, ...],
    destroy: bool = False,
    desired: dict[str, object] | None = None,
    confidence: Confidence = "documented",
    confidence_note: str | None = None,
    principal_address: str | None = None,
) -> Resource:
    """An ACE requirement: satisfied by effective rights, fixed by adding ``ace``. ``references``
    are the ids of the public sources stating it (``planner/references.py``). It comes after
    the principal it is granted to: ``principal_address`` (default: the connector account)."""
    return Resource(
        address=ad_ace(dn, purpose, name),
        type="ad.ace",
        provider="ad",
        features=(feature,),
        why=why,
        references=references,
        confidence=confidence,
        confidence_note=confidence_note,
        manageable=True,
        depends_on=(principal_address or ctx.connector_address, *depends_on),
        dn=dn,
        ace=ace,
        rights=rights,
        destroy=destroy,
        desired=desired or {},
    )
