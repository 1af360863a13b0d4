#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'password-from-nothing', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:ab7dec9ac65ed0622fe419c6c8fc10f935ac1d09313ad7ab3eec42d788e7a7dc made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:ea268842a151c2a1e69ee8cffa0b5bb12eb54106c17da0893886f371246d9d18
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

# [1/4] + ad.ace[DC=contoso,DC=test/password-writeback/unexpire-password] (missing_ace)
# why: Unexpire Password on the root of each domain; an existing Authenticated Users grant also satisfies it
Write-Host '[1/4] + ad.ace[DC=contoso,DC=test/password-writeback/unexpire-password]'
$entry = Get-WbplanEntry 'DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x100 'Allow' 'ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501' '' 1 0
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:CA;Unexpire Password', '/I:T')
    Assert-WbplanRule 'DC=contoso,DC=test' $rule
}

# [2/4] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password] (missing_ace)
# why: The connector needs Reset Password on descendant user objects of each scope root (Set-ADSyncPasswordWritebackPermissions)
Write-Host '[2/4] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password]'
$entry = Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x100 'Allow' '00299570-246d-11d0-a768-00aa006e0529' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=Staff,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:CA;Reset Password;user', '/I:S')
    Assert-WbplanRule 'OU=Staff,DC=contoso,DC=test' $rule
}

# [3/4] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-lockoutTime] (missing_ace)
# why: The connector needs Write lockoutTime on descendant user objects of each scope root (Set-ADSyncPasswordWritebackPermissions)
Write-Host '[3/4] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-lockoutTime]'
$entry = Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x20 'Allow' '28630ebf-41d5-11d1-a9c1-0000f80367c1' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=Staff,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:WP;lockoutTime;user', '/I:S')
    Assert-WbplanRule 'OU=Staff,DC=contoso,DC=test' $rule
}

# [4/4] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-pwdLastSet] (missing_ace)
# why: The connector needs Write pwdLastSet on descendant user objects of each scope root (Set-ADSyncPasswordWritebackPermissions)
Write-Host '[4/4] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-pwdLastSet]'
$entry = Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x20 'Allow' 'bf967a0a-0de6-11d0-a285-00aa003049e2' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=Staff,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:WP;pwdLastSet;user', '/I:S')
    Assert-WbplanRule 'OU=Staff,DC=contoso,DC=test' $rule
}

Write-Host 'Done: 4 step(s) checked or applied.'

# Cannot be verified remotely; check by hand:
# - connect.option[password-writeback]: Entra Connect wizard -> Customize synchronization options -> Optional features -> Password writeback
# - tenant.sspr[on-premises-writeback]: Entra admin center -> Protection -> Password reset -> On-premises integration -> 'Write back passwords to your on-premises directory'
