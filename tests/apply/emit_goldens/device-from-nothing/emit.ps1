#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'device-from-nothing', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:cbd377f7605bf5b0f2711c93e1661252bcf27cde2e90e41b0b9a34aae5e1b780 made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:c9d3e822cb0455a82508c4cc34e3b239ce8faebc09df8ff77d55cf6f299ef3aa
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

# [1/6] + ad.object[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test] (missing_object)
# why: Parent of the device registration configuration in the configuration NC
Write-Host '[1/6] + ad.object[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]'
if (Test-WbplanObject 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test') {
    $found = Get-ADObject -Identity 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' @ad
    if ($found.ObjectClass -ne 'container') {
        throw ('{0} exists as {1}, not {2}: re-plan' -f 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test', $found.ObjectClass, 'container')
    }
    Write-Host '      already there: unchanged'
} else {
    New-ADObject -Name 'Device Registration Configuration' -Type 'container' -Path 'CN=Services,CN=Configuration,DC=contoso,DC=test' @ad
}

# [2/6] + ad.ace[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test/device-registration/read-write] (missing_ace)
# why: The connector gets GR+GW on CN=Device Registration Configuration, this object and sub-objects (as Entra Connect's AdSyncPrep module grants it)
Write-Host '[2/6] + ad.ace[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test/device-registration/read-write]'
$entry = Get-WbplanEntry 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x200bc 'Allow' '' '' 1 0
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:LCWSRPWPLORC', '/I:T')
    Assert-WbplanRule 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' $rule
}

# [3/6] + ad.object[CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test] (missing_object)
# why: msDS-DeviceRegistrationServiceContainer under the DRS configuration
Write-Host '[3/6] + ad.object[CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]'
if (Test-WbplanObject 'CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test') {
    $found = Get-ADObject -Identity 'CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' @ad
    if ($found.ObjectClass -ne 'msDS-DeviceRegistrationServiceContainer') {
        throw ('{0} exists as {1}, not {2}: re-plan' -f 'CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test', $found.ObjectClass, 'msDS-DeviceRegistrationServiceContainer')
    }
    Write-Host '      already there: unchanged'
} else {
    New-ADObject -Name 'Device Registration Services' -Type 'msDS-DeviceRegistrationServiceContainer' -Path 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' @ad
}

# [4/6] + ad.object[CN=RegisteredDevices,DC=contoso,DC=test] (missing_object)
# why: Devices are written to an msDS-DeviceContainer directly under the domain root (default CN=RegisteredDevices)
Write-Host '[4/6] + ad.object[CN=RegisteredDevices,DC=contoso,DC=test]'
if (Test-WbplanObject 'CN=RegisteredDevices,DC=contoso,DC=test') {
    $found = Get-ADObject -Identity 'CN=RegisteredDevices,DC=contoso,DC=test' @ad
    if ($found.ObjectClass -ne 'msDS-DeviceContainer') {
        throw ('{0} exists as {1}, not {2}: re-plan' -f 'CN=RegisteredDevices,DC=contoso,DC=test', $found.ObjectClass, 'msDS-DeviceContainer')
    }
    Write-Host '      already there: unchanged'
} else {
    New-ADObject -Name 'RegisteredDevices' -Type 'msDS-DeviceContainer' -Path 'DC=contoso,DC=test' @ad
}

# [5/6] + ad.ace[CN=RegisteredDevices,DC=contoso,DC=test/device-writeback/manage-devices] (missing_ace)
# why: The Connect wizard's device writeback preparation grants the connector GR GW CC DC SD DT on the device container, this object and all descendants; device writeback creates, deletes, reads and writes msDS-Device objects there
Write-Host '[5/6] + ad.ace[CN=RegisteredDevices,DC=contoso,DC=test/device-writeback/manage-devices]'
$entry = Get-WbplanEntry 'CN=RegisteredDevices,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x300ff 'Allow' '' '' 1 0
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'CN=RegisteredDevices,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:CCDCLCWSRPWPDTLOSDRC', '/I:T')
    Assert-WbplanRule 'CN=RegisteredDevices,DC=contoso,DC=test' $rule
}

# [6/6] + ad.object[CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test] (missing_object)
# why: Exactly one msDS-DeviceRegistrationService per forest, whose msDS-DeviceLocation names the device container
Write-Host '[6/6] + ad.object[CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]'
if (Test-WbplanObject 'CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test') {
    $found = Get-ADObject -Identity 'CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' @ad
    if ($found.ObjectClass -ne 'msDS-DeviceRegistrationService') {
        throw ('{0} exists as {1}, not {2}: re-plan' -f 'CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test', $found.ObjectClass, 'msDS-DeviceRegistrationService')
    }
    Write-Host '      already there: unchanged'
} else {
    New-ADObject -Name 'DeviceRegistrationService' -Type 'msDS-DeviceRegistrationService' -Path 'CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' -OtherAttributes @{
        'msDS-DeviceLocation' = 'CN=RegisteredDevices,DC=contoso,DC=test'
        'msDS-IsEnabled' = $true
        'msDS-MaximumRegistrationInactivityPeriod' = 0
    } @ad
}

Write-Host 'Done: 6 step(s) checked or applied.'

# Tenant part (Microsoft Graph), after this script, in this order:
# - tenant.feature[deviceWritebackEnabled]: set the directory-sync feature deviceWritebackEnabled to true (Graph: PATCH /directory/onPremisesSynchronization/{id} with {"features": {"deviceWritebackEnabled": true}}), or run `wbplan apply` with a Graph credential once the AD part is done

# Cannot be verified remotely; check by hand:
# - connect.option[device-writeback]: Entra Connect wizard -> Configure device options -> Configure device writeback -> select this forest
