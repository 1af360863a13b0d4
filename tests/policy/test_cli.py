"""``wbplan validate`` as a command: defaults, folders, missing paths, JSON output, --debug.

Most tests run the real entry point in a subprocess (``run_wbplan``); the --debug test injects a
failure and so runs in-process with click's CliRunner.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.errors import Diagnostic
from tests.policy.corpus import DIAGNOSTIC_LINE, GOLDEN, INVALID, REPO, TODAY, VALID, run_wbplan

DIAGNOSTIC_KEYS = {f.name for f in dataclasses.fields(Diagnostic)}


def test_no_arguments_in_the_repo_root_validates_the_example() -> None:
    run = run_wbplan(["validate"], cwd=REPO)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stdout == "Valid: policies/example.yaml.\n"
    assert run.stderr == ""


def test_json_format_of_an_invalid_policy() -> None:
    case = INVALID / "many-mistakes"
    run = run_wbplan(["validate", "--format", "json", "policy.yaml"], cwd=case)
    assert run.exit_code == 1
    doc = json.loads(run.stdout)
    assert set(doc) == {"valid", "files", "diagnostics"}
    assert doc["valid"] is False
    assert doc["files"] == []
    assert doc["diagnostics"], "every problem is listed"
    for d in doc["diagnostics"]:
        assert set(d) == DIAGNOSTIC_KEYS
        assert d["file"] == "policy.yaml"
        assert d["severity"] in ("error", "warning")
        assert isinstance(d["line"], int)
        assert isinstance(d["column"], int)
    # the JSON carries the same diagnostics, at the same places, as the text golden
    golden = (case / GOLDEN).read_text(encoding="utf-8")
    from_json = [
        (d["file"], d["line"], d["column"], d["severity"], d["code"]) for d in doc["diagnostics"]
    ]
    from_text = [
        (m["file"], int(m["line"]), int(m["column"]), m["severity"], m["code"])
        for m in map(DIAGNOSTIC_LINE.match, golden.splitlines())
        if m
    ]
    assert from_json == from_text


def test_json_format_of_a_valid_policy_with_a_warning() -> None:
    run = run_wbplan(
        ["validate", "--format", "json", "policy.yaml"], cwd=VALID / "waiver-expiring-soon"
    )
    assert run.exit_code == 0
    doc = json.loads(run.stdout)
    assert doc["valid"] is True
    assert doc["files"] == ["policy.yaml"]
    assert [(d["severity"], d["code"], d["line"], d["column"]) for d in doc["diagnostics"]] == [
        ("warning", "WBP041", 21, 14)
    ]


def test_a_folder_argument_loads_every_policy_in_it() -> None:
    """``validate .`` in a two-file case reports what naming both files reports."""
    case = INVALID / "same-forest-two-files"
    run = run_wbplan(["validate", "."], cwd=case)
    assert run.exit_code == 1
    assert run.stdout == (case / GOLDEN).read_text(encoding="utf-8")


def test_a_folder_of_valid_policies() -> None:
    run = run_wbplan(["validate", "tests/policy/valid/two-forests-one-tenant"], cwd=REPO)
    assert run.exit_code == 0
    folder = "tests/policy/valid/two-forests-one-tenant"
    assert run.stdout == f"Valid: {folder}/a.yaml, {folder}/b.yaml.\n"


def test_a_folder_without_policies_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = run_wbplan(["validate", "empty"], cwd=tmp_path)
    assert run.exit_code == 1
    assert run.stdout.startswith(
        "empty:1:1: error[WBP000] the folder holds no *.yaml or *.yml policy file\n"
    )


def test_a_missing_path_is_wbp000(tmp_path: Path) -> None:
    run = run_wbplan(["validate", "missing.yaml"], cwd=tmp_path)
    assert run.exit_code == 1
    assert run.stdout.startswith("missing.yaml:1:1: error[WBP000] no such file or folder\n")
    assert "Traceback" not in run.stdout + run.stderr


def test_a_missing_path_does_not_hide_the_other_files() -> None:
    run = run_wbplan(["validate", "missing.yaml", "policies/example.yaml"], cwd=REPO)
    assert run.exit_code == 1
    assert "missing.yaml:1:1: error[WBP000]" in run.stdout
    assert "1 error(s), 0 warning(s)" in run.stdout


def test_debug_is_a_documented_option() -> None:
    run = run_wbplan(["--help"], cwd=REPO)
    assert run.exit_code == 0
    assert "--debug" in run.stdout
    run = run_wbplan(["--debug", "validate", "policies/example.yaml"], cwd=REPO)
    assert (run.exit_code, run.stdout) == (0, "Valid: policies/example.yaml.\n")


@pytest.mark.parametrize("debug", [False, True])
def test_debug_shows_the_traceback_of_an_internal_error_and_only_then(
    debug: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: an injected one) is one line without --debug, a traceback with it."""
    import planner.policy.loader
    from planner.cli import cli

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(planner.policy.loader, "load_policies", broken)
    monkeypatch.chdir(REPO)
    args = ["--debug"] if debug else []
    result = CliRunner(env={"WBPLAN_TODAY": TODAY}).invoke(cli, [*args, "validate"])
    assert result.exit_code == 1
    assert "internal error (RuntimeError: injected failure)" in result.stderr
    assert ("Traceback" in result.stderr) is debug
