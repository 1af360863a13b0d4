"""The composite GitHub Action (``action.yml``) run as GitHub would run its steps: each ``run:``
script, with ``${{ inputs.* }}`` and ``${{ github.action_path }}`` substituted, under
``bash --noprofile --norc -eo pipefail`` (GitHub's ``shell: bash``), in the step's
working directory, with ``GITHUB_ENV`` / ``GITHUB_OUTPUT`` / ``GITHUB_PATH`` files carried from
step to step. ``uses:`` steps (actions/setup-python) are skipped: the runner's Python stands in.

Offline: the plan and check read the example snapshot (``state`` input, ``ldap-url`` empty).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent.parent
ACTION = REPO / "action.yml"
EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
CONDITION = re.compile(r"^inputs\.([\w-]+)\s*(==|!=)\s*'([^']*)'$")


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text("utf-8"))
    return data


def _substitute(text: str, inputs: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr == "github.action_path":
            return str(REPO)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        raise AssertionError(f"expression the test does not emulate: {expr}")

    return EXPR.sub(value, text)


def _enabled(condition: Any, inputs: dict[str, str]) -> bool:
    """The ``if:`` conditions action.yml uses: ``inputs.X != 'y'`` joined with ``&&``."""
    if condition is None:
        return True
    results = []
    for part in str(condition).split("&&"):
        match = CONDITION.match(part.strip())
        assert match, f"condition the test does not emulate: {part}"
        name, op, literal = match.groups()
        results.append((inputs[name] == literal) == (op == "=="))
    return all(results)


@dataclass
class Run:
    """What the action's steps did."""

    failed_step: str | None
    exit_code: int
    outputs: dict[str, str] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)


