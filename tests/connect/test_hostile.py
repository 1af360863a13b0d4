"""Hostile and broken Connect evidence: each is one clear error line naming the file, exit 1, no
traceback — from ``plan``, ``check`` and ``refresh`` alike — and nothing on the file system is read
beyond the path given (no external entity or DTD fetched, no symbolic link followed; checked
with an audit hook on every file opened and folder listed).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.connect import importer
from planner.connect.importer import import_evidence
from planner.errors import ConnectEvidenceError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCENARIO = Path(__file__).resolve().parents[1] / "plan" / "scenarios" / "fully-prepared"
MV = "GlobalSettings/MV.xml"
PYTHON_DIRS = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<saved-mv-configuration server="SYNC01"><mv-data><parameter-values>
<parameter name="Microsoft.Synchronize.StagingMode">&lol9;</parameter>
</parameter-values></mv-data></saved-mv-configuration>
"""


def xxe(canary: Path) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE saved-mv-configuration [<!ENTITY secret SYSTEM "file://{canary}">]>
<saved-mv-configuration server="SYNC01"><mv-data><parameter-values>
<parameter name="Microsoft.Synchronize.StagingMode">&secret;</parameter>
</parameter-values></mv-data></saved-mv-configuration>
"""


def external_dtd(canary: Path) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE saved-mv-configuration SYSTEM "file://{canary}">
<saved-mv-configuration server="SYNC01"/>
"""


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file outside every evidence path: nothing may read it."""
    path = tmp_path / "outside" / "canary.xml"
    path.parent.mkdir()
    path.write_text('<!ENTITY x "SECRET-CANARY">', encoding="utf-8")
    return path


def export_with(tmp_path: Path, name: str, mv: str | bytes) -> Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "v1-export", folder)
    target = folder / MV
    if isinstance(mv, bytes):
        target.write_bytes(mv)
    else:
        target.write_text(mv, encoding="utf-8")
    return folder


def collector_with(tmp_path: Path, name: str, change: Any) -> Path:
    doc = json.loads((FIXTURES / "v2-collector.json").read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _set(path: tuple[str | int, ...], value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def cases(tmp_path: Path, canary: Path) -> dict[str, tuple[Path, str]]:
    """name → (evidence path, a piece of the expected error line)."""
    text = (FIXTURES / "v2-collector.json").read_text(encoding="utf-8")
    truncated_json = tmp_path / "truncated.json"
    truncated_json.write_text(text[: len(text) // 2], encoding="utf-8")
    mv = (FIXTURES / "v1-export" / MV).read_text(encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    huge = collector_with(tmp_path, "huge.json", _set(("format_version",), 10**80))
    huge.write_text(huge.read_text().replace(str(10**80), "9" * 5000), encoding="utf-8")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"format": "\xff\xfe\x00garbage')
    empty_folder = tmp_path / "empty-export"
    empty_folder.mkdir()
    linked = export_with(tmp_path, "linked-export", mv)
    (linked / "Connectors" / "Connector_{00000000-0000-0000-0000-000000000000}.xml").symlink_to(
        canary
    )
    linked_dir = tmp_path / "linked-dir-export"
    (linked_dir / "Connectors").mkdir(parents=True)
    shutil.copy(
        FIXTURES
        / "v1-export"
        / "Connectors"
        / "Connector_{5e0c2a47-3b61-4f8e-9d2a-6c1b7e4f0a93}.xml",
        linked_dir / "Connectors",
    )
    (linked_dir / "GlobalSettings").symlink_to(canary.parent, target_is_directory=True)
    not_a_connector = export_with(tmp_path, "odd-export", mv)
    (
        not_a_connector / "Connectors" / "Connector_{11111111-1111-1111-1111-111111111111}.xml"
    ).write_text("<synchronizationRule/>", encoding="utf-8")
    return {
        "billion-laughs": (export_with(tmp_path, "laughs", LAUGHS), "refused: it declares a DTD"),
        "external-entity": (
            export_with(tmp_path, "xxe", xxe(canary)),
            "refused: it declares a DTD",
        ),
        "external-dtd": (export_with(tmp_path, "dtd", external_dtd(canary)), "refused"),
        "truncated-xml": (
            export_with(tmp_path, "cut", mv[: len(mv) // 2]),
            "not well-formed XML (truncated or damaged?)",
        ),
        "truncated-json": (truncated_json, "not JSON"),
        "too-deep-json": (deep, "nest deeper than"),
        "huge-number": (huge, "digits"),
        "not-utf8": (binary, "not UTF-8 or UTF-16 text"),
        "not-evidence": (
            collector_with(tmp_path, "other.json", _set(("format",), "x")),
            "not a Connect evidence file",
        ),
        "other-version": (
            collector_with(tmp_path, "v9.json", _set(("format_version",), 9)),
            "format_version 9",
        ),
        "staging-a-list": (
            collector_with(
                tmp_path,
                "t1.json",
                _set(("reads", "Get-ADSyncScheduler", "StagingModeEnabled"), [1]),
            ),
            "reads.Get-ADSyncScheduler.StagingModeEnabled: expected true, false, a number, text or null, found a list",
        ),
        "parameter-a-number": (
            collector_with(
                tmp_path,
                "t2.json",
                _set(
                    (
                        "reads",
                        "Get-ADSyncGlobalSettings",
                        "Parameters",
                        "Microsoft.Synchronize.StagingMode",
                    ),
                    0,
                ),
            ),
            "Parameters.Microsoft.Synchronize.StagingMode: expected text or null, found a number",
        ),
        "connectors-an-object": (
            collector_with(
                tmp_path, "t3.json", _set(("reads", "Get-ADSyncConnector"), {"Name": "x"})
            ),
            "reads.Get-ADSyncConnector: expected a list, found an object",
        ),
        "reads-a-list": (
            collector_with(tmp_path, "t4.json", _set(("reads",), [])),
            "reads: expected an object",
        ),
        "selected-text": (
            collector_with(
                tmp_path,
                "t5.json",
                _set(("reads", "Get-ADSyncConnector", 1, "Partitions", 0, "Selected"), "yes"),
            ),
            "Partitions[0].Selected: expected true, false or null, found text",
        ),
        "collected-at-not-a-time": (
            collector_with(tmp_path, "t6.json", _set(("collected_at",), "yesterday")),
            "collected_at: expected an ISO 8601 time",
        ),
        "collected-at-missing": (
            collector_with(tmp_path, "t7.json", _set(("collected_at",), None)),
            "collected_at: expected text, found null",
        ),
        "unknown-top-level-key": (
            collector_with(tmp_path, "t8.json", _set(("extra",), 1)),
            "unknown key 'extra' at the top level",
        ),
        "empty-folder": (empty_folder, "not a Get-ADSyncServerConfiguration export"),
        "missing": (tmp_path / "nowhere.json", "cannot read"),
        "symlinked-file": (linked, "is a symbolic link"),
        "symlinked-folder": (linked_dir, "GlobalSettings is a symbolic link"),
        "not-a-connector": (
            not_a_connector,
            "not a connector (its root element is <synchronizationRule>",
        ),
    }


@pytest.fixture
def all_cases(tmp_path: Path, canary: Path) -> dict[str, tuple[Path, str]]:
    return cases(tmp_path, canary)


NAMES = sorted(
    [
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "truncated-xml",
        "truncated-json",
        "too-deep-json",
        "huge-number",
        "not-utf8",
        "not-evidence",
        "other-version",
        "staging-a-list",
        "parameter-a-number",
        "connectors-an-object",
        "reads-a-list",
        "selected-text",
        "collected-at-not-a-time",
        "collected-at-missing",
        "unknown-top-level-key",
        "empty-folder",
        "missing",
        "symlinked-file",
        "symlinked-folder",
        "not-a-connector",
    ]
)


def test_every_case_is_listed(all_cases: dict[str, tuple[Path, str]]) -> None:
    assert sorted(all_cases) == NAMES


def _one_error_line(result: Any, path: Path, piece: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: "), lines
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert path.as_posix() in lines[0] or path.name in lines[0], lines[0]
    assert piece in lines[0], lines[0]
    assert "SECRET-CANARY" not in result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_plan_and_check_stop_with_one_line(
    name: str, all_cases: dict[str, tuple[Path, str]]
) -> None:
    path, piece = all_cases[name]
    base = ["--policy", str(SCENARIO / "policy.yaml"), "--state", str(SCENARIO / "state.json")]
    for command in ("plan", "check"):
        result = CliRunner().invoke(
            cli, [command, *base, "--connect-evidence", str(path)], env={"NO_COLOR": "1"}
        )
        _one_error_line(result, path, piece)


@pytest.mark.parametrize(
    "name", ["billion-laughs", "external-entity", "truncated-json", "staging-a-list"]
)
def test_refresh_stops_with_one_line_and_writes_nothing(
    name: str, all_cases: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    path, piece = all_cases[name]
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            str(SCENARIO / "policy.yaml"),
            "--state",
            str(SCENARIO / "state.json"),
            "--connect-evidence",
            str(path),
            "--out",
            str(out),
        ],
        env={"NO_COLOR": "1"},
    )
    _one_error_line(result, path, piece)
    assert not out.exists()


class FileAccess:
    """Every file opened and folder listed while ``watching`` (an audit hook: hooks cannot be
    removed, so it is installed once and gated). Lazy imports of Python's own modules are left
    out: they are not reads of evidence."""

    installed: ClassVar[bool] = False
    watching: ClassVar[bool] = False
    seen: ClassVar[list[str]] = []

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls.watching or event not in ("open", "os.scandir", "os.listdir") or not args:
            return
        if not isinstance(args[0], str | bytes | os.PathLike):
            return
        path = os.fsdecode(args[0])
        if path.endswith((".py", ".pyc")) or path.startswith(PYTHON_DIRS):
            return
        cls.seen.append(path)

    @classmethod
    def watch(cls) -> Iterator[list[str]]:
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True
        cls.seen.clear()
        cls.watching = True
        try:
            yield cls.seen
        finally:
            cls.watching = False


@pytest.fixture
def file_access() -> Iterator[list[str]]:
    yield from FileAccess.watch()


@pytest.mark.parametrize(
    "name",
    ["external-entity", "external-dtd", "symlinked-file", "symlinked-folder", "billion-laughs"],
)
def test_nothing_beyond_the_given_path_is_read(
    name: str, all_cases: dict[str, tuple[Path, str]], canary: Path, file_access: list[str]
) -> None:
    path, _piece = all_cases[name]
    with pytest.raises(ConnectEvidenceError):
        import_evidence([path])
    root = os.path.realpath(path)
    for opened in file_access:
        assert (
            os.path.realpath(opened).startswith(root + os.sep) or os.path.realpath(opened) == root
        ), opened
    assert all(canary.name not in p for p in file_access)


def test_a_good_export_is_read_inside_its_folder_only(file_access: list[str]) -> None:
    import_evidence([FIXTURES / "v1-export"])
    root = str(FIXTURES / "v1-export")
    assert {os.path.relpath(p, root) for p in file_access} == {
        "GlobalSettings",
        "Connectors",
        "GlobalSettings/MV.xml",
        "Connectors/Connector_{5e0c2a47-3b61-4f8e-9d2a-6c1b7e4f0a93}.xml",
        "Connectors/Connector_{b891884f-051e-4a83-95af-2544101c9083}.xml",
    }  # SynchronizationRules is not even listed


def test_too_large_files_are_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_JSON_BYTES", 1000)
    monkeypatch.setattr(importer, "MAX_XML_BYTES", 1000)
    with pytest.raises(
        ConnectEvidenceError, match=r"v2-collector\.json: too large: .*the limit is 1000 bytes"
    ):
        import_evidence([FIXTURES / "v2-collector.json"])
    with pytest.raises(ConnectEvidenceError, match=r"MV\.xml: too large"):
        import_evidence([FIXTURES / "v1-export"])


def test_too_many_files_in_an_export_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_FOLDER_FILES", 2)
    folder = export_with(
        tmp_path, "many", (FIXTURES / "v1-export" / MV).read_text(encoding="utf-8")
    )
    (folder / "Connectors" / "Connector_{3}.xml").write_text("<ma-data/>", encoding="utf-8")
    with pytest.raises(ConnectEvidenceError, match="more than 2 XML files"):
        import_evidence([folder])
