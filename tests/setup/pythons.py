"""Python interpreters for the setup tests: one that refuses ``pip install`` outside a venv the
way Debian's does (PEP 668), and the environment a fresh shell would give it.

``pip`` ignores an ``EXTERNALLY-MANAGED`` marker inside a virtual environment (it checks
``sys.prefix != sys.base_prefix`` first), so a venv with the marker in its stdlib folder would
not refuse anything. The externally managed interpreter is therefore Debian's own
``/usr/bin/python3`` where it carries the marker (Debian 12 and later), else a *copy prefix*
made here: the interpreter binary copied into a folder of its own, the standard library linked
in entry by entry, pip linked into its site-packages, and the ``EXTERNALLY-MANAGED`` marker in
its stdlib folder — an installation whose ``sysconfig.get_path("stdlib")`` holds the marker,
exactly what pip checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

DEBIAN_PYTHON = Path("/usr/bin/python3")
MARKER = "EXTERNALLY-MANAGED"
MARKER_TEXT = (
    "[externally-managed]\n"
    "Error=To install Python packages system-wide, try apt install python3-xyz.\n"
    " (an externally managed Python made by wbplan's setup tests, like Debian's)\n"
)


def describe(python: Path) -> dict[str, str]:
    """``prefix``, ``base_prefix`` and ``stdlib`` of an interpreter, as it reports them."""
    code = (
        "import json, sys, sysconfig; print(json.dumps({'prefix': sys.prefix, "
        "'base_prefix': sys.base_prefix, 'stdlib': sysconfig.get_path('stdlib')}))"
    )
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


def is_externally_managed(python: Path) -> bool:
    """What pip checks: not a venv, and the marker in the stdlib folder."""
    try:
        info = describe(python)
    except (OSError, subprocess.SubprocessError):
        return False
    return info["prefix"] == info["base_prefix"] and (Path(info["stdlib"]) / MARKER).is_file()


def copy_prefix(root: Path) -> Path:
    """An externally managed installation made from the running interpreter's base; returns
    its ``bin/python3``."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    base_exe = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    base_stdlib = Path(sysconfig.get_path("stdlib"))  # a venv's is its base's: never copied
    pip_dir = subprocess.run(
        [str(base_exe), "-c", "import os, pip; print(os.path.dirname(pip.__file__))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    (root / "bin").mkdir(parents=True)
    python = root / "bin" / "python3"
    shutil.copy2(base_exe, python)  # a copy, not a link: the prefix is found from its location
    stdlib = root / "lib" / version
    stdlib.mkdir(parents=True)
    for entry in base_stdlib.iterdir():
        if entry.name not in ("site-packages", "dist-packages", MARKER):
            (stdlib / entry.name).symlink_to(entry)
    site = stdlib / "site-packages"
    site.mkdir()
    (site / "pip").symlink_to(pip_dir)
    (stdlib / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return python


def externally_managed_python(root: Path) -> tuple[Path, str]:
    """(interpreter, how it was found): Debian's own python3 where it is externally managed,
    else a copy prefix under ``root``."""
    if os.environ.get("WBPLAN_SETUP_PYTHON") != "copy" and is_externally_managed(DEBIAN_PYTHON):
        return DEBIAN_PYTHON, f"{DEBIAN_PYTHON} (externally managed)"
    python = copy_prefix(root / "em-python")
    return python, f"a copy prefix of {sys.base_prefix} with {MARKER}"


def fresh_shell_env(python: Path, bin_dir: Path) -> dict[str, str]:
    """The environment of a new shell where ``python3`` is ``python``: a folder holding only a
    ``python3`` link first on PATH; no venv, PYTHONPATH or PYTHONHOME of the test run."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "python3"
    if not link.exists():
        link.symlink_to(python)
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("WBPLAN_")}
    rest = [
        p
        for p in env.get("PATH", os.defpath).split(os.pathsep)
        if p and not (Path(p) / "activate").is_file()  # a venv's bin folder
    ]
    env["PATH"] = os.pathsep.join([str(bin_dir), *rest])
    env["NO_COLOR"] = "1"
    return env