def run_action(
    workspace: Path,
    given: dict[str, str],
    *,
    path_prefix: str = "",
    extra_env: dict[str, str] | None = None,
) -> Run:
    """Run every enabled ``run:`` step of action.yml with ``given`` inputs in ``workspace``
    (``extra_env``: variables the runner's environment has besides this process's)."""
    spec = action()
    inputs = {name: str(meta.get("default", "")) for name, meta in spec["inputs"].items()}
    for name, meta in spec["inputs"].items():
        if meta.get("required"):
            assert name in given, f"required input {name} not given"
    unknown = set(given) - set(inputs)
    assert not unknown, f"inputs action.yml does not declare: {unknown}"
    inputs.update(given)
    runner = workspace / "_runner"
    runner.mkdir()
    files = {k: runner / k.lower() for k in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
    for f in files.values():
        f.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra_env or {})
    env.update({k: str(v) for k, v in files.items()})
    env.update(RUNNER_TEMP=str(runner), NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env["PATH"] = path_prefix + env["PATH"]
    result = Run(failed_step=None, exit_code=0)
    for index, step in enumerate(spec["runs"]["steps"]):
        name = step.get("name", f"step {index}")
        if "uses" in step or not _enabled(step.get("if"), inputs):
            continue
        assert step.get("shell") == "bash", f"{name}: every run step says shell: bash"
        output = runner / f"output-{index}"
        output.touch()
        step_env = dict(env, GITHUB_OUTPUT=str(output))
        for key, value in (step.get("env") or {}).items():
            step_env[key] = _substitute(str(value), inputs)
        for line in files["GITHUB_ENV"].read_text("utf-8").splitlines():
            key, _, value = line.partition("=")
            step_env[key] = value
        extra = files["GITHUB_PATH"].read_text("utf-8").split()
        step_env["PATH"] = os.pathsep.join([*reversed(extra), step_env["PATH"]])
        script = runner / f"step-{index}.sh"
        script.write_text(_substitute(step["run"], inputs), encoding="utf-8")
        cwd = workspace / _substitute(str(step.get("working-directory", ".")), inputs)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        result.logs.append(f"== {name} (exit {proc.returncode})\n{proc.stdout}{proc.stderr}")
        if step.get("id"):
            for line in output.read_text("utf-8").splitlines():
                key, _, value = line.partition("=")
                result.outputs[f"{step['id']}.{key}"] = value
        if proc.returncode != 0:
            result.failed_step, result.exit_code = name, proc.returncode
            break
    return result


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A repository of one's own: the example policy and snapshot under policies/ and state/."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "state").mkdir()
    shutil.copy(REPO / "policies" / "example.yaml", tmp_path / "policies" / "example.yaml")
    shutil.copy(REPO / "state" / "example.json", tmp_path / "state" / "example.json")
    return tmp_path


@pytest.fixture
def wbplan_on_path(tmp_path: Path) -> str:
    """A ``wbplan`` on PATH running this checkout (for ``install: none``)."""
    bin_dir = tmp_path / "_bin"
    bin_dir.mkdir()
    shim = bin_dir / "wbplan"
    shim.write_text(
        f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m planner "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}"


OFFLINE = {
    "policy": "policies/example.yaml",
    "state": "state/example.json",
    "install": "none",
    "python-version": "",
}


def test_action_declares_its_interface() -> None:
    spec = action()
    assert spec["runs"]["using"] == "composite"
    for name in (
        "policy",
        "ldap-url",
        "ca-file",
        "state",
        "markdown-file",
        "sarif-file",
        "working-directory",
        "python-version",
        "install",
    ):
        assert "description" in spec["inputs"][name], name
    assert set(spec["outputs"]) >= {"exitcode", "has-changes", "markdown-file", "sarif-file"}
    uses = [s["uses"] for s in spec["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python@v5"]
    text = ACTION.read_text("utf-8")
    assert "${{ github.action_path }}" in text
    assert "--detailed-exitcode" in text and "--format sarif" in text


def test_changes_exit_2_is_not_a_failure(workspace: Path, wbplan_on_path: str) -> None:
    run = run_action(
        workspace,
        {**OFFLINE, "markdown-file": "out/plan.md", "sarif-file": "wbplan.sarif"},
        path_prefix=wbplan_on_path,
    )
    logs = "\n".join(run.logs)
    assert run.failed_step is None, logs
    assert run.outputs["plan.exitcode"] == "2"
    assert run.outputs["plan.has-changes"] == "true"
    md = (workspace / "out" / "plan.md").read_text("utf-8")
    assert md.startswith("### wbplan plan: contoso-test")
    assert "| to add | to change |" in md
    assert (workspace / "_runner" / "github_step_summary").read_text("utf-8") == md
    assert run.outputs["check.sarif-file"] == "wbplan.sarif"
    assert '"version": "2.1.0"' in (workspace / "wbplan.sarif").read_text("utf-8")


def test_no_changes_exit_0(tmp_path: Path, wbplan_on_path: str) -> None:
    scenario = REPO / "tests" / "plan" / "scenarios" / "fully-prepared"
    work = tmp_path / "repo"
    shutil.copytree(scenario, work / "infra")
    run = run_action(
        work,
        {
            **OFFLINE,
            "working-directory": "infra",
            "policy": "policy.yaml",
            "state": "state.json",
            "plan-file": "plan.wbplan",
        },
        path_prefix=wbplan_on_path,
    )
    assert run.failed_step is None, "\n".join(run.logs)
    assert (run.outputs["plan.exitcode"], run.outputs["plan.has-changes"]) == ("0", "false")
    assert (work / "infra" / "wbplan-plan.md").is_file()
    assert (work / "infra" / "plan.wbplan").is_file()
    assert "check.sarif-file" not in run.outputs  # sarif-file empty: no check step


def test_an_invalid_policy_stops_at_validate(workspace: Path, wbplan_on_path: str) -> None:
    bad = workspace / "policies" / "example.yaml"
    bad.write_text(bad.read_text("utf-8").replace("kind: WritebackPolicy", "kind: Nope"), "utf-8")
    run = run_action(workspace, OFFLINE, path_prefix=wbplan_on_path)
    assert run.failed_step == "wbplan validate" and run.exit_code == 1, "\n".join(run.logs)
    assert not (workspace / "wbplan-plan.md").exists()


def test_a_plan_error_fails_the_step(workspace: Path, wbplan_on_path: str) -> None:
    run = run_action(
        workspace,
        {**OFFLINE, "validate-paths": "policies/", "state": "state/missing.json"},
        path_prefix=wbplan_on_path,
    )
    assert run.failed_step == "wbplan plan (Markdown)", "\n".join(run.logs)
    assert run.exit_code == 1
    assert "::error::wbplan plan failed (exit 1)" in run.logs[-1]


@pytest.mark.slow
def test_the_action_installs_wbplan_from_its_own_checkout(workspace: Path) -> None:
    """``install: venv``: a venv in RUNNER_TEMP with ``pip install ${{ github.action_path }}``
    (needs the machine's package index for the dependencies, as scripts/test.sh does)."""
    run = run_action(workspace, {**OFFLINE, "install": "venv"})
    logs = "\n".join(run.logs)
    if run.failed_step == "Install wbplan" and re.search(
        r"No matching distribution|Could not find a version|Failed to establish", logs
    ):
        pytest.skip(f"no package index reachable for wbplan's dependencies:\n{logs[-2000:]}")
    assert run.failed_step is None, logs
    venv_wbplan = workspace / "_runner" / "wbplan-venv" / "bin" / "wbplan"
    assert f"WBPLAN={venv_wbplan}" in (workspace / "_runner" / "github_env").read_text("utf-8")
    assert run.outputs["plan.exitcode"] == "2"
    assert (workspace / "wbplan-plan.md").read_text("utf-8").startswith("### wbplan plan:")


def _without_wbplan(path: str) -> str:
    """``PATH`` without the folders that hold a ``wbplan`` (this checkout's venv, a user's
    install), so that the one the action finds is the one it installed."""
    return os.pathsep.join(
        d for d in path.split(os.pathsep) if d and not (Path(d) / "wbplan").exists()
    )


@pytest.fixture(scope="module")
def pipx_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``pipx``: the machine's, else pipx pip-installed into a venv of its own
    (skipped, saying why, when neither works; no system package is installed)."""
    found = shutil.which("pipx")
    if found is not None:
        return Path(found).parent
    root = tmp_path_factory.mktemp("pipx")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False
        )

    made = run([sys.executable, "-m", "venv", str(root / "venv")])
    if made.returncode != 0:
        pytest.skip(f"pipx is not installed and no venv can be made for it: {made.stderr.strip()}")
    installed = run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "pipx"])
    if installed.returncode != 0:
        pytest.skip(
            "pipx is not installed and not pip-installable here "
            f"(pip: {installed.stderr.strip()[-500:]})"
        )
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "pipx").symlink_to(root / "venv" / "bin" / "pipx")  # pipx alone, not its python
    return bin_dir


@pytest.mark.slow
@pytest.mark.parametrize("on_path", [True, False], ids=["bin on PATH", "bin not on PATH"])
def test_the_action_installs_wbplan_with_pipx(
    workspace: Path, pipx_bin: Path, on_path: bool
) -> None:
    """``install: pipx``: ``pipx install --force ${{ github.action_path }}``, then the
    ``wbplan`` in pipx's bin folder (``pipx environment --value PIPX_BIN_DIR``), whether or not
    that folder is on PATH (it is on GitHub's runners, as ~/.local/bin). pipx's home and bin
    folder are the test's own (PIPX_HOME, PIPX_BIN_DIR), so nothing outside the temporary
    folder is touched."""
    pipx_home, bin_dir = workspace / "_pipx" / "home", workspace / "_pipx" / "bin"
    path = _without_wbplan(os.environ["PATH"])
    if on_path:
        path = os.pathsep.join([str(bin_dir), path])
    run = run_action(
        workspace,
        {**OFFLINE, "install": "pipx"},
        extra_env={
            "PIPX_HOME": str(pipx_home),
            "PIPX_BIN_DIR": str(bin_dir),
            "PIPX_MAN_DIR": str(workspace / "_pipx" / "man"),
            "PATH": os.pathsep.join([str(pipx_bin), path]),
        },
    )
    logs = "\n".join(run.logs)
    if run.failed_step == "Install wbplan" and re.search(
        r"No matching distribution|Could not find a version|Failed to establish", logs
    ):
        pytest.skip(f"no package index reachable for wbplan's dependencies:\n{logs[-2000:]}")
    assert run.failed_step is None, logs
    wbplan = bin_dir / "wbplan"
    assert f"WBPLAN={wbplan}" in (workspace / "_runner" / "github_env").read_text("utf-8")
    # the command pipx exposes runs from pipx's own venv for wbplan
    assert wbplan.resolve().is_relative_to(pipx_home.resolve()), wbplan.resolve()
    assert "installed package wbplan" in logs
    assert run.outputs["plan.exitcode"] == "2"
    assert (workspace / "wbplan-plan.md").read_text("utf-8").startswith("### wbplan plan:")
