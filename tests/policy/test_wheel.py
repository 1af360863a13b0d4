"""The installed wheel works from any directory (issue #2: "pip install . into a new venv, then
cd /tmp && wbplan validate /path/to/policies/example.yaml works").

The wheel is built from this source tree and installed into a fresh venv. The venv sees the
site-packages of the interpreter running the tests (a ``.pth`` line, after its own) only so that
dependencies are not downloaded again — ``--system-site-packages`` would not do when the tests
run in a venv themselves (``scripts/test.sh``): it shows the *base* interpreter's packages;
``planner`` itself must be imported from the venv, and the commands run from a directory with no ``schemas/`` or
``policies/`` in sight, so passing proves the schemas and the example ship inside the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.policy.corpus import REPO, TODAY

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(WBPLAN_TODAY=TODAY, NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel of this tree installed; returns its bin/ folder."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        cwd=root,
    )
    assert built.returncode == 0, built.stderr
    wheels = list(dist.glob("wbplan-*.whl"))
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    for bundled in (
        "planner/_bundled/schemas/policy.schema.json",
        "planner/_bundled/policies/example.yaml",
    ):
        assert bundled in names
    env_dir = root / "venv"
    made = _run([sys.executable, "-m", "venv", str(env_dir)], cwd=root)
    assert made.returncode == 0, made.stderr
    bin_dir = env_dir / "bin"
    # the dependencies, from the site-packages of the interpreter running the tests: plain path
    # lines, so its .pth files (an editable wbplan among them) are not processed
    site = _run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=root,
    )
    assert site.returncode == 0, site.stderr
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site.stdout.strip()) / "_wbplan_test_deps.pth").write_text(
        "".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8"
    )
    # --ignore-installed: an editable wbplan in the system site-packages must not satisfy it
    installed = _run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
         str(wheels[0])],
        cwd=root,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return bin_dir


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An empty working directory outside the source tree."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    return cwd


def test_planner_is_imported_from_the_venv(venv: Path, elsewhere: Path) -> None:
    shown = _run([str(venv / "python"), "-c", "import planner; print(planner.__file__)"], elsewhere)
    assert shown.returncode == 0, shown.stderr
    location = Path(shown.stdout.strip()).resolve()
    assert location.is_relative_to(venv.parent.resolve())
    assert not location.is_relative_to(REPO)


def test_installed_wbplan_validates_the_example_by_absolute_path(
    venv: Path, elsewhere: Path
) -> None:
    example = REPO / "policies" / "example.yaml"
    run = _run([str(venv / "wbplan"), "validate", str(example)], elsewhere)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == f"Valid: {example}.\n"


def test_installed_wbplan_without_a_policy_outside_a_checkout_says_where_it_looked(
    venv: Path, elsewhere: Path
) -> None:
    run = _run([str(venv / "wbplan"), "validate"], elsewhere)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout == ""
    assert f"Error: no policy found: --policy was not given, and {elsewhere} is not a wbplan" in (
        run.stderr
    )
    assert "--example" in run.stderr


def test_installed_wbplan_example_uses_the_bundled_example(venv: Path, elsewhere: Path) -> None:
    run = _run([str(venv / "wbplan"), "validate", "--example"], elsewhere)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Valid: ")
    shown = Path(run.stdout.removeprefix("Valid: ").rstrip().removesuffix("."))
    assert shown.name == "example.yaml"
    assert shown.parent.name == "policies"
    assert shown.parent.parent.name == "_bundled"
    assert shown.resolve().is_relative_to(venv.parent.resolve())
    planned = _run([str(venv / "wbplan"), "plan", "--example"], elsewhere)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "Plan: " in planned.stdout


def test_installed_wbplan_reports_an_invalid_policy(venv: Path, elsewhere: Path) -> None:
    """Diagnostics need the bundled schema too: an unknown key is found by the schema."""
    (elsewhere / "policy.yaml").write_text(
        (REPO / "policies" / "example.yaml").read_text(encoding="utf-8") + "colour: blue\n",
        encoding="utf-8",
    )
    run = _run([str(venv / "wbplan"), "validate", "policy.yaml"], elsewhere)
    assert run.returncode == 1
    assert "error[WBP010] colour: unknown key 'colour'" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
