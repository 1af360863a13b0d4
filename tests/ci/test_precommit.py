"""The ``wbplan-validate`` pre-commit hook (``.pre-commit-hooks.yaml``): its structure against
pre-commit's documented hook keys, and — when pre-commit can be pip-installed — a real
``pre-commit try-repo <this checkout> wbplan-validate --files …`` in a repository of one's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent.parent
HOOKS = REPO / ".pre-commit-hooks.yaml"

DOCUMENTED_KEYS = {
    # https://pre-commit.com/#creating-new-hooks
    "id", "name", "entry", "language", "files", "exclude", "types", "types_or",
    "exclude_types", "always_run", "fail_fast", "verbose", "pass_filenames", "require_serial",
    "description", "language_version", "minimum_pre_commit_version", "args", "stages",
    "additional_dependencies",
}  # fmt: skip
REQUIRED_KEYS = {"id", "name", "entry", "language"}


def hooks() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = yaml.safe_load(HOOKS.read_text("utf-8"))
    return data


def test_hook_file_has_pre_commits_shape() -> None:
    data = hooks()
    assert isinstance(data, list) and len(data) == 1
    hook = data[0]
    assert REQUIRED_KEYS <= set(hook) <= DOCUMENTED_KEYS, set(hook) - DOCUMENTED_KEYS
    assert hook["id"] == "wbplan-validate"
    assert hook["language"] == "python"
    assert hook["entry"] == "wbplan validate"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    for path in ("policies/example.yaml", "policies/prod.yml", "policies/eu/prod.yaml"):
        assert files.search(path), path
    for path in ("docs/x.yaml", "state/example.json", "policies/README.md", "x/policies/a.yaml"):
        assert not files.search(path), path


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit installed into a venv of its own (skipped when it cannot be installed)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("pre-commit")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    made = _run([sys.executable, "-m", "venv", str(root / "venv")], root, env)
    if made.returncode != 0:
        pytest.skip(f"cannot make a venv for pre-commit: {made.stderr.strip()}")
    pip = [str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "pre-commit"]
    installed = _run(pip, root, env)
    if installed.returncode != 0:
        pytest.skip(f"pre-commit is not installable here (pip: {installed.stderr.strip()[-500:]})")
    return root / "venv" / "bin" / "pre-commit"


@pytest.mark.slow
def test_try_repo_validates_policies(pre_commit: Path, tmp_path: Path) -> None:
    work = tmp_path / "infra"
    (work / "policies").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "example.yaml", work / "policies" / "example.yaml")
    bad = (
        (REPO / "policies" / "example.yaml")
        .read_text("utf-8")
        .replace("kind: WritebackPolicy", "kind: Nope")
    )
    (work / "policies" / "broken.yaml").write_text(bad, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "cache"),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.test",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.test",
        NO_COLOR="1",
    )
    assert _run(["git", "init", "-q"], work, env).returncode == 0
    assert _run(["git", "add", "."], work, env).returncode == 0
    good = _run(
        [str(pre_commit), "try-repo", str(REPO), "wbplan-validate", "--files",
         "policies/example.yaml"],
        work,
        env,
    )  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"wbplan validate\.+Passed", good.stdout), good.stdout
    failed = _run(
        [str(pre_commit), "try-repo", str(REPO), "wbplan-validate", "--files",
         "policies/broken.yaml"],
        work,
        env,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"wbplan validate\.+Failed", failed.stdout), failed.stdout
    assert "policies/broken.yaml:" in failed.stdout
