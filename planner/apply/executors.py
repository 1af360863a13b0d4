"""One executor per change type: do exactly what the plan's change says, and return the images
the journal keeps (see :mod:`planner.apply.journal`).

Each executor reads the before-image *live*, hands it to ``started`` (which writes the journal
before anything is changed), performs the write, and returns the after-image read back from the
DC or Graph. The plan's ``change.after`` / ``change.before`` carry the concrete values: the ACE
with the connector's SID, the object's DN + objectClass + attributes, the drifted attribute
values, the membership, the tenant value.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planner.apply.ldapwrite import SwapConflictError
from planner.errors import GraphError, LdapError, UsageError
from planner.model.dn import dn_key
from planner.model.plan import ResourceChange
from planner.model.state import Ace, ObservedState
from planner.observe.sd import merge_into_descriptor, parse_descriptor, remove_aces

if TYPE_CHECKING:
    from planner.apply.ldapwrite import AdWriter, Swap
    from planner.graphapi.client import GraphClient

Image = dict[str, Any]
Started = Callable[[Image], None]


@dataclass(frozen=True)
class Outcome:
    """What an executor reports: the after-image, a note, and (tenant changes) the precise
    before-image Graph returned, which replaces the one recorded when the step started."""

    after: Image
    note: str | None = None
    before: Image | None = None
    warnings: tuple[str, ...] = ()
    """Things a person must check (a concurrent change that may have been overwritten)."""


@dataclass
class Targets:
    """Where apply writes, and the fresh observation it was checked against."""

    state: ObservedState | None = None
    """None for rollback, which works from the journal alone."""
    ad: AdWriter | None = None
    graph: GraphClient | None = None

    def need_ad(self, address: str) -> AdWriter:
        if self.ad is None:
            raise UsageError(
                f"{address} changes AD but no LDAP connection was given",
                hint="pass --ldap-url (and the bind credentials) to apply",
            )
        return self.ad

    def need_graph(self, address: str) -> GraphClient:
        if self.graph is None:
            raise UsageError(
                f"{address} changes the tenant but no Graph connection was given",
                hint="pass --graph-url or set a Graph credential in the environment",
            )
        return self.graph


def sd_image(data: bytes) -> Image:
    """A security descriptor as the journal keeps it (bytes for rollback, SDDL for people)."""
    return {
        "kind": "security_descriptor",
        "sd_base64": base64.b64encode(data).decode("ascii"),
        "sddl": parse_descriptor(data).sddl,
    }


def sd_bytes(image: Image) -> bytes:
    return base64.b64decode(image["sd_base64"])


def _text(value: Any) -> list[str]:
    values = value if isinstance(value, list | tuple) else [value]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("TRUE" if v else "FALSE")
        else:
            out.append(str(v))
    return out


def text_values(values: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Attribute name → its values as LDAP text (booleans ``TRUE``/``FALSE``)."""
    return {name: _text(value) for name, value in dict(values or {}).items()}


