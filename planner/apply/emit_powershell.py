"""The AD part of a plan as a PowerShell script (ActiveDirectory module, ``dsacls``, .NET ACLs).

Every step is guarded: it reads the object first and changes nothing when it is already as
planned, so the script can be re-run after a partial failure. It stops at the first error
(``$ErrorActionPreference = 'Stop'``; dsacls's exit code is checked, since native commands do
not throw) and prints one line per step. ACEs are read and written through a DirectoryEntry
with ``SecurityMasks = Dacl`` — the SD-flags control — so owner, group and SACL are never
written; after each grant the script re-reads the DACL and fails if the planned ACE is not
there. Windows' ACL editors (dsacls, .NET) keep the DACL canonical and may merge a new ACE into
an existing one of the same trustee and scope; the guards therefore accept an ACE granting at
least the planned rights. ``--emit ldif`` is the byte-exact alternative.

How each ACE is written (dsacls or .NET) is decided in :mod:`planner.apply.emit_dsacls`. The
script names no credentials: it runs as the signed-in administrator (or pass ``-Server``).
Written without Windows: the syntax is checked by a PowerShell grammar in the tests; cmdlet
behaviour (e.g. how ``New-ADObject -OtherAttributes`` converts "TRUE" or "90") is UNCONFIRMED.
"""

from __future__ import annotations

from planner.apply.emit_dsacls import dsacls_grant, net_flags
from planner.apply.emit_steps import (
    AceStep,
    CreateObject,
    EmitPlan,
    MembershipStep,
    Note,
    ReplaceAttributes,
    Step,
    ascii_text,
)
from planner.model.dn import parent_dn, split_rdns

# PowerShell treats these as single quotes too; doubling each one escapes it.
_QUOTES = "'\u2018\u2019\u201a\u201b"

PRELUDE = r"""[CmdletBinding()]
param(
    # A domain controller to talk to (default: the one the ActiveDirectory module locates).
    [string]$Server
)

$ErrorActionPreference = 'Stop'
$ad = @{}
if ($Server) { $ad['Server'] = $Server }

function Test-WbplanObject {
    param([string]$Dn)
    try { $null = Get-ADObject -Identity $Dn @ad; return $true }
    catch [Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException] { return $false }
}

function Test-WbplanValues {
    # Compares as AD does for these attributes: case-insensitively, in any order.
    param($Object, [string]$Name, [string[]]$Want)
    $have = @($Object[$Name] | ForEach-Object { [string]$_ } | Sort-Object)
    return (($have -join "`n") -eq ((@($Want) | Sort-Object) -join "`n"))
}

function Get-WbplanEntry {
    # The DACL only (SecurityMasks = Dacl sends the SD-flags control): committing this entry
    # never writes the owner, group or SACL.
    param([string]$Dn)
    $escaped = $Dn.Replace('/', '\/')
    $path = if ($Server) { "LDAP://$Server/$escaped" } else { "LDAP://$escaped" }
    $entry = New-Object System.DirectoryServices.DirectoryEntry($path)
    $entry.Options.SecurityMasks = [System.DirectoryServices.SecurityMasks]::Dacl
    $entry.RefreshCache(@('nTSecurityDescriptor'))
    return $entry
}

function New-WbplanRule {
    param($Entry, [string]$Sid, [int]$Mask, [string]$Type, [string]$ObjectType,
          [string]$InheritedObjectType, [int]$Inheritance, [int]$Propagation)
    $identity = New-Object System.Security.Principal.SecurityIdentifier($Sid)
    $object = if ($ObjectType) { [guid]$ObjectType } else { [guid]::Empty }
    $inherited = if ($InheritedObjectType) { [guid]$InheritedObjectType } else { [guid]::Empty }
    return $Entry.ObjectSecurity.AccessRuleFactory($identity, $Mask, $false,
        [System.Security.AccessControl.InheritanceFlags]$Inheritance,
        [System.Security.AccessControl.PropagationFlags]$Propagation,
        [System.Security.AccessControl.AccessControlType]$Type, $object, $inherited)
}

function Test-WbplanRule {
    # An explicit ACE of the same trustee, type, scope and object types that grants at least
    # the planned rights (-Exact: exactly them).
    param($Entry, $Rule, [switch]$Exact)
    $sidType = [System.Security.Principal.SecurityIdentifier]
    foreach ($r in $Entry.ObjectSecurity.GetAccessRules($true, $false, $sidType)) {
        if ($r.IdentityReference.Value -ne $Rule.IdentityReference.Value) { continue }
        if ($r.AccessControlType -ne $Rule.AccessControlType) { continue }
        if ($r.ObjectType -ne $Rule.ObjectType) { continue }
        if ($r.InheritedObjectType -ne $Rule.InheritedObjectType) { continue }
        if ($r.InheritanceFlags -ne $Rule.InheritanceFlags) { continue }
        if ($r.PropagationFlags -ne $Rule.PropagationFlags) { continue }
        $have = [int]$r.ActiveDirectoryRights
        $want = [int]$Rule.ActiveDirectoryRights
        if ($Exact) { if ($have -eq $want) { return $true } }
        elseif (($have -band $want) -eq $want) { return $true }
    }
    return $false
}

function Assert-WbplanRule {
    param([string]$Dn, $Rule)
    if (-not (Test-WbplanRule (Get-WbplanEntry $Dn) $Rule)) {
        throw "the planned ACE is not on $Dn after writing it; inspect it with: dsacls `"$Dn`""
    }
}

function Invoke-WbplanDsacls {
    param([string]$Dn, [string[]]$Arguments)
    $target = if ($Server) { "\\$Server\$Dn" } else { $Dn }
    $output = & dsacls.exe $target @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) {
        $output | ForEach-Object { Write-Host "      $_" }
        throw "dsacls failed on $Dn (exit code $LASTEXITCODE)"
    }
}"""


