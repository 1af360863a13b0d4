#!/usr/bin/env bash
# The README's test command: installs everything the suite needs on a fresh Debian machine
# (apt packages for the Samba AD DC and LDAP tools; a project-local virtual environment, .venv,
# holding the Python package with its test extras), then runs lint, type checks and the whole
# test suite from that venv. .ci/run calls exactly this.
#
# The venv works the same with Debian's own python3 (which refuses `pip install` outside a venv,
# PEP 668) and with any other python3 >= 3.11. Every install step fails the script with pip's or
# apt's own error; nothing after a failed install runs.
#
# Environment (all optional):
#   PYTHON=python3            interpreter the venv is made from
#   WBPLAN_VENV=.venv         the venv's folder
#   WBPLAN_SKIP_APT=1         do not check or install apt packages (machines you manage yourself)
#   WBPLAN_TEST_DRY_RUN=1     stop after installing: no ruff, mypy or pytest
# Arguments are passed to pytest (e.g. `bash scripts/test.sh -m "not samba" tests/policy`).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${WBPLAN_VENV:-.venv}"

APT_PACKAGES=(samba samba-ad-dc samba-ad-provision winbind krb5-user ldb-tools ldap-utils smbclient libkrb5-dev graphviz chromium python3-venv)
if [ "${WBPLAN_SKIP_APT:-}" != "1" ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# pip's output without the one line pip prints when it runs as root outside a venv; the pipeline
# keeps pip's exit code (pipefail; the filter itself never fails).
quiet_root_warning() {
  grep -v "Running pip as the 'root' user" || true
}

if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    echo "test.sh: $VENV exists and is not a virtual environment; move it or set WBPLAN_VENV" >&2
    exit 1
  fi
  rm -rf "$VENV"  # missing, or left half-made (no pip) by an earlier failure
  echo "== creating the virtual environment $VENV ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

echo "== installing wbplan with its test extras into $VENV"
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | quiet_root_warning

if [ "${WBPLAN_TEST_DRY_RUN:-}" = "1" ]; then
  echo "== WBPLAN_TEST_DRY_RUN=1: installed; not running ruff, mypy or pytest"
  exit 0
fi

echo "== ruff"
"$PY" -m ruff check planner tests bench
"$PY" -m ruff format --check planner tests bench
echo "== mypy (strict) on planner/"
"$PY" -m mypy
echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider "$@"
