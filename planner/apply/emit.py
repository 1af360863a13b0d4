"""``wbplan apply PLANFILE --emit ldif|powershell``: the AD part of a plan as a file an
administrator who holds the rights runs, instead of wbplan writing to AD itself.

Microsoft's Connect wizard does the same when it may not have enterprise-admin credentials: it
offers a PowerShell script to download (CreateDeviceContainer.ps1). wbplan emits either

* an LDIF change file (RFC 2849) for OpenLDAP's ``ldapmodify`` or Windows' ``ldifde``
  (:mod:`planner.apply.emit_ldif`), or
* a PowerShell script using the ActiveDirectory module, ``dsacls`` and .NET ACL objects, each
  step guarded so that it changes nothing when the object is already as planned
  (:mod:`planner.apply.emit_powershell`).

Both list what they do not carry — manual changes, changes blocked by a manual step, items
nobody can verify remotely, and the tenant part — as comments with instructions
(:mod:`planner.apply.emit_steps`), and say in their header which observation the plan was
computed from. Nothing here talks to AD: the caller passes the DACL-only security descriptors of
every DN that has an ACE change — read from the DC after the lineage and stale checks when a
connection is given, or, with none (``apply PLAN --emit`` offline), rebuilt from the DACLs the
plan file recorded as observed (:func:`recorded_descriptors`). Only the LDIF uses them: the
PowerShell script reads each DACL itself when it runs, so it is the same file either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from planner.apply.emit_ldif import render_ldif
from planner.apply.emit_powershell import render_powershell
from planner.apply.emit_steps import EmitError, collect
from planner.model.plan import Plan
from planner.model.state import SecurityDescriptor

EMIT_FORMATS = ("ldif", "powershell")

DescriptorOrigin = Literal["emit", "plan"]
"""Where the LDIF's DACLs come from: read from the DC at emit time, or as the plan observed."""

_SDDL_ACE = re.compile(r"\([^()]*\)")


def planned_from(plan: Plan, observation: str | None = None) -> str:
    """The header line naming the observation ``plan`` was computed from (``observation``: the
    plan file's description of it; without one, the plan's ``state_source`` and time)."""
    if observation is not None:
        return f"planned from {observation}"
    return f"planned from {plan.state_source} at {plan.timestamp}"


def recorded_descriptors(dacls: Mapping[str, SecurityDescriptor]) -> dict[str, bytes]:
    """``dn_key`` → DACL-only descriptor rebuilt from the DACLs a plan file recorded.

    The model carries allow and deny ACEs only. When the recorded SDDL (kept for objects read on
    their own) shows an ACE the model does not carry (a callback ACE, say), replacing the DACL
    with the rebuilt one would drop it: such a DN is left out, so that the LDIF refuses it
    (:class:`EmitError`) instead of writing a DACL that lost an ACE."""
    from planner.observe.sd import descriptor_bytes, parse_descriptor

    out: dict[str, bytes] = {}
    for key, sd in dacls.items():
        data = descriptor_bytes(sd)
        if sd.sddl is not None:
            rebuilt = parse_descriptor(data).sddl or ""
            if _SDDL_ACE.findall(rebuilt) != _SDDL_ACE.findall(sd.sddl):
                continue
        out[key] = data
    return out


def render_emit(
    plan: Plan,
    fmt: Literal["ldif", "powershell"],
    descriptors: Mapping[str, bytes],
    *,
    ldap_url: str | None = None,
    observation: str | None = None,
    descriptors_from: DescriptorOrigin = "emit",
) -> str:
    """The AD part of ``plan`` as an LDIF change file or a PowerShell script.

    ``descriptors`` maps ``dn_key(dn)`` → the DACL-only ``nTSecurityDescriptor`` (with the
    SD-flags control, 4) of every existing DN that has an ACE change; the LDIF replaces it with
    the planned ACEs merged in (the PowerShell script reads the DACL itself when it runs).
    ``descriptors_from`` says whether they were read at emit time or are the DACLs the plan
    observed (the LDIF header and records say which). ``observation`` describes what the plan
    was computed from (see :func:`planned_from`); ``ldap_url`` only fills in the command lines
    of the LDIF header. Raises :class:`EmitError`.
    """
    collected = collect(plan)
    source = planned_from(plan, observation)
    if fmt == "ldif":
        return render_ldif(
            collected,
            descriptors,
            ldap_url=ldap_url,
            planned_from=source,
            descriptors_from=descriptors_from,
        )
    if fmt == "powershell":
        return render_powershell(collected, planned_from=source)
    raise EmitError(f"unknown emit format {fmt!r}", hint="use --emit ldif or --emit powershell")
