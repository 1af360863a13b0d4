<#
.SYNOPSIS
    wbplan Connect server evidence collector: read-only, no secrets.

.DESCRIPTION
    Run on the Microsoft Entra Connect server, in PowerShell as a member of ADSyncAdmins (or a
    local administrator). It reads the server's writeback configuration with the ADSync
    module's Get-* cmdlets, changes nothing, reads no password or key, and writes one JSON file
    for `wbplan refresh --connect-evidence FILE`:

      Get-ADSyncGlobalSettings                 optional features ticked in the wizard, device
                                               writeback forest and container, staging mode,
                                               server configuration version
      Get-ADSyncAADCompanyFeature              the tenant's writeback flags as this server reads them
      Get-ADSyncScheduler                      staging mode, sync cycle and scheduler state
      Get-ADSyncConnector                      each connector's name and type; for Active Directory
                                               connectors the forest, the sign-in account
                                               (forest-login-user, forest-login-domain) and the
                                               selected partitions; no other connectivity parameter
      Get-ADSyncAADPasswordResetConfiguration  whether password writeback is on
      Get-ItemProperty (uninstall registry)    the installed Connect version (Programs and Features)

    A cmdlet that fails is named here (a warning) and in the file's "not_read" list; the script
    goes on and always writes the file. Commit the file next to the policy (or let a scheduled
    task refresh it): it proves what the Connect server had configured when it was collected.

    Written by wbplan connect-collector <wbplan_version>.

.PARAMETER OutFile
    The JSON file to write (default: wbplan-connect-evidence.json in the current folder).

.EXAMPLE
    .\wbplan-connect-collector.ps1 -OutFile C:\wbplan\connect-evidence.json
#>
param(
    [string]$OutFile = 'wbplan-connect-evidence.json'
)

$collectedAt = (Get-Date).ToUniversalTime().ToString('o')
$reads = [ordered]@{}
$notRead = @()

function Get-WbplanRecord {
    # A cmdlet's output as name -> value: booleans, numbers and text as they are, times in UTC,
    # anything else as text; with -BooleansOnly, the switches alone.
    param($InputObject, [switch]$BooleansOnly)
    $record = [ordered]@{}
    if ($null -eq $InputObject) {
        return $record
    }
    foreach ($property in $InputObject.PSObject.Properties) {
        $value = $property.Value
        if ($value -is [bool]) {
            $record[$property.Name] = $value
        } elseif ($BooleansOnly) {
            continue
        } elseif ($null -eq $value) {
            $record[$property.Name] = $null
        } elseif ($value -is [string] -or $value -is [int] -or $value -is [long] -or $value -is [double]) {
            $record[$property.Name] = $value
        } elseif ($value -is [datetime]) {
            $record[$property.Name] = $value.ToUniversalTime().ToString('o')
        } else {
            $record[$property.Name] = [string]$value
        }
    }
    return $record
}

try {
    Import-Module ADSync -ErrorAction Stop
} catch {
    Write-Warning "wbplan: could not load the ADSync module: $($_.Exception.Message)"
}

# Global settings: only the writeback, optional-feature and synchronize parameters.
try {
    $settings = Get-ADSyncGlobalSettings -ErrorAction Stop
    $parameters = [ordered]@{}
    foreach ($parameter in @($settings.Parameters)) {
        $name = [string]$parameter.Name
        if ($name -like 'Microsoft.OptionalFeature.*' -or $name -like 'Microsoft.DeviceWriteBack.*' -or
            $name -like 'Microsoft.GroupWriteBack.*' -or $name -like 'Microsoft.UserWriteBack.*' -or
            $name -like 'Microsoft.Synchronize.*') {
            if ($null -eq $parameter.Value) {
                $parameters[$name] = $null
            } else {
                $parameters[$name] = [string]$parameter.Value
            }
        }
    }
    $reads['Get-ADSyncGlobalSettings'] = [ordered]@{ Parameters = $parameters }
} catch {
    $notRead += [ordered]@{ what = 'Get-ADSyncGlobalSettings'; reason = $_.Exception.Message }
    Write-Warning "wbplan: could not read Get-ADSyncGlobalSettings: $($_.Exception.Message)"
}

try {
    $reads['Get-ADSyncAADCompanyFeature'] = Get-WbplanRecord (Get-ADSyncAADCompanyFeature -ErrorAction Stop) -BooleansOnly
} catch {
    $notRead += [ordered]@{ what = 'Get-ADSyncAADCompanyFeature'; reason = $_.Exception.Message }
    Write-Warning "wbplan: could not read Get-ADSyncAADCompanyFeature: $($_.Exception.Message)"
}

