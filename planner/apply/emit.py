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
(:mod:`planner.apply.emit_steps`). Nothing here talks to AD: the caller (the CLI, after the
lineage and stale checks) passes the DACL-only security descriptors it read of every DN that has
an ACE change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from planner.apply.emit_ldif import render_ldif
from planner.apply.emit_powershell import render_powershell
from planner.apply.emit_steps import EmitError, collect
from planner.model.plan import Plan

EMIT_FORMATS = ("ldif", "powershell")


def render_emit(
    plan: Plan,
    fmt: Literal["ldif", "powershell"],
    descriptors: Mapping[str, bytes],
    *,
    ldap_url: str | None = None,
) -> str:
    """The AD part of ``plan`` as an LDIF change file or a PowerShell script.

    ``descriptors`` maps ``dn_key(dn)`` → the DACL-only ``nTSecurityDescriptor`` read (with the
    SD-flags control, 4) of every existing DN that has an ACE change; the LDIF replaces it with
    the planned ACEs merged in (the PowerShell script reads the DACL itself when it runs).
    ``ldap_url`` only fills in the command lines of the LDIF header. Raises :class:`EmitError`.
    """
    collected = collect(plan)
    if fmt == "ldif":
        return render_ldif(collected, descriptors, ldap_url=ldap_url)
    if fmt == "powershell":
        return render_powershell(collected)
    raise EmitError(f"unknown emit format {fmt!r}", hint="use --emit ldif or --emit powershell")
