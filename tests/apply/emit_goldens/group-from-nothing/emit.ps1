#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'group-from-nothing', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:ca16090e697af2ee526e26533d4f9655bb972fabea151d3717de79a53bb00dee made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:fd76b80f5160bf46c556059fb0b9491f9ed3cf9c25bd24faefb2ed5d043e335c
# forest contoso.test (5b2e6a10-8c4d-4f1e-9a3b-7d6c5e4f3a21), tenant 7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b
# Each step reads the object first and changes nothing when it is already as planned,
# so the script can be run again after a failure. It stops at the first error.
# Run it as an account with the rights: .\SCRIPT.ps1 [-Server DC.EXAMPLE.COM]
# Then run `wbplan plan --detailed-exitcode`: exit 0 means AD matches the policy.

[CmdletBinding()]
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
}

# [1/3] + ad.object[OU=CloudGroups,DC=contoso,DC=test] (missing_object)
# why: Group writeback v1 writes Microsoft 365 groups into one admin-selected OU
Write-Host '[1/3] + ad.object[OU=CloudGroups,DC=contoso,DC=test]'
if (Test-WbplanObject 'OU=CloudGroups,DC=contoso,DC=test') {
    $found = Get-ADObject -Identity 'OU=CloudGroups,DC=contoso,DC=test' @ad
    if ($found.ObjectClass -ne 'organizationalUnit') {
        throw ('{0} exists as {1}, not {2}: re-plan' -f 'OU=CloudGroups,DC=contoso,DC=test', $found.ObjectClass, 'organizationalUnit')
    }
    Write-Host '      already there: unchanged'
} else {
    New-ADObject -Name 'CloudGroups' -Type 'organizationalUnit' -Path 'DC=contoso,DC=test' @ad
}

# [2/3] + ad.ace[OU=CloudGroups,DC=contoso,DC=test/group-writeback/create-delete-groups] (missing_ace)
# why: The connector creates and deletes group objects in the writeback OU; an ACE scoped to descendant groups alone does not grant CreateChild on the OU
Write-Host '[2/3] + ad.ace[OU=CloudGroups,DC=contoso,DC=test/group-writeback/create-delete-groups]'
$entry = Get-WbplanEntry 'OU=CloudGroups,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x3 'Allow' 'bf967a9c-0de6-11d0-a285-00aa003049e2' '' 1 0
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=CloudGroups,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:CCDC;group', '/I:T')
    Assert-WbplanRule 'OU=CloudGroups,DC=contoso,DC=test' $rule
}

# [3/3] + ad.ace[OU=CloudGroups,DC=contoso,DC=test/group-writeback/manage-groups] (missing_ace)
# why: GR/GW/Delete/DeleteTree on descendant group objects (Set-ADSyncUnifiedGroupWritebackPermissions)
Write-Host '[3/3] + ad.ace[OU=CloudGroups,DC=contoso,DC=test/group-writeback/manage-groups]'
$entry = Get-WbplanEntry 'OU=CloudGroups,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x300fc 'Allow' '' 'bf967a9c-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=CloudGroups,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:LCWSRPWPDTLOSDRC;;group', '/I:S')
    Assert-WbplanRule 'OU=CloudGroups,DC=contoso,DC=test' $rule
}

Write-Host 'Done: 3 step(s) checked or applied.'

# Tenant part (Microsoft Graph), after this script, in this order:
# - tenant.setting[Group.Unified/NewUnifiedGroupWritebackDefault]: set Group.Unified/NewUnifiedGroupWritebackDefault to false in the tenant's directory settings (Graph: /groupSettings, created from the Group.Unified template when absent), before any group writeback flag is turned on
# - tenant.feature[unifiedGroupWritebackEnabled]: set the directory-sync feature unifiedGroupWritebackEnabled to true (Graph: PATCH /directory/onPremisesSynchronization/{id} with {"features": {"unifiedGroupWritebackEnabled": true}}), or run `wbplan apply` with a Graph credential once the AD part is done

# Cannot be verified remotely; check by hand:
# - connect.option[group-writeback]: Entra Connect wizard -> Optional features -> Group writeback -> select the writeback OU
