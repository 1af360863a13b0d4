"""``wbplan connect-collector``: the read-only PowerShell script for the Connect server.

Golden file (``python -m tests.connect.regen``), a syntax check with tree-sitter's PowerShell
grammar (no Windows needed; cmdlet behaviour is not exercised), and what the script may call:
the commands it invokes are exactly :data:`planner.connect.collector.CMDLETS` (plus its own
``Get-WbplanRecord`` helper), every one outside the harmless built-ins is a Get-*, nothing is
invoked dynamically (``&``, ``.``, ``Invoke-Expression``), no .NET static call (``::``) is made,
and the only methods called are ``ToUniversalTime`` and ``ToString``. Secrets: of the connectors'
connectivity parameters only ``forest-name``, ``forest-login-user`` and ``forest-login-domain``
are read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from planner import __version__
from planner.cli import cli
from planner.connect import importer
from planner.connect.collector import CMDLETS, HARMLESS, READ_CMDLETS, render_collector
from tests.connect.regen import GOLDEN, expected

HELPER = "Get-WbplanRecord"
ALLOWED_METHODS = {"ToUniversalTime", "ToString"}


def parser() -> Any:
    tsp = pytest.importorskip("tree_sitter_powershell", reason="pip install -e '.[test]'")
    tree_sitter = pytest.importorskip("tree_sitter")
    return tree_sitter.Parser(tree_sitter.Language(tsp.language()))


def nodes(root: Any, kind: str) -> list[Any]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.type == kind:
            found.append(node)
        stack.extend(node.children)
    return found


def text(source: bytes, node: Any) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8")


def test_golden_is_current() -> None:
    assert GOLDEN.read_text(encoding="utf-8") == expected(), "run python -m tests.connect.regen"


def test_the_command_prints_the_script_or_writes_it(tmp_path: Path) -> None:
    shown = CliRunner().invoke(cli, ["connect-collector"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == render_collector(__version__)
    assert shown.stdout.replace(__version__, "<wbplan_version>") == expected()
    out = tmp_path / "sub" / "wbplan-connect-collector.ps1"
    written = CliRunner().invoke(cli, ["connect-collector", "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == render_collector(__version__)
    assert written.stderr == f"Wrote {out}.\n"
    quiet = CliRunner().invoke(cli, ["connect-collector", "-o", str(out), "--quiet"])
    assert quiet.stderr == ""


def test_the_script_parses_with_a_powershell_grammar() -> None:
    p = parser()
    source = expected().encode("utf-8")
    assert not p.parse(source).root_node.has_error
    broken = expected().replace("} catch {", "} catch (", 1).encode("utf-8")
    assert p.parse(broken).root_node.has_error


def test_it_calls_get_cmdlets_and_harmless_built_ins_only() -> None:
    source = expected().encode("utf-8")
    root = parser().parse(source).root_node
    commands = nodes(root, "command")
    names = set()
    for command in commands:
        operators = nodes(command, "command_invokation_operator")
        assert not operators, f"dynamic invocation: {text(source, command)}"
        named = [n for n in command.children if n.type == "command_name"]
        assert len(named) == 1, text(source, command)
        names.add(text(source, named[0]))
    assert names == {*CMDLETS, HELPER}
    for name in names - set(HARMLESS):
        assert name.startswith("Get-"), name
    assert set(READ_CMDLETS) >= {
        "Get-ADSyncGlobalSettings",
        "Get-ADSyncAADCompanyFeature",
        "Get-ADSyncScheduler",
        "Get-ADSyncConnector",
    }
    assert "Invoke-Expression" not in expected() and "iex " not in expected()
    assert "::" not in expected(), "no .NET static calls"


def test_the_only_methods_called_are_conversions() -> None:
    source = expected().encode("utf-8")
    root = parser().parse(source).root_node
    called = set()
    for call in nodes(root, "invokation_expression"):
        members = [n for n in call.children if n.type == "member_name"]
        called |= {text(source, m) for m in members}
    assert called == ALLOWED_METHODS


def test_it_writes_only_its_output_file() -> None:
    script = expected()
    writes = [line.strip() for line in script.splitlines() if re.search(r"\bSet-Content\b", line)]
    assert writes == ["Set-Content -LiteralPath $OutFile -Value $json -Encoding UTF8"]
    for verb in (
        "Set-ADSync",
        "Add-",
        "Remove-",
        "New-",
        "Start-",
        "Stop-",
        "Enable-",
        "Disable-",
        "Invoke-",
        "Out-File",
        "Export-",
        "Register-",
        "Restart-",
    ):
        assert verb not in script, verb


def test_it_reads_no_secret() -> None:
    script = expected()
    asked = set(re.findall(r"@\(('[a-z-]+'(?:, '[a-z-]+')*)\)", script))
    connectivity = [a for a in asked if "forest" in a]
    assert connectivity == ["'forest-name', 'forest-login-user', 'forest-login-domain'"]
    assert "ConnectivityParameters['" not in script
    lowered = script.lower()
    for secret in ("password'", "convertfrom-securestring", "getnetworkcredential", "credential"):
        assert secret not in lowered, secret


def test_it_writes_what_the_importer_reads() -> None:
    script = expected()
    for read in (
        importer.GS,
        importer.COMPANY,
        importer.SCHEDULER,
        importer.CONNECTOR,
        importer.RESET,
        importer.INSTALLED,
    ):
        assert f"$reads['{read}']" in script, read
    for key in (
        "format",
        "format_version",
        "collector",
        "collected_at",
        "server",
        "reads",
        "not_read",
    ):
        assert re.search(rf"^\s+{key}\s+= ", script, re.MULTILINE), key
    assert "ConvertTo-Json -Depth 8" in script
    for name in importer.INSTALLED_NAMES:
        assert f"'{name}'" in script


def test_it_names_what_it_could_not_read() -> None:
    script = expected()
    for read in (
        "Get-ADSyncGlobalSettings",
        "Get-ADSyncAADCompanyFeature",
        "Get-ADSyncScheduler",
        "Get-ADSyncConnector",
        "Get-ADSyncAADPasswordResetConfiguration",
    ):
        assert f"$notRead += [ordered]@{{ what = '{read}'" in script
        assert f'Write-Warning "wbplan: could not read {read}' in script
    assert 'Write-Host "wbplan: not read: $($item.what): $($item.reason)"' in script
