#!/usr/bin/env bash
# The README's test command: installs everything the suite needs on a fresh Debian machine
# (apt packages for the Samba AD DC and LDAP tools, the Python package with its test extras),
# then runs lint, type checks and the whole test suite. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(samba samba-ad-dc samba-ad-provision winbind krb5-user ldb-tools ldap-utils smbclient libkrb5-dev graphviz chromium)
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

echo "== installing wbplan with its test extras"
python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "Running pip as the 'root' user" || true

echo "== ruff"
python3 -m ruff check planner tests bench
python3 -m ruff format --check planner tests bench
echo "== mypy (strict) on planner/"
python3 -m mypy
echo "== pytest"
python3 -m pytest -q -p no:cacheprovider "$@"
