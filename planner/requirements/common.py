"""Shared vocabulary of the requirement modules: GUIDs from domain.md, access-mask bits,
address builders, and the context every feature module expands against.

GUIDs are resolved from the observed schema when it was read (domain.md §0.1: "resolve GUIDs at
run time and only use the tables to cross-check"); the constants below are the cross-check and
the fallback for an unobserved forest.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.dn import configuration_nc, domain_dn
from planner.model.plan import AceSpec, Resource, RightSpec
from planner.model.policy import Policy
from planner.model.state import CONTAINER_INHERIT_ACE, INHERIT_ONLY_ACE, ObservedState

# ADS_RIGHTS_ENUM (domain.md §1.6, [S60])
CREATE_CHILD = 0x1
DELETE_CHILD = 0x2
LIST_CHILDREN = 0x4
SELF_WRITE = 0x8
READ_PROP = 0x10
WRITE_PROP = 0x20
DELETE_TREE = 0x40
LIST_OBJECT = 0x80
CONTROL_ACCESS = 0x100
DELETE = 0x10000
READ_CONTROL = 0x20000
# Generic rights as AD expands them for directory objects. The stored form is UNCONFIRMED
# (domain.md §14 item 8): planner.rights normalises both the generic bits and this expansion.
GENERIC_READ_DS = READ_PROP | LIST_CHILDREN | LIST_OBJECT | READ_CONTROL
GENERIC_WRITE_DS = WRITE_PROP | SELF_WRITE | READ_CONTROL

CI = CONTAINER_INHERIT_ACE
CI_IO = CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE

# Schema classes (domain.md §1.2, §1.3)
CLASS_GUIDS: dict[str, str] = {
    "user": "bf967aba-0de6-11d0-a285-00aa003049e2",
    "group": "bf967a9c-0de6-11d0-a285-00aa003049e2",
    "computer": "bf967a86-0de6-11d0-a285-00aa003049e2",
    "inetOrgPerson": "4828cc14-1437-45bc-9b07-ad6f015e5f28",
    "contact": "5cb41ed0-0e4c-11d0-a286-00aa003049e2",
    "organizationalUnit": "bf967aa5-0de6-11d0-a285-00aa003049e2",
    "container": "bf967a8b-0de6-11d0-a285-00aa003049e2",
    "msDS-Device": "5df2b673-6d41-4774-b3e8-d52e8ee9ff99",
    "msDS-DeviceContainer": "7c9e8c58-901b-4ea8-b6ec-4eb9e9fc0e11",
    "msDS-DeviceRegistrationService": "96bc3a1a-e3d2-49d3-af11-7b0df79d67f5",
    "msDS-DeviceRegistrationServiceContainer": "310b55ce-3dcd-4392-a96d-c9e35397c24f",
}
ATTRIBUTE_GUIDS: dict[str, str] = {
    "lockoutTime": "28630ebf-41d5-11d1-a9c1-0000f80367c1",
    "pwdLastSet": "bf967a0a-0de6-11d0-a285-00aa003049e2",
    "msDS-DeviceLocation": "e3fb56c8-5de8-45f5-b1b1-d2b6cd31e762",
    "msDS-KeyCredentialLink": "5b47d60f-6090-40b2-9f37-2a4de88f3063",
}
EXTENDED_RIGHTS: dict[str, str] = {
    "User-Force-Change-Password": "00299570-246d-11d0-a768-00aa006e0529",
    "Unexpire-Password": "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501",
}
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
        return f"ad.connector[{self.policy.connector.account}]"

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
        why="ACEs are granted to the AD DS connector account, which cannot be discovered from Graph (domain.md §0.3)",
        manageable=False,
        desired={"exists": True},
        instructions=(
            f"Create or name the correct AD DS connector account ({ctx.policy.connector.account}); on the Connect "
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
    ace: AceSpec,
    rights: tuple[RightSpec, ...],
    depends_on: tuple[str, ...],
    destroy: bool = False,
) -> Resource:
    """An ACE requirement: satisfied by effective rights, fixed by adding ``ace``."""
    return Resource(
        address=ad_ace(dn, purpose, name),
        type="ad.ace",
        provider="ad",
        features=(feature,),
        why=why,
        manageable=True,
        depends_on=(ctx.connector_address, *depends_on),
        dn=dn,
        ace=ace,
        rights=rights,
        destroy=destroy,
    )
