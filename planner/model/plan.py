"""Required resources, changes and the plan document (``schemas/plan.schema.json``).

A plan is inert, documented data: the human renderers read the same document that ``plan
--format json`` prints, and apply executes exactly its ``resource_changes``. Fields marked
"display only" must never drive an apply decision.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from planner.model.base import Frozen
from planner.model.state import Ace
from planner.references import Confidence

PLAN_FORMAT_VERSION = "1.0"

Action = Literal["create", "update", "delete", "no-op", "manual", "read"]
"""Terraform's vocabulary plus ``manual`` (a person must act: adprep, buying licences, the
Connect wizard) and ``read`` (cannot be verified remotely: the observation is unknown)."""

Provider = Literal["ad", "tenant", "connect"]

ACTION_SYMBOLS: dict[str, str] = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "no-op": " ",
    "manual": "!",
    "read": "?",
}

ActionReason = Literal[
    "missing_object",
    "missing_ace",
    "attribute_drift",
    "wrong_object_class",
    "feature_disabled",
    "feature_enabled",
    "setting_absent",
    "setting_drift",
    "licence_missing",
    "schema_too_old",
    "exchange_schema_missing",
    "connector_missing",
    "group_missing",
    "missing_membership",
    "denied_by_ace",
    "inheritance_blocked",
    "duplicate_object",
    "sync_stale",
    "connect_too_old",
    "remove_preparation",
    "unverifiable",
    "not_observed",
    "satisfied",
]


class AceSpec(Frozen):
    """An ACE wbplan would add (trustee filled in from the observed connector SID)."""

    qualifier: Literal["allow", "deny"] = "allow"
    mask: int
    flags: int
    object_type: str | None = None
    inherited_object_type: str | None = None
    object_type_name: str | None = None
    """Display only: the lDAPDisplayName / right name of ``object_type``."""
    inherited_object_type_name: str | None = None
    """Display only."""

    def with_trustee(self, sid: str) -> Ace:
        """The concrete ACE for ``sid``."""
        return Ace(
            qualifier=self.qualifier,
            trustee=sid,
            mask=self.mask,
            flags=self.flags,
            object_type=self.object_type,
            inherited_object_type=self.inherited_object_type,
        )


class RightSpec(Frozen):
    """A right the connector must effectively hold, and where."""

    name: str
    mask: int
    object_type: str | None = None
    applies_to: Literal["object", "descendants"] = "descendants"
    """``object``: on the target itself; ``descendants``: on children of ``target_class``."""
    target_class: str | None = None
    """Class GUID of the descendants (None with applies_to=object)."""
    property_sets: tuple[str, ...] = ()
    """Property sets holding ``object_type`` (from the schema's attributeSecurityGUID): an ACE
    on the set decides the property."""


class Resource(Frozen):
    """One thing the policy requires, addressed by a stable natural key."""

    address: str
    """e.g. ``ad.object[CN=RegisteredDevices,DC=contoso,DC=com]``, ``tenant.feature[deviceWritebackEnabled]``."""
    type: str
    """``ad.schema``, ``ad.exchange_schema``, ``ad.object``, ``ad.ace``, ``ad.connector``,
    ``ad.group``, ``ad.membership``, ``tenant.licence``, ``tenant.feature``, ``tenant.setting``,
    ``connect.option``, ``tenant.sspr``."""
    provider: Provider
    features: tuple[str, ...]
    """Which writeback features asked for it (password, device, group, …)."""
    why: str
    """Why the policy needs it, in plain words (the sources are in ``references``)."""
    references: tuple[str, ...] = ()
    """Ids of the public sources that state it (``planner/references.py``, ``docs/references.md``)."""
    confidence: Confidence = "documented"
    """``documented`` by a cited primary source, ``observed`` by wbplan (not documented by
    Microsoft), or ``inferred``; ``confidence_note`` says how when it is not documented."""
    confidence_note: str | None = None
    manageable: bool
    """Can wbplan create or change it (False: report only / manual)."""
    depends_on: tuple[str, ...] = ()
    desired: dict[str, Any] = {}
    """Desired attributes: object class + attributes, feature value, setting value, …"""
    dn: str | None = None
    """The AD object the resource lives on (ad.* types)."""
    ace: AceSpec | None = None
    """For ad.ace: the ACE wbplan adds when the right is missing."""
    rights: tuple[RightSpec, ...] = ()
    """For ad.ace: the effective rights that satisfy the requirement."""
    instructions: str | None = None
    """For resources a person handles: what to do (shown with ``manual`` and ``read``)."""
    destroy: bool = False
    """True when the policy asks to remove what wbplan granted (remove_preparation)."""


class BlastRadius(Frozen):
    """What a change will destroy indirectly (e.g. groups deleted by the next sync cycle)."""

    description: str
    count: int
    first: tuple[str, ...] = ()


class ChangeDetail(Frozen):
    """``before`` → ``after`` for a change (attribute-level, from deepdiff)."""

    actions: tuple[Action, ...]
    before: Any = None
    after: Any = None
    attribute_changes: tuple[str, ...] = ()
    """Display only: deepdiff's human paths (``root['msDS-DeviceLocation']``) that differ."""


class ResourceChange(Frozen):
    """One planned change (Terraform ``resource_changes[]``)."""

    address: str
    type: str
    provider: Provider
    features: tuple[str, ...]
    action_reason: ActionReason
    change: ChangeDetail
    depends_on: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    """Addresses of unmet manual prerequisites this change waits for."""
    why: str
    references: tuple[str, ...] = ()
    """The resource's source ids (display only: renderers print their titles and addresses)."""
    confidence: Confidence = "documented"
    """The resource's confidence (display only)."""
    confidence_note: str | None = None
    instructions: str | None = None
    dn: str | None = None
    ace: AceSpec | None = None
    blast_radius: BlastRadius | None = None
    level: int = 0
    """Depth in the DAG (0 = no dependencies): changes of one level are independent."""


class Lineage(Frozen):
    """What the plan was computed against; apply refuses a plan for another forest/tenant."""

    forest: str
    forest_guid: str | None = None
    tenant_id: str


class Summary(Frozen):
    """Counts for ``Plan: X to add, Y to change, Z to destroy, M manual.``"""

    add: int = 0
    change: int = 0
    destroy: int = 0
    manual: int = 0
    read: int = 0
    no_op: int = Field(0, alias="no-op")
    deferred: int = 0


class Plan(Frozen):
    """The plan document."""

    format_version: str = PLAN_FORMAT_VERSION
    """Bumped for any change a consumer's parser must know about."""
    wbplan_version: str
    timestamp: str
    policy_name: str
    policy_file: str
    policy_digest: str
    """sha256 of the policy file bytes."""
    state_source: str
    """``live`` or the snapshot path the plan was computed from (display only)."""
    lineage: Lineage
    observed: dict[str, str]
    """Observation address → fingerprint (sha256 of the canonical observed value, with
    uSNChanged for AD objects). Apply re-reads these and refuses the plan if any differs."""
    resource_changes: tuple[ResourceChange, ...]
    """Every required resource in dependency order, no-ops included."""
    deferred_changes: tuple[ResourceChange, ...] = ()
    """Changes that wait on a manual prerequisite (their ``blocked_by`` says which)."""
    summary: Summary
    applyable: bool
    """True when apply has at least one create/update/delete to execute."""
    complete: bool
    """True when nothing is deferred and everything was observed: applying converges to the
    policy. False when a manual step blocks changes or a prerequisite could not be read."""
    errored: bool = False
    destructive: bool = False
    """True when any change deletes something, directly or through its blast radius."""
    principals: dict[str, str] = {}
    """Display only: SID → ``DOMAIN\\name`` (or a well-known name) of every trustee the plan's
    ACEs name, as observed, so renderers show names first and SIDs beside them."""