try {
    $reads['Get-ADSyncScheduler'] = Get-WbplanRecord (Get-ADSyncScheduler -ErrorAction Stop)
} catch {
    $notRead += [ordered]@{ what = 'Get-ADSyncScheduler'; reason = $_.Exception.Message }
    Write-Warning "wbplan: could not read Get-ADSyncScheduler: $($_.Exception.Message)"
}

# Connectors: names and types; for Active Directory connectors the forest, the sign-in account
# and the selected partitions. No other connectivity parameter is read (no password, no key).
$entraConnectors = @()
try {
    $connectors = @()
    foreach ($connector in @(Get-ADSyncConnector -ErrorAction Stop)) {
        $connectivity = [ordered]@{}
        if ([string]$connector.Type -eq 'AD') {
            foreach ($name in @('forest-name', 'forest-login-user', 'forest-login-domain')) {
                $parameter = @($connector.ConnectivityParameters) | Where-Object { $_.Name -eq $name } | Select-Object -First 1
                if ($null -ne $parameter) {
                    $connectivity[$name] = [string]$parameter.Value
                }
            }
        }
        $partitions = @()
        foreach ($partition in @($connector.Partitions)) {
            if ($null -eq $partition) {
                continue
            }
            $selected = $partition.Selected
            if ($null -ne $selected) {
                $selected = [bool]$selected
            }
            $partitions += [ordered]@{ DN = [string]$partition.DN; Selected = $selected }
        }
        $connectors += [ordered]@{
            Name                   = [string]$connector.Name
            Identifier             = [string]$connector.Identifier
            Type                   = [string]$connector.Type
            Subtype                = [string]$connector.Subtype
            ConnectivityParameters = $connectivity
            Partitions             = $partitions
        }
        if ([string]$connector.Subtype -like 'Windows Azure Active Directory*') {
            $entraConnectors += [string]$connector.Name
        }
    }
    $reads['Get-ADSyncConnector'] = $connectors
} catch {
    $notRead += [ordered]@{ what = 'Get-ADSyncConnector'; reason = $_.Exception.Message }
    Write-Warning "wbplan: could not read Get-ADSyncConnector: $($_.Exception.Message)"
}

# Password writeback on this server (the Entra ID connector's password reset configuration).
if ($entraConnectors.Count -eq 1) {
    try {
        $reset = Get-ADSyncAADPasswordResetConfiguration -Connector $entraConnectors[0] -ErrorAction Stop
        $enabled = $null
        if ($null -ne $reset -and $null -ne $reset.PSObject.Properties['Enabled']) {
            $enabled = [bool]$reset.Enabled
        }
        $reads['Get-ADSyncAADPasswordResetConfiguration'] = [ordered]@{ Enabled = $enabled }
    } catch {
        $notRead += [ordered]@{ what = 'Get-ADSyncAADPasswordResetConfiguration'; reason = $_.Exception.Message }
        Write-Warning "wbplan: could not read Get-ADSyncAADPasswordResetConfiguration: $($_.Exception.Message)"
    }
} else {
    $reason = "found $($entraConnectors.Count) Microsoft Entra ID connectors, expected one"
    $notRead += [ordered]@{ what = 'Get-ADSyncAADPasswordResetConfiguration'; reason = $reason }
    Write-Warning "wbplan: could not read Get-ADSyncAADPasswordResetConfiguration: $reason"
}

# The installed version, as Programs and Features shows it.
try {
    $names = @('Microsoft Entra Connect Sync', 'Microsoft Entra Connect', 'Microsoft Azure AD Connect')
    $installed = @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue |
        Where-Object { $names -contains [string]$_.DisplayName } |
        ForEach-Object { [ordered]@{ DisplayName = [string]$_.DisplayName; DisplayVersion = [string]$_.DisplayVersion } })
    $reads['Programs and Features'] = $installed
    if ($installed.Count -eq 0) {
        $reason = "no Programs and Features entry named $($names -join ', ')"
        $notRead += [ordered]@{ what = 'Programs and Features'; reason = $reason }
        Write-Warning "wbplan: could not read the installed version: $reason"
    }
} catch {
    $notRead += [ordered]@{ what = 'Programs and Features'; reason = $_.Exception.Message }
    Write-Warning "wbplan: could not read the installed version: $($_.Exception.Message)"
}

$evidence = [ordered]@{
    format         = 'wbplan-connect-evidence'
    format_version = 1
    collector      = 'wbplan connect-collector <wbplan_version>'
    collected_at   = $collectedAt
    server         = [string]$env:COMPUTERNAME
    reads          = $reads
    not_read       = $notRead
}
$json = $evidence | ConvertTo-Json -Depth 8
Set-Content -LiteralPath $OutFile -Value $json -Encoding UTF8
Write-Host "wbplan: wrote $OutFile ($($reads.Count) reads, $($notRead.Count) not read)."
foreach ($item in $notRead) {
    Write-Host "wbplan: not read: $($item.what): $($item.reason)"
}
