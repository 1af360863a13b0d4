#!/usr/bin/env bash
# The README's first command: a project-local virtual environment (.venv) with wbplan in it, then
# `wbplan plan` on the embedded example. Works with Debian's own python3, which refuses
# `pip install` outside a venv (PEP 668, "externally-managed-environment").
#
#   bash scripts/quickstart.sh                 # venv + install + `wbplan plan`
#   bash scripts/quickstart.sh check           # … then `wbplan check` instead (any wbplan arguments)
#
# Debian's python3 creates venvs only with the python3-venv package (it holds ensurepip). When it
# is missing, this script installs it with apt-get if it runs as root, and otherwise says how.
# Environment: PYTHON (default python3) picks the interpreter, WBPLAN_VENV (default .venv) the
# venv's folder. Afterwards: .venv/bin/wbplan … (or `pipx install .` for daily use, see README).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${WBPLAN_VENV:-.venv}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "quickstart: $PYTHON not found; install Python 3.11 or newer (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi

# True when "$PYTHON" can make a venv with pip in it (Debian: needs python3-venv).
can_make_venv() {
  "$PYTHON" -c 'import ensurepip, venv; ensurepip.version()' >/dev/null 2>&1
}

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  if ! can_make_venv; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing python3-venv (Debian's python3 needs it to create a virtual environment)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    else
      echo "quickstart: $PYTHON cannot create a virtual environment (ensurepip is missing)." >&2
      echo "  On Debian/Ubuntu: sudo apt-get install python3-venv   then run this script again." >&2
      exit 1
    fi
  fi
  # A venv left half-made by an earlier failure (no pip in it) is made again; anything else
  # in the way is left alone.
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    echo "quickstart: $VENV exists and is not a virtual environment; move it or set WBPLAN_VENV" >&2
    exit 1
  fi
  rm -rf "$VENV"
  echo "== creating the virtual environment $VENV ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv "$VENV"
fi

echo "== installing wbplan into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check .

if [ "$#" -eq 0 ]; then
  set -- plan
fi
echo "== $VENV/bin/wbplan $*"
exec "$VENV/bin/wbplan" "$@"
