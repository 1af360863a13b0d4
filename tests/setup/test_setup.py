"""Setup on stock Debian (issue 15 §1): the README's first command works with an externally
managed ``python3`` (PEP 668) and nothing installed but what it installs itself, and
``scripts/test.sh`` makes the same kind of project-local venv and stops at the first failed
install with pip's own error.

The fresh-clone test clones this repository's committed ``HEAD`` (what a new user gets), so it
checks committed files; run it after committing setup changes. It needs git and PyPI (or the
machine's pip configuration) to install wbplan's dependencies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import planner
from tests.setup.pythons import externally_managed_python, fresh_shell_env

REPO = Path(planner.__file__).resolve().parent.parent
README = REPO / "README.md"


def first_command() -> str:
    """The README's first shell command (its first ```sh block)."""
    found = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert found, "README.md has no ```sh block"
    return found.group(1).strip()


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_the_readme_starts_with_one_command_that_needs_no_system_pip() -> None:
    command = first_command()
    assert "\n" not in command
    assert command == "bash scripts/quickstart.sh"
    # no system-wide pip install: that is what Debian's python3 refuses
    assert "pip install" not in command


@pytest.mark.slow
def test_fresh_clone_on_an_externally_managed_python_plans_and_prepares_the_tests(
    tmp_path: Path,
) -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of wbplan to clone")
    python, how = externally_managed_python(tmp_path)
    env = fresh_shell_env(python, tmp_path / "path-bin")
    clone = tmp_path / "clone"
    cloned = run([git, "clone", "-q", str(REPO), str(clone)], tmp_path, env)
    assert cloned.returncode == 0, cloned.stderr

    # The environment is Debian's: a system-wide install is refused (PEP 668).
    refused = run(["python3", "-m", "pip", "install", "."], clone, env)
    assert refused.returncode != 0, f"{how} accepted a system-wide install"
    assert "externally-managed-environment" in refused.stdout + refused.stderr, how

    # The README's first command: venv, install, plan.
    done = run(["bash", "-c", first_command()], clone, env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{how}:\n{out}"
    assert re.search(r"^Plan: \d+ to add, \d+ to change, \d+ to destroy", done.stdout, re.M), out
    assert (clone / ".venv" / "bin" / "wbplan").is_file()

    # scripts/test.sh uses the same venv for the test tools (stopping before the suite).
    prepared = run(
        ["bash", "scripts/test.sh"],
        clone,
        env | {"WBPLAN_TEST_DRY_RUN": "1", "WBPLAN_SKIP_APT": "1"},
    )
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    assert "== ruff" not in prepared.stdout
    for tool in ("ruff", "mypy", "pytest"):
        version = run(
            [str(clone / ".venv" / "bin" / "python"), "-m", tool, "--version"], clone, env
        )
        assert version.returncode == 0, version.stderr


def test_test_sh_stops_at_a_failed_install_with_pip_s_error(tmp_path: Path) -> None:
    """No index and no local wheels: pip cannot get the build backend. The script must exit
    non-zero with pip's error, before ruff (the failure `|| true` used to hide until "No module
    named ruff")."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "WBPLAN_"))}
    env.pop("VIRTUAL_ENV", None)
    env |= {
        "PIP_CONFIG_FILE": os.devnull,  # ignore the machine's index settings
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(empty),
        "WBPLAN_VENV": str(tmp_path / "venv"),
        "WBPLAN_SKIP_APT": "1",
    }
    done = run(["bash", str(REPO / "scripts" / "test.sh")], tmp_path, env, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "ERROR:" in out and "hatchling" in out, out
    assert "== ruff" not in out
    assert "No module named" not in out


def test_test_sh_keeps_its_ci_contract() -> None:
    """.ci/run calls exactly `bash scripts/test.sh`; the script fails on any error of a pipeline
    and installs nothing with `|| true` after it."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec bash scripts/test.sh\n" in ci
    script = (REPO / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    for line in script.splitlines():
        if "pip install" in line or "apt-get install" in line:
            assert "|| true" not in line, line
    assert "python3-venv" in script
