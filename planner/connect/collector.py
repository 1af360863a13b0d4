"""The read-only PowerShell script ``wbplan connect-collector`` writes, for a person to run on the
Entra Connect server (pure: text in, text out).

The script calls Get-* cmdlets of the ADSync module only (and reads the installed version from
the uninstall registry with Get-ItemProperty), changes nothing, reads no secret — of the
connectors' connectivity parameters it takes only ``forest-name``, ``forest-login-user`` and
``forest-login-domain`` — and writes one JSON file (``ConvertTo-Json``, then ``Set-Content`` to the
path given) that ``wbplan refresh --connect-evidence FILE`` imports. A cmdlet that fails is
named on the console (``Write-Warning``) and in the file's ``not_read`` list; the script goes on
and always writes the file. Windows PowerShell 5.1 and PowerShell 7 both run it.

:data:`CMDLETS` lists every command the script calls; ``tests/connect`` parses the script with a
PowerShell grammar and requires that list, and that every cmdlet outside it is a Get-*.
"""

from __future__ import annotations

from planner.model.connect import EVIDENCE_FORMAT, EVIDENCE_FORMAT_VERSION

READ_CMDLETS = (
    "Get-ADSyncGlobalSettings",
    "Get-ADSyncAADCompanyFeature",
    "Get-ADSyncScheduler",
    "Get-ADSyncConnector",
    "Get-ADSyncAADPasswordResetConfiguration",
    "Get-ItemProperty",
    "Get-Date",
)
"""The reads: the ADSync module's Get-* cmdlets, the uninstall registry, the clock."""

HARMLESS = (
    "Import-Module",
    "Where-Object",
    "ForEach-Object",
    "Select-Object",
    "ConvertTo-Json",
    "Set-Content",
    "Write-Host",
    "Write-Warning",
)
"""Built-ins that change nothing on the server (``Set-Content`` writes only the output file)."""

CMDLETS = READ_CMDLETS + HARMLESS
"""Every command the script calls (plus its own helper, ``Get-WbplanRecord``)."""

DEFAULT_OUT_FILE = "wbplan-connect-evidence.json"

# What the script relies on beyond Microsoft's documentation (kept out of the script itself):
# UNCONFIRMED: a connector's Type 'AD' and Subtype 'Windows Azure Active Directory …' on
# Get-ADSyncConnector's objects, and its partitions' DN / Selected properties (third-party
# scripts; Microsoft's sample export has the same words as <category> and <subtype>);
# UNCONFIRMED: the Enabled property of Get-ADSyncAADPasswordResetConfiguration's output;
# UNCONFIRMED: the Programs and Features display names (planner.connect.facts.INSTALLED_NAMES).
# Documented: Get-ADSyncGlobalSettings' Parameters with Name and Value (Microsoft's support
# article on partial upgrades), ConnectivityParameters[name].Value (the ADSync reference), the
# Get-ADSyncScheduler properties (the scheduler page).

_SCRIPT = r"""<#
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

    Written by wbplan connect-collector __VERSION__.

.PARAMETER OutFile
    The JSON file to write (default: __DEFAULT_OUT__ in the current folder).

.EXAMPLE
    .\wbplan-connect-collector.ps1 -OutFile C:\wbplan\connect-evidence.json
#>
param(
    [string]$OutFile = '__DEFAULT_OUT__'
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
    format         = '__FORMAT__'
    format_version = __FORMAT_VERSION__
    collector      = 'wbplan connect-collector __VERSION__'
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
"""


def render_collector(version: str) -> str:
    """The collector script (``version``: wbplan's, recorded in the JSON it writes)."""
    return (
        _SCRIPT.replace("__VERSION__", version)
        .replace("__DEFAULT_OUT__", DEFAULT_OUT_FILE)
        .replace("__FORMAT_VERSION__", str(EVIDENCE_FORMAT_VERSION))
        .replace("__FORMAT__", EVIDENCE_FORMAT)
    )