def created_attributes(after: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The attributes a planned ``ad.object`` create adds: exactly the planned ones (``dn`` is
    the entry's name, not an attribute). Apply writes them; rollback compares with them."""
    values = text_values(after)
    values.pop("dn", None)
    return values


def object_attributes(change: ResourceChange) -> dict[str, list[str]]:
    """The attributes an ``ad.object`` create adds (:func:`created_attributes`)."""
    return created_attributes(change.change.after)


def execute(change: ResourceChange, t: Targets, started: Started) -> Outcome:
    """Perform ``change``."""
    action = change.change.actions[0]
    match (change.type, action):
        case ("ad.object", "create"):
            return Outcome(_create_object(change, t, started))
        case ("ad.object", "update"):
            return Outcome(_update_attributes(change, t, started))
        case ("ad.ace", "create" | "delete"):
            return _change_ace(change, t, started, add=action == "create")
        case ("ad.membership", "create" | "delete"):
            return Outcome(_membership(change, t, started, add=action == "create"))
        case ("tenant.feature", "update"):
            return _tenant_feature(change, t, started)
        case ("tenant.setting", "create" | "update"):
            return _tenant_setting(change, t, started)
    raise UsageError(
        f"{change.address}: wbplan has no executor for {action} of {change.type}",
        hint="make this change by hand, then plan again",
    )


def _dn(change: ResourceChange) -> str:
    if not change.dn:
        raise UsageError(f"{change.address} has no DN in the plan")
    return change.dn


def _create_object(change: ResourceChange, t: Targets, started: Started) -> Image:
    ad, dn = t.need_ad(change.address), _dn(change)
    attributes = object_attributes(change)
    started({"kind": "absent"})
    ad.add(dn, attributes)
    identity = ad.identity(dn)
    if identity is None:
        raise LdapError(f"{dn} was added but cannot be read back", hint="check replication")
    return {
        "kind": "object",
        "object_guid": identity.object_guid,
        "usn_changed": identity.usn_changed,
        "attributes": ad.values(dn, [a for a in attributes if a != "objectClass"]) or {},
    }


def _update_attributes(change: ResourceChange, t: Targets, started: Started) -> Image:
    ad, dn = t.need_ad(change.address), _dn(change)
    wanted = text_values(change.change.after)
    before = ad.values(dn, list(wanted))
    if before is None:
        raise LdapError(f"{dn} does not exist any more", hint="plan again")
    started({"kind": "attributes", "values": before})
    ad.replace(dn, wanted)
    return {"kind": "attributes", "values": ad.values(dn, list(wanted)) or {}}


MAX_SWAPS = 5
"""How often a DACL change is re-read, re-merged and re-written when somebody else changed the
DACL in between (a refused compare-and-swap) or removed wbplan's ACE right after its write."""


def explicit_aces(data: bytes) -> list[Ace]:
    """The explicit ACEs of a descriptor, in order."""
    return [a for a in parse_descriptor(data).aces if not a.inherited]


def has_ace(data: bytes, ace: Ace) -> bool:
    """Whether ``ace`` is explicit on the descriptor ``data``."""
    return ace in explicit_aces(data)


def planned_ace(change: ResourceChange) -> Ace:
    """The ACE an ``ad.ace`` change adds (create) or removes (delete)."""
    add = change.change.actions[0] == "create"
    ace = Ace.model_validate(change.change.after if add else change.change.before)
    if ace.trustee.startswith("<"):
        raise UsageError(
            f"{change.address}: the plan has no trustee SID (the connector or the Cloud Sync "
            "gMSA was not found)"
        )
    return ace


def concurrent_note(dn: str, swap: Swap, read: bytes, written: bytes) -> str | None:
    """What to tell when the DACL was changed by somebody else around a guarded replace.

    With exactly one other change: if the DACL now is what wbplan wrote, that change came
    between wbplan's read and its write and was overwritten; otherwise it came after the write
    and nothing was lost. With more, either may have happened."""
    if swap.atomic or swap.concurrent == 0:
        return None
    overwritten = swap.after.data == written or explicit_aces(swap.after.data) == explicit_aces(
        written
    )
    if swap.concurrent == 1 and not overwritten:
        return None
    certainty = "was" if swap.concurrent == 1 else "may have been"
    return (
        f"WARNING: somebody else changed the DACL of {dn} while wbplan wrote it "
        f"({swap.concurrent} other change(s)); a change made between wbplan's read and its "
        f"write {certainty} overwritten — this DC offers no compare-and-swap of "
        f"nTSecurityDescriptor. The DACL wbplan read: {parse_descriptor(read).sddl}"
    )


def swap_ace(
    ad: AdWriter,
    dn: str,
    ace: Ace,
    *,
    add: bool,
    on_read: Callable[[bytes], None] | None = None,
) -> tuple[bytes | None, Swap | None, bytes, list[str]]:
    """Add ``ace`` to (or remove it from) the DACL of ``dn`` without losing anybody else's
    change: read, merge, compare-and-swap (:meth:`AdWriter.swap_sd`), re-read and verify that
    the ACE is (or is no longer) there; on a conflict, start again (at most ``MAX_SWAPS``).

    Returns the descriptor written (None: nothing to do), the swap, the descriptor read last,
    and warnings (a change by somebody else that a DC without compare-and-swap may have
    overwritten)."""
    warnings: list[str] = []
    for _ in range(MAX_SWAPS):
        read = ad.read_descriptor(dn)
        if on_read is not None:
            on_read(read.data)
        if has_ace(read.data, ace) == add:
            return None, None, read.data, warnings
        wanted = merge_into_descriptor(read.data, [ace]) if add else remove_aces(read.data, [ace])
        try:
            swap = ad.swap_sd(dn, read, wanted)
        except SwapConflictError:
            continue
        note = concurrent_note(dn, swap, read.data, wanted)
        if note:
            warnings.append(note)
        if has_ace(swap.after.data, ace) == add:
            return wanted, swap, read.data, warnings
    # The attempts wrote: a change they may have overwritten is part of the error, not dropped.
    raise LdapError(
        f"the DACL of {dn} kept changing while wbplan wrote it ({MAX_SWAPS} attempts)"
        + "".join(f"\n{w}" for w in warnings),
        hint="somebody else is editing it; try again when they are done",
    )


def _change_ace(change: ResourceChange, t: Targets, started: Started, *, add: bool) -> Outcome:
    ad, dn = t.need_ad(change.address), _dn(change)
    ace = planned_ace(change)

    def on_read(data: bytes) -> None:
        started(sd_image(data))  # the before-image is the DACL the write is computed from

    written, swap, read, warnings = swap_ace(ad, dn, ace, add=add, on_read=on_read)
    if written is None or swap is None:
        if add:
            return Outcome(sd_image(read), "the ACE was already present; nothing written")
        raise LdapError(
            f"the ACE the plan removes is not on {dn} (an explicit ACE with exactly that "
            "trustee, mask, flags and object types)",
            hint="plan again: wbplan removes only ACEs exactly as it granted them",
        )
    how = "compare-and-swap" if swap.atomic else "replace guarded by the replication version"
    after: Image = {**sd_image(swap.after.data), "written_by": how}
    if swap.concurrent:
        # the after-image holds somebody else's change too (made around wbplan's write):
        # rollback then takes out wbplan's ACE only, never writes the before-image whole
        after["concurrent"] = swap.concurrent
    return Outcome(after, warnings=tuple(warnings))


def group_dn(t: Targets, name: str) -> str:
    """DN of a well-known group, found by the SID the observation recorded."""
    ad = t.need_ad(f"ad.group[{name}]")
    ad_state = t.state.ad if t.state else None
    sid = (ad_state.well_known_groups if ad_state else {}).get(name)
    if not sid:
        raise LdapError(f"the group {name} was not found in AD", hint="plan again")
    entry = ad.session.read(f"<SID={sid}>", ["distinguishedName"])
    if entry is None:
        raise LdapError(f"the group {name} ({sid}) was not found in AD", hint="plan again")
    return entry.text("distinguishedName") or entry.dn


def is_member(ad: AdWriter, group: str, member: str) -> bool:
    found = ad.values(group, ["member"]) or {}
    return dn_key(member) in {dn_key(m) for m in found.get("member", [])}


def _membership(change: ResourceChange, t: Targets, started: Started, *, add: bool) -> Image:
    ad = t.need_ad(change.address)
    detail = dict(change.change.after if add else change.change.before or {})
    connector = t.state.ad.connector if t.state and t.state.ad else None
    if connector is None or not connector.dn:
        raise LdapError("the connector account was not found in AD", hint="plan again")
    group = group_dn(t, str(detail.get("group")))
    image = {"kind": "membership", "group_dn": group, "member_dn": connector.dn}
    started({**image, "member": is_member(ad, group, connector.dn)})
    ad.member(group, connector.dn, add=add)
    return {**image, "member": is_member(ad, group, connector.dn)}


def _flag(address: str) -> str:
    return address.removeprefix("tenant.feature[").removesuffix("]")


def _tenant_feature(change: ResourceChange, t: Targets, started: Started) -> Outcome:
    from planner.graphapi.tenant_ops import set_sync_feature

    client = t.need_graph(change.address)
    sync = t.state.tenant.sync if t.state and t.state.tenant else None
    if sync is None:
        raise GraphError("the tenant's onPremisesSynchronization object was not read")
    name, value = _flag(change.address), bool((change.change.after or {})["value"])
    started({"kind": "tenant", "sync_id": sync.id, "value": sync.features.get(name)})
    done = set_sync_feature(client, sync.id, name, value)
    if not done.verified:
        raise GraphError(
            f"Graph accepted the change of {name} but reports {done.after!r} afterwards",
            hint="check the tenant in the Entra admin center; plan again",
        )
    before = {
        "kind": "tenant",
        "sync_id": sync.id,
        "value": done.before,
        "object": done.before_image,
    }
    return Outcome({"kind": "tenant", "sync_id": sync.id, "value": done.after}, before=before)


def _tenant_setting(change: ResourceChange, t: Targets, started: Started) -> Outcome:
    from planner.graphapi.tenant_ops import set_new_group_writeback_default

    client = t.need_graph(change.address)
    setting = t.state.tenant.group_unified if t.state and t.state.tenant else None
    value = bool((change.change.after or {})["value"])
    started(
        {
            "kind": "tenant",
            "present": bool(setting and setting.present),
            "setting_id": setting.id if setting else None,
        }
    )
    done = set_new_group_writeback_default(client, value)
    if not done.verified:
        raise GraphError(
            f"Graph accepted the Group.Unified change but reports {done.after!r} afterwards",
            hint="check the tenant's group settings; plan again",
        )
    before = {
        "kind": "tenant",
        "value": done.before,
        "object": done.before_image,
        "created_id": done.created_id,
    }
    return Outcome({"kind": "tenant", "value": done.after}, before=before)
