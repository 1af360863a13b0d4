#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'drs-location-drift', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:6096b3ef1b2475ef1b00a8067ee157fb42d4187b885ad2240546766be5504123 made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:8847777b8013bd9250ad0b410019de1bc182f4c3a48a260d444b984aaa416890
# forest contoso.test (5b2e6a10-8c4d-4f1e-9a3b-7d6c5e4f3a21), tenant 7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b
# Each step reads the object first and changes nothing when it is already as planned,
# so the script can be run again after a failure. It stops at the first error.
# Run it as an account with the rights: .\SCRIPT.ps1 [-Server DC.EXAMPLE.COM]
# Then run `wbplan plan --detailed-exitcode`: exit 0 means AD matches the policy.

# Before this script, a person must (wbplan cannot):
# - ad.object[CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]: msDS-DeviceLocation on CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test is system-only: AD sets it when the object is created and refuses to change it. Check that nothing else relies on the current value (e.g. AD FS device registration), delete the object, and run wbplan apply again: it recreates the object with msDS-DeviceLocation=CN=RegisteredDevices,DC=contoso,DC=test

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

Write-Host 'No Active Directory change in this plan can be scripted.'

Write-Host 'Done: 0 step(s) checked or applied.'

# Cannot be verified remotely; check by hand:
# - connect.option[device-writeback]: Entra Connect wizard -> Configure device options -> Configure device writeback -> select this forest
