#Requires -Version 5.1
#Requires -Modules ActiveDirectory
# wbplan: the Active Directory part of plan 'schema-too-old', as a script for an
# administrator who holds the rights (wbplan itself writes nothing to AD).
# plan sha256:3b6a1ace3b1d6192f41487b2fa6eed48bac9acfa60b862f94056f0a22cd51d45 made <timestamp> by wbplan <wbplan_version>
# planned from state.json at <timestamp>
# policy policy.yaml sha256:1f1cb36c84acc58d131f14e6e028e07a70d832b16fceb670561db58f11cecba4
# forest contoso.test (5b2e6a10-8c4d-4f1e-9a3b-7d6c5e4f3a21), tenant 7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b
# Each step reads the object first and changes nothing when it is already as planned,
# so the script can be run again after a failure. It stops at the first error.
# Run it as an account with the rights: .\SCRIPT.ps1 [-Server DC.EXAMPLE.COM]
# Then run `wbplan plan --detailed-exitcode`: exit 0 means AD matches the policy.

# Before this script, a person must (wbplan cannot):
# - ad.schema[contoso.test]: Extend the forest schema to Windows Server 2012 R2 or later: `adprep /forestprep` from 2012 R2+ media as a Schema Admin (on Samba: `samba-tool domain schemaupgrade --schema=2012_R2`)

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

# [1/3] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password] (missing_ace)
# why: The connector needs Reset Password on descendant user objects of each scope root (Set-ADSyncPasswordWritebackPermissions)
Write-Host '[1/3] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password]'
$entry = Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x100 'Allow' '00299570-246d-11d0-a768-00aa006e0529' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=Staff,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:CA;Reset Password;user', '/I:S')
    Assert-WbplanRule 'OU=Staff,DC=contoso,DC=test' $rule
}

# [2/3] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-lockoutTime] (missing_ace)
# why: The connector needs Write lockoutTime on descendant user objects of each scope root (Set-ADSyncPasswordWritebackPermissions)
Write-Host '[2/3] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-lockoutTime]'
$entry = Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x20 'Allow' '28630ebf-41d5-11d1-a9c1-0000f80367c1' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=Staff,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:WP;lockoutTime;user', '/I:S')
    Assert-WbplanRule 'OU=Staff,DC=contoso,DC=test' $rule
}

# [3/3] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-pwdLastSet] (missing_ace)
# why: The connector needs Write pwdLastSet on descendant user objects of each scope root (Set-ADSyncPasswordWritebackPermissions)
Write-Host '[3/3] + ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-pwdLastSet]'
$entry = Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'
$rule = New-WbplanRule $entry 'S-1-5-21-1004336348-1177238915-682003330-1105' 0x20 'Allow' 'bf967a0a-0de6-11d0-a285-00aa003049e2' 'bf967aba-0de6-11d0-a285-00aa003049e2' 1 2
if (Test-WbplanRule $entry $rule) {
    Write-Host '      already granted: unchanged'
} else {
    Invoke-WbplanDsacls 'OU=Staff,DC=contoso,DC=test' @('/G', 'CONTOSO\MSOL_1a2b3c4d5e6f:WP;pwdLastSet;user', '/I:S')
    Assert-WbplanRule 'OU=Staff,DC=contoso,DC=test' $rule
}

Write-Host 'Done: 3 step(s) checked or applied.'

# Not in this script, blocked by a step above:
# - ad.object[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done
# - ad.ace[CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test/device-registration/read-write]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done
# - ad.object[CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done
# - ad.object[CN=RegisteredDevices,DC=contoso,DC=test]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done
# - ad.ace[CN=RegisteredDevices,DC=contoso,DC=test/device-writeback/manage-devices]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done
# - ad.object[CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done
# - tenant.feature[deviceWritebackEnabled]: waits for ad.schema[contoso.test]; re-plan and re-emit once that is done

# Cannot be verified remotely; check by hand:
# - connect.option[device-writeback]: Entra Connect wizard -> Configure device options -> Configure device writeback -> select this forest
# - connect.option[password-writeback]: Entra Connect wizard -> Customize synchronization options -> Optional features -> Password writeback
# - tenant.sspr[on-premises-writeback]: Entra admin center -> Protection -> Password reset -> On-premises integration -> 'Write back passwords to your on-premises directory'
