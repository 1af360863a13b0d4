#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'scp-tenant-drift', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:19903930a2df15a1868197f7bc4ad6e0f34d1ba5f8960d08eb36d5555b2b5306 made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:c7a47cace2e85389a47f7c6a8eee0f7ed43f8ad90f8c2ae265f6d567f5e060f1
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

# [1/1] ~ ad.object[CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test] (attribute_drift)
# why: Domain-joined Windows 10+ computers read the SCP's keywords over LDAP to find the tenant; it must exist in every forest with joined computers
Write-Host '[1/1] ~ ad.object[CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]'
$found = Get-ADObject -Identity 'CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' -Properties 'keywords' @ad
if ((Test-WbplanValues $found 'keywords' @('azureADId:7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b', 'azureADName:contoso.onmicrosoft.com'))) {
    Write-Host '      already as planned: unchanged'
} else {
    Set-ADObject -Identity 'CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test' -Replace @{
        'keywords' = @('azureADId:7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b', 'azureADName:contoso.onmicrosoft.com')
    } @ad
}

Write-Host 'Done: 1 step(s) checked or applied.'