def ps_string(value: str) -> str:
    """A single-quoted PowerShell literal (no expansion; quote characters doubled)."""
    return "'" + "".join(ch * 2 if ch in _QUOTES else ch for ch in value) + "'"


def _comment(text: str) -> str:
    return "# " + ascii_text(text)


def _value(value: str) -> str:
    # The ActiveDirectory module converts values by the attribute's syntax; Boolean and
    # Integer attributes want typed values (UNCONFIRMED for strings, so typed ones are given).
    if value in ("TRUE", "FALSE"):
        return "$true" if value == "TRUE" else "$false"
    if value.isdigit() and len(value) < 10:
        return value
    return ps_string(value)


def _values(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return _value(values[0])
    return "@(" + ", ".join(_value(v) for v in values) + ")"


def _hashtable(attrs: dict[str, tuple[str, ...]], indent: str) -> list[str]:
    lines = ["@{"]
    lines += [f"{indent}    {ps_string(k)} = {_values(attrs[k])}" for k in sorted(attrs)]
    return [*lines, f"{indent}}}"]


def _unescape_rdn(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(chr(int(pair, 16)))
                i += 3
                continue
            out.append(value[i + 1])
            i += 2
            continue
        out.append(value[i])
        i += 1
    return "".join(out)


def _create(step: CreateObject) -> list[str]:
    name = _unescape_rdn(split_rdns(step.dn)[0][1])
    parent = parent_dn(step.dn) or ""
    cls = step.object_class[-1]
    dn = ps_string(step.dn)
    new = f"New-ADObject -Name {ps_string(name)} -Type {ps_string(cls)} -Path {ps_string(parent)}"
    lines = [
        f"if (Test-WbplanObject {dn}) {{",
        f"    $found = Get-ADObject -Identity {dn} @ad",
        f"    if ($found.ObjectClass -ne {ps_string(cls)}) {{",
        f"        throw ('{{0}} exists as {{1}}, not {{2}}: re-plan' -f {dn}, "
        f"$found.ObjectClass, {ps_string(cls)})",
        "    }",
        "    Write-Host '      already there: unchanged'",
        "} else {",
    ]
    if step.attributes:
        table = _hashtable(step.attributes, "    ")
        lines.append(f"    {new} -OtherAttributes {table[0]}")
        lines += table[1:-1]
        lines.append(f"{table[-1]} @ad")
    else:
        lines.append(f"    {new} @ad")
    return [*lines, "}"]


def _replace(step: ReplaceAttributes) -> list[str]:
    dn = ps_string(step.dn)
    names = ", ".join(ps_string(k) for k in sorted(step.after))
    tests = " -and ".join(
        f"(Test-WbplanValues $found {ps_string(k)} @({', '.join(ps_string(v) for v in vs)}))"
        for k, vs in sorted(step.after.items())
    )
    table = _hashtable(step.after, "    ")
    return [
        f"$found = Get-ADObject -Identity {dn} -Properties {names} @ad",
        f"if ({tests}) {{",
        "    Write-Host '      already as planned: unchanged'",
        "} else {",
        f"    Set-ADObject -Identity {dn} -Replace {table[0]}",
        *table[1:-1],
        f"{table[-1]} @ad",
        "}",
    ]


def _rule(step: AceStep) -> str:
    ace = step.ace
    f = net_flags(ace.flags)
    return (
        f"$rule = New-WbplanRule $entry {ps_string(ace.trustee)} 0x{ace.mask:x} "
        f"{ps_string('Allow' if ace.qualifier == 'allow' else 'Deny')} "
        f"{ps_string(ace.object_type or '')} {ps_string(ace.inherited_object_type or '')} "
        f"{f.inheritance} {f.propagation}"
    )


def _ace(step: AceStep, emit: EmitPlan) -> list[str]:
    dn = ps_string(step.dn)
    head = [f"$entry = Get-WbplanEntry {dn}", _rule(step)]
    if step.action == "delete":
        return [
            *head,
            "if (Test-WbplanRule $entry $rule -Exact) {",
            "    # Exactly this ACE: dsacls /R would remove every ACE of the trustee here.",
            "    $entry.ObjectSecurity.RemoveAccessRuleSpecific($rule)",
            "    $entry.CommitChanges()",
            "} else {",
            "    Write-Host '      not there: unchanged'",
            "}",
        ]
    grant = dsacls_grant(
        step.ace,
        step.dn,
        account=emit.connector_account,
        account_sid=emit.connector_sid,
        object_type_name=step.object_type_name,
        inherited_object_type_name=step.inherited_object_type_name,
    )
    if grant is not None:
        write = [
            f"    Invoke-WbplanDsacls {dn} @({', '.join(ps_string(a) for a in grant)})",
        ]
    else:
        write = [
            "    # dsacls cannot say exactly this ACE (trustee, rights or scope): .NET writes it.",
            "    $entry.ObjectSecurity.AddAccessRule($rule)",
            "    $entry.CommitChanges()",
        ]
    return [
        *head,
        "if (Test-WbplanRule $entry $rule) {",
        "    Write-Host '      already granted: unchanged'",
        "} else {",
        *write,
        f"    Assert-WbplanRule {dn} $rule",
        "}",
    ]


def _membership(step: MembershipStep) -> list[str]:
    group = ps_string(step.group_sid or step.group)
    member = step.member_sid or step.member.rpartition("\\")[2]
    test = (
        f"Get-ADGroupMember -Identity {group} @ad | "
        f"Where-Object {{ $_.SID.Value -eq {ps_string(step.member_sid)} }}"
        if step.member_sid
        else f"Get-ADGroupMember -Identity {group} @ad | "
        f"Where-Object {{ $_.SamAccountName -eq {ps_string(member)} }}"
    )
    if step.action == "create":
        return [
            f"if ({test}) {{",
            "    Write-Host '      already a member: unchanged'",
            "} else {",
            f"    Add-ADGroupMember -Identity {group} -Members {ps_string(member)} @ad",
            "}",
        ]
    return [
        f"if ({test}) {{",
        f"    Remove-ADGroupMember -Identity {group} -Members {ps_string(member)} "
        "-Confirm:$false @ad",
        "} else {",
        "    Write-Host '      not a direct member: unchanged'",
        "}",
    ]


def _body(step: Step, emit: EmitPlan) -> list[str]:
    if isinstance(step, CreateObject):
        return _create(step)
    if isinstance(step, ReplaceAttributes):
        return _replace(step)
    if isinstance(step, AceStep):
        return _ace(step, emit)
    return _membership(step)


def _notes(title: str, notes: list[Note]) -> list[str]:
    if not notes:
        return []
    lines = ["", _comment(title)]
    return lines + [_comment(f"- {n.change.address}: {n.text}") for n in notes]


def _header(emit: EmitPlan, planned_from: str | None) -> list[str]:
    plan = emit.plan
    facts = [
        f"wbplan: the Active Directory part of plan {plan.policy_name!r}, as a script for an",
        "administrator who holds the rights (wbplan itself writes nothing to AD).",
        f"plan {emit.plan_digest} made {plan.timestamp} by wbplan {plan.wbplan_version}",
        planned_from or f"planned from {plan.state_source}",
        f"policy {plan.policy_file} {plan.policy_digest}",
        f"forest {plan.lineage.forest} ({plan.lineage.forest_guid or 'GUID not read'}), "
        f"tenant {plan.lineage.tenant_id}",
        "Each step reads the object first and changes nothing when it is already as planned,",
        "so the script can be run again after a failure. It stops at the first error.",
        "Run it as an account with the rights: .\\SCRIPT.ps1 [-Server DC.EXAMPLE.COM]",
        "Then run `wbplan plan --detailed-exitcode`: exit 0 means AD matches the policy.",
    ]
    return [
        "#Requires -Version 5.1",
        "#Requires -Modules ActiveDirectory",
        *(_comment(x) for x in facts),
    ]


def render_powershell(emit: EmitPlan, *, planned_from: str | None = None) -> str:
    """The script text (CRLF is left to the writer; ASCII unless a DN is not). Each step reads
    the object (and its DACL) when it runs, so the script needs no descriptor read beforehand."""
    lines = _header(emit, planned_from)
    lines += _notes("Before this script, a person must (wbplan cannot):", emit.notes_of("manual"))
    lines += ["", *PRELUDE.splitlines()]
    total = len(emit.steps)
    if not total:
        lines += ["", "Write-Host 'No Active Directory change in this plan can be scripted.'"]
    for i, step in enumerate(emit.steps, 1):
        c = step.change
        sign = {"create": "+", "update": "~", "delete": "-"}[c.change.actions[0]]
        title = f"[{i}/{total}] {sign} {c.address}"
        lines += ["", _comment(f"{title} ({c.action_reason})"), _comment(f"why: {c.why}")]
        lines.append(f"Write-Host {ps_string(title)}")
        lines += _body(step, emit)
    lines += ["", f"Write-Host {ps_string(f'Done: {total} step(s) checked or applied.')}"]
    lines += _notes("Not in this script, blocked by a step above:", emit.notes_of("deferred"))
    lines += _notes(
        "Tenant part (Microsoft Graph), after this script, in this order:",
        emit.notes_of("tenant"),
    )
    lines += _notes("Cannot be verified remotely; check by hand:", emit.notes_of("read"))
    text = "\n".join(lines) + "\n"
    # Windows PowerShell 5.1 reads a .ps1 without a byte-order mark as ANSI: a non-ASCII DN
    # would be mangled, so such a script starts with a UTF-8 BOM.
    return text if text.isascii() else "\ufeff" + text
