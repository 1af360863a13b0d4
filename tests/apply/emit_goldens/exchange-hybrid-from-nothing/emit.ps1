#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'exchange-hybrid-from-nothing', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:b3ccef1a6f6f728c4d8ed58f0ec14f6c77470e0922267849c83f353ebb37876a made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:25f7a32eb43d23d85eaf83d0faf1280e6dc3b06f2894912c72543adf7cd44f3b
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

# [1/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-contact] (missing_ace)
# why: Exchange hybrid writes msExch* attributes and proxyAddresses back to contact objects: RPWP on descendant contact objects
Write-Host '[1/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-contact]'
$entry = Get-WbplanEntry 'DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x30 'Allow' '' '5cb41ed0-0e4c-11d0-a286-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:RPWP;;contact', '/I:S')
    Assert-WbplanRule 'DC=contoso,DC=test' $rule
}

# [2/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-group] (missing_ace)
# why: Exchange hybrid writes msExch* attributes and proxyAddresses back to group objects: RPWP on descendant group objects
Write-Host '[2/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-group]'
$entry = Get-WbplanEntry 'DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x30 'Allow' '' 'bf967a9c-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:RPWP;;group', '/I:S')
    Assert-WbplanRule 'DC=contoso,DC=test' $rule
}

# [3/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-inetOrgPerson] (missing_ace)
# why: Exchange hybrid writes msExch* attributes and proxyAddresses back to inetOrgPerson objects: RPWP on descendant inetOrgPerson objects
Write-Host '[3/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-inetOrgPerson]'
$entry = Get-WbplanEntry 'DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x30 'Allow' '' '4828cc14-1437-45bc-9b07-ad6f015e5f28' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:RPWP;;inetOrgPerson', '/I:S')
    Assert-WbplanRule 'DC=contoso,DC=test' $rule
}

# [4/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-user] (missing_ace)
# why: Exchange hybrid writes msExch* attributes and proxyAddresses back to user objects: RPWP on descendant user objects
Write-Host '[4/4] + ad.ace[DC=contoso,DC=test/exchange-hybrid/read-write-user]'
$entry = Get-WbplanEntry 'DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x30 'Allow' '' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:RPWP;;user', '/I:S')
    Assert-WbplanRule 'DC=contoso,DC=test' $rule
}

Write-Host 'Done: 4 step(s) checked or applied.'

# Cannot be verified remotely; check by hand:
# - connect.option[exchange-hybrid]: Entra Connect wizard -> Optional features -> Exchange hybrid deployment
