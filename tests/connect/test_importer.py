"""Connect evidence → snapshot facts: one fixture per documented Connect generation (a 1.1.x
``Get-ADSyncServerConfiguration`` export, a 2.x collector file), what a partial collection
leaves unknown (never false), merging several files of one server, and the provenance every
fact carries.

Fixture shapes (``tests/connect/fixtures``): the export folder follows Microsoft's sample exports
published with AADConnectConfigDocumenter (``saved-mv-configuration`` / ``mv-data`` /
``parameter-values``; ``ma-data`` with ``private-configuration/adma-configuration``), with the
1.1.x global parameter names of that sample (1.1.130.0); the collector files hold the 2.x
parameter names public listings show (2.0.25.1, 2.2.1.0: no
``Microsoft.OptionalFeature.PasswordWriteback``), the ``Get-ADSyncAADCompanyFeature`` and
``Get-ADSyncScheduler`` property names Microsoft documents, and the JSON layout the collector
script writes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from planner.connect.importer import (
    import_evidence,
    merge,
    read_collector_file,
    read_export_folder,
)
from planner.errors import ConnectEvidenceError
from planner.model.state import ObservedState

FIXTURES = Path(__file__).resolve().parent / "fixtures"
V1 = FIXTURES / "v1-export"
V2 = FIXTURES / "v2-collector.json"


def test_a_1x_export_folder() -> None:
    ev = read_export_folder(V1, "v1-export")
    assert ev.server == "SYNC01"
    assert ev.collected_at == "2026-11-22T17:00:00Z"
    (f,) = ev.files
    assert (f.kind, f.path, f.server) == ("server-configuration", "v1-export", "SYNC01")
    assert f.collected_at_note == "the export's export-date states no time zone; read as UTC"
    assert len(f.sha256) == 64
    # 1.1.x global parameter names, including the password ones newer servers no longer list
    pw = ev.feature("password-writeback").server
    assert (pw.value, pw.raw, pw.field) == (
        True,
        "True",
        "Microsoft.OptionalFeature.PasswordWriteback",
    )
    assert (pw.file, pw.cmdlet) == (
        "v1-export/GlobalSettings/MV.xml",
        "Get-ADSyncServerConfiguration",
    )
    assert ev.feature("password-hash-sync").server.value is True
    assert ev.feature("device-writeback").server.value is True
    assert ev.feature("group-writeback").server.value is True
    assert ev.feature("exchange-hybrid").server.value is True
    assert ev.feature("user-writeback").server.value is False
    # an export holds no company features and no scheduler: unknown, not false
    assert ev.feature("device-writeback").tenant.value is None
    assert ev.feature("group-writeback-v2").server.value is None
    assert ev.sync_cycle_enabled.value is None
    assert ev.staging_mode.value is False
    assert ev.staging_mode.field == "Microsoft.Synchronize.StagingMode"
    assert ev.scheduler_suspended.value is False
    assert ev.device_writeback_forest.value == "contoso.test"
    assert ev.device_writeback_container.value == "CN=RegisteredDevices,DC=contoso,DC=test"
    assert ev.group_writeback_container.value == "OU=CloudGroups,DC=contoso,DC=test"
    assert ev.version.value == ev.server_configuration_version.value == "1.1.880.0"
    assert ev.version.field == "Microsoft.Synchronize.ServerConfigurationVersion"
    # the AD connector (category AD) with its sign-in and selected partitions; not the Entra one
    (ad,) = ev.ad_connectors or ()
    assert (ad.name, ad.forest, ad.login_user, ad.login_domain) == (
        "contoso.test",
        "contoso.test",
        "MSOL_1a2b3c4d5e6f",
        "contoso.test",
    )
    assert ad.partitions == ("DC=contoso,DC=test",)
    assert ad.file == "v1-export/Connectors/Connector_{5e0c2a47-3b61-4f8e-9d2a-6c1b7e4f0a93}.xml"
    assert ev.not_read == ()


def test_a_2x_collector_file() -> None:
    ev = read_collector_file(V2, "v2-collector.json")
    (f,) = ev.files
    assert (f.kind, f.server, f.collector) == (
        "collector",
        "SYNC01",
        "wbplan connect-collector 0.1.0",
    )
    assert ev.collected_at == "2026-11-22T17:00:00Z"  # 7 fractional digits (.ToString('o')) dropped
    # 2.x global settings do not list PasswordWriteback: the password reset configuration says
    pw = ev.feature("password-writeback").server
    assert (pw.value, pw.cmdlet, pw.field) == (
        True,
        "Get-ADSyncAADPasswordResetConfiguration",
        "Enabled",
    )
    assert ev.feature("password-hash-sync").server.value is None
    assert ev.feature("password-hash-sync").tenant.value is True
    dev = ev.feature("device-writeback")
    assert (dev.server.value, dev.server.cmdlet) == (True, "Get-ADSyncGlobalSettings")
    assert (dev.tenant.value, dev.tenant.cmdlet, dev.tenant.field) == (
        True,
        "Get-ADSyncAADCompanyFeature",
        "DeviceWriteback",
    )
    assert ev.feature("group-writeback").tenant.field == "UnifiedGroupWriteback"
    assert ev.feature("group-writeback-v2").tenant.value is False
    assert (ev.staging_mode.value, ev.staging_mode.cmdlet) == (False, "Get-ADSyncScheduler")
    assert ev.sync_cycle_enabled.value is True
    assert (ev.version.value, ev.version.cmdlet) == ("2.4.27.0", "Programs and Features")
    assert ev.version.field == "Microsoft Entra Connect Sync DisplayVersion"
    assert ev.server_configuration_version.value == "2.4.27.0"
    assert ev.group_writeback_container.value is None  # 2.x listings may lack it: unknown
    (ad,) = ev.ad_connectors or ()
    assert (ad.login_user, ad.login_domain, ad.partitions) == (
        "MSOL_1a2b3c4d5e6f",
        "contoso.test",
        ("DC=contoso,DC=test",),
    )
    assert ad.cmdlet == "Get-ADSyncConnector"


def test_what_the_collector_could_not_read_stays_unknown() -> None:
    ev = read_collector_file(FIXTURES / "v2-collector-partial.json")
    assert ev.feature("password-writeback").server.value is None  # not False
    assert ev.sync_cycle_enabled.value is None
    assert ev.ad_connectors is None  # not "no connector"
    assert ev.version.cmdlet == "Get-ADSyncGlobalSettings"  # no installed version: the config's
    assert ev.staging_mode.cmdlet == "Get-ADSyncGlobalSettings"  # no scheduler: the parameter
    assert [n.what for n in ev.not_read] == [
        "Get-ADSyncScheduler",
        "Get-ADSyncConnector",
        "Get-ADSyncAADPasswordResetConfiguration",
        "Programs and Features",
    ]
    assert ev.not_read[1].reason == "Access is denied."


def test_a_value_the_server_does_not_state_is_unknown(tmp_path: Path) -> None:
    doc = json.loads(V2.read_text(encoding="utf-8"))
    params = doc["reads"]["Get-ADSyncGlobalSettings"]["Parameters"]
    params["Microsoft.OptionalFeature.HybridExchange"] = ""
    params["Microsoft.OptionalFeature.DeviceWriteBack"] = None
    del params["Microsoft.OptionalFeature.GroupWriteBack"]
    params["Microsoft.DeviceWriteBack.Container"] = "   "
    doc["reads"]["Get-ADSyncScheduler"]["StagingModeEnabled"] = None
    path = tmp_path / "e.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    ev = read_collector_file(path)
    exh = ev.feature("exchange-hybrid").server
    assert (exh.value, exh.raw) == (None, "")
    dev = ev.feature("device-writeback").server
    assert (dev.value, dev.field) == (None, "Microsoft.OptionalFeature.DeviceWriteBack")
    assert ev.feature("group-writeback").server.value is None
    assert ev.device_writeback_container.value is None
    # the scheduler says nothing: the global parameter speaks
    assert (ev.staging_mode.value, ev.staging_mode.cmdlet) == (False, "Get-ADSyncGlobalSettings")


def test_windows_powershell_encodings_are_read(tmp_path: Path) -> None:
    text = V2.read_text(encoding="utf-8")
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # Set-Content -Encoding UTF8 (5.1)
    utf16 = tmp_path / "utf16.json"
    utf16.write_bytes(text.encode("utf-16"))  # `> file` in Windows PowerShell
    for path in (bom, utf16):
        assert read_collector_file(path).version.value == "2.4.27.0"


def test_several_files_of_one_server_merge_newest_first(tmp_path: Path) -> None:
    doc = json.loads(V2.read_text(encoding="utf-8"))
    doc["collected_at"] = "2026-11-22T17:30:00Z"
    doc["reads"]["Get-ADSyncScheduler"]["StagingModeEnabled"] = True
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc), encoding="utf-8")
    ev = import_evidence([V1, newer])
    assert [f.path for f in ev.files] == [newer.as_posix(), V1.as_posix()]
    assert ev.collected_at == "2026-11-22T17:00:00Z"  # as old as the oldest part
    assert ev.staging_mode.value is True  # the newer file's scheduler
    # the 1.x export states PasswordWriteback in its global settings; the newer file's
    # reset configuration is taken first (newest first), both say True
    assert ev.feature("password-writeback").server.value is True
    assert ev.feature("password-hash-sync").server.file == f"{V1.as_posix()}/GlobalSettings/MV.xml"
    assert ev.feature("device-writeback").tenant.cmdlet == "Get-ADSyncAADCompanyFeature"


def test_files_of_two_servers_are_refused() -> None:
    with pytest.raises(ConnectEvidenceError, match=r"different servers \(SYNC01, SYNC02\)"):
        import_evidence([V2, FIXTURES / "v2-collector-mismatch.json"])
    assert merge([read_collector_file(V2)]) == read_collector_file(V2)


def test_the_snapshot_keeps_the_evidence_and_its_schema_accepts_it(tmp_path: Path) -> None:
    from planner.observe.snapshot import dump_state, load_state
    from planner.schemas import validate_document

    state = ObservedState(
        wbplan_version="t", observed_at="2026-11-22T18:00:00Z", connect=import_evidence([V1, V2])
    )
    path = tmp_path / "s.json"
    path.write_text(dump_state(state), encoding="utf-8")
    assert validate_document("state", json.loads(path.read_text(encoding="utf-8"))) == []
    assert load_state(path) == state


def test_an_export_without_global_settings_still_gives_its_connectors(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(V1 / "Connectors", folder / "Connectors")
    ev = read_export_folder(folder)
    assert ev.collected_at is None and ev.server is None  # undated: it will not count
    assert [c.login_user for c in ev.ad_connectors or ()] == ["MSOL_1a2b3c4d5e6f"]
    assert ev.staging_mode.value is None


# What wbplan reads that no Microsoft source confirms (each marked UNCONFIRMED in a code comment
# next to where it is used; the fixtures use them as the third-party sources show them).
UNCONFIRMED = {
    "planner/connect/facts.py": [
        "PasswordHashSync, UserWriteback and DeviceWriteback",  # Get-ADSyncAADCompanyFeature
        "Get-ADSyncAADPasswordResetConfiguration's output",  # .Enabled
        "Programs and Features display names",  # INSTALLED_NAMES
    ],
    "planner/connect/importer.py": [
        'the Type value "AD"',  # Get-ADSyncConnector objects
        "the partition properties DN and Selected",
    ],
    "planner/connect/verdicts.py": ["the value formats"],  # Microsoft.DeviceWriteBack.*
    "planner/connect/exportxml.py": [
        "that exports of 1.4 and 2.x servers keep this layout",  # only a 1.1.130.0 sample
    ],
    "planner/connect/collector.py": [
        "a connector's Type 'AD' and Subtype",
        "the Enabled property",
        "the Programs and Features display names",
    ],
}


@pytest.mark.parametrize("module", sorted(UNCONFIRMED))
def test_unconfirmed_names_are_marked_where_they_are_used(module: str) -> None:
    source = (Path(__file__).resolve().parents[2] / module).read_text(encoding="utf-8")
    for what in UNCONFIRMED[module]:
        at = source.index(what)
        assert "UNCONFIRMED" in source[max(0, at - 120) : at], (module, what)


def test_unconfirmed_values_as_the_fixtures_carry_them() -> None:
    """The fixtures use the unconfirmed names the way third-party sources show them: if a real
    server differs, these are the facts that stay unknown rather than turning false."""
    ev = read_collector_file(V2)
    assert ev.feature("password-writeback").server.field == "Enabled"  # UNCONFIRMED property
    assert ev.version.field == "Microsoft Entra Connect Sync DisplayVersion"  # UNCONFIRMED name
    assert ev.feature("device-writeback").tenant.field == "DeviceWriteback"  # UNCONFIRMED
    (ad,) = ev.ad_connectors or ()
    assert ad.partitions == ("DC=contoso,DC=test",)  # UNCONFIRMED DN / Selected
