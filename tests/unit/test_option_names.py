"""Consistent options (issue 15 §6): ``-o/--output`` is always where the rendered output goes
(the plan, report, graph, tables, or the file ``apply --emit`` writes); ``-out/--out`` is the
saved plan (``plan``) or the snapshot (``refresh``). Old spellings stay as hidden aliases."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from planner.cli import cli

OUTPUT_COMMANDS = {
    "plan",
    "show",
    "graph",
    "check",
    "apply",
    "permissions",
    "rules",
    "connect-collector",
    "import",
}
OUT_COMMANDS = {"plan": "saved plan", "refresh": "snapshot"}


def options() -> list[tuple[str, click.Option]]:
    return [
        (name, param)
        for name, command in sorted(cli.commands.items())
        for param in command.params
        if isinstance(param, click.Option)
    ]


def test_dash_o_is_always_output_and_output_always_has_dash_o() -> None:
    found = set()
    for command, option in options():
        spellings = set(option.opts) | set(option.secondary_opts)
        if "-o" in spellings or "--output" in spellings:
            assert set(option.opts) == {"-o", "--output"}, (command, option.opts)
            assert option.name == "output"
            found.add(command)
    assert found == OUTPUT_COMMANDS


def test_dash_out_is_the_saved_plan_or_snapshot() -> None:
    found = {}
    for command, option in options():
        if "--out" in option.opts or "-out" in option.opts:
            assert set(option.opts) == {"-out", "--out"}, (command, option.opts)
            found[command] = option.help or ""
    assert set(found) == set(OUT_COMMANDS)
    assert "apply" in found["plan"]
    assert "Snapshot" in found["refresh"]


def test_no_other_single_dash_long_options() -> None:
    for command, option in options():
        for spelling in option.opts:
            if spelling.startswith("-") and not spelling.startswith("--"):
                assert spelling in ("-o", "-out", "-h"), (command, spelling)


def test_graph_takes_the_plan_file_as_its_argument_and_keeps_plan_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["plan", "--example", "-out", "p.wbplan"]).exit_code == 0
    new = runner.invoke(cli, ["graph", "p.wbplan"])
    old = runner.invoke(cli, ["graph", "--plan", "p.wbplan"])
    assert new.exit_code == old.exit_code == 0, new.output + old.output
    assert new.stdout == old.stdout and new.stdout.startswith("flowchart")
    assert "--plan" not in runner.invoke(cli, ["graph", "--help"]).output
    both = runner.invoke(cli, ["graph", "p.wbplan", "--plan", "p.wbplan"])
    assert both.exit_code == 1
    written = runner.invoke(cli, ["graph", "p.wbplan", "-o", "g.mmd"])
    assert written.exit_code == 0
    assert (tmp_path / "g.mmd").read_text() == new.stdout


def test_refresh_accepts_the_terraform_spelling() -> None:
    result = CliRunner().invoke(cli, ["refresh", "--help"])
    assert "-out, --out PATH" in result.output
