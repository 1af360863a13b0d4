#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'keys-and-hybrid-join-remove-preparation', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:453b124dea76bedd1d500e06cdd24698547b31324ee1190027ff2b6d94917db5 made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:a7f59348c63c31840d7d017e4e18862ef900af445392412d6e391360d58e6205
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

# [1/2] - ad.ace[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test/device-registration/read-write] (remove_preparation)
# why: The connector gets GR+GW on CN=Device Registration Configuration, this object and sub-objects (as Entra Connect's AdSyncPrep module grants it)
Write-Host '[1/2] - ad.ace[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test/device-registration/read-write]'
$entry = Get-WbplanEntry 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x200bc 'Allow' '' '' 1 0
if (Test-WbplanRule $entry $rule -Exact) {
    # Exactly this ACE: dsacls /R would remove every ACE of the trustee here.
    $entry.ObjectSecurity.RemoveAccessRuleSpecific($rule)
    $entry.CommitChanges()
} else {
    Write-Host '      not there: unchanged'
}

# [2/2] - ad.membership[Key Admins/CONTOSO\MSOL_1a2b3c4d5e6f] (remove_preparation)
# why: Key writeback is declared off with remove_preparation: the connector leaves Key Admins
Write-Host '[2/2] - ad.membership[Key Admins/CONTOSO\MSOL_1a2b3c4d5e6f]'
if (Get-ADGroupMember -Identity 'Key Admins' @ad | Where-Object { $_.SID.Value -eq 'S-1-5-21-1004336348-1177238915-682003330-1105' }) {
    Remove-ADGroupMember -Identity 'Key Admins' -Members 'S-1-5-21-1004336348-1177238915-682003330-1105' -Confirm:$false @ad
} else {
    Write-Host '      not a direct member: unchanged'
}

Write-Host 'Done: 2 step(s) checked or applied.'
