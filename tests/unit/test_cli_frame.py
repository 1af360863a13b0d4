"""The CLI frame: version, help with an example for every command, and errors as one message with
exit 1 (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner import __version__
from planner.cli import cli

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [
    "validate",
    "refresh",
    "plan",
    "show",
    "apply",
    "rollback",
    "force-unlock",
    "check",
    "rules",
    "graph",
    "permissions",
    "connect-collector",
    "import",
]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "planner", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"wbplan, version {__version__}"


def test_every_design_command_is_registered() -> None:
    assert sorted(cli.commands) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"wbplan {command}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apply", "/nonexistent/plan.wbplan"], "cannot read plan file /nonexistent/plan.wbplan"),
        (["rollback", "/nonexistent/j.json"], "/nonexistent/j.json"),
    ],
)
def test_apply_and_rollback_name_a_missing_file_without_a_traceback(
    args: list[str], message: str
) -> None:
    proc = run(*args)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_refresh_without_any_source_is_a_usage_error() -> None:
    proc = run("refresh", "--policy", "policies/example.yaml", "--out", "/tmp/never-written.json")
    assert proc.returncode == 1
    assert "nothing to read" in proc.stderr
    assert "hint:" in proc.stderr
    assert not Path("/tmp/never-written.json").exists()


def test_plan_with_own_policy_but_no_state_refuses_instead_of_using_the_example(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text((REPO / "policies" / "example.yaml").read_text())
    proc = run("plan", "--policy", str(policy))
    assert proc.returncode == 1
    assert "no observed state" in proc.stderr


def test_plan_refuses_an_invalid_policy_with_its_diagnostics(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        (REPO / "policies" / "example.yaml").read_text().replace("version: v1", "version: v2")
    )
    proc = run("plan", "--policy", str(policy), "--state", str(REPO / "state" / "example.json"))
    assert proc.returncode == 1
    assert "WBP031" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_flag_shows_the_traceback_of_a_failure() -> None:
    proc = run("--debug", "apply", "/nonexistent/plan.wbplan")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    assert "PlanFileError" in proc.stderr


def test_default_plan_runs_offline_on_the_embedded_example() -> None:
    proc = run("plan")
    assert proc.returncode == 0, proc.stderr
    assert "against state/example.json" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("Plan: ")


def test_default_plan_json_is_the_document_the_text_summarises() -> None:
    proc = run("plan", "--format", "json")
    doc = json.loads(proc.stdout)
    s = doc["summary"]
    text = run("plan").stdout.rstrip().splitlines()[-1]
    assert (
        text
        == f"Plan: {s['add']} to add, {s['change']} to change, {s['destroy']} to destroy, {s['manual']} manual."
    )


def test_plan_from_a_snapshot_of_another_forest_is_refused(tmp_path: Path) -> None:
    state = json.loads((REPO / "state" / "example.json").read_text())
    state["ad"]["forest"] = "fabrikam.test"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(state))
    proc = run("plan", "--policy", str(REPO / "policies" / "example.yaml"), "--state", str(path))
    assert proc.returncode == 1
    assert "observed forest is fabrikam.test" in proc.stderr


def test_a_broken_snapshot_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"format_version": 1,\n  "oops"\n}')
    proc = run("plan", "--policy", str(REPO / "policies" / "example.yaml"), "--state", str(path))
    assert proc.returncode == 1
    assert f"{path}:3:1: not JSON" in proc.stderr


def test_a_snapshot_that_breaks_the_schema_names_the_json_path(tmp_path: Path) -> None:
    state = json.loads((REPO / "state" / "example.json").read_text())
    state["ad"]["schema_info"]["object_version"] = "sixty-nine"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(state))
    proc = run("plan", "--policy", str(REPO / "policies" / "example.yaml"), "--state", str(path))
    assert proc.returncode == 1
    assert "ad.schema_info.object_version" in proc.stderr


def test_output_into_a_missing_folder_creates_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from planner.cli import cli

    target = tmp_path / "out" / "nested" / "plan.md"
    result = CliRunner().invoke(
        cli, ["plan", "--example", "--format", "markdown", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("### wbplan plan")
