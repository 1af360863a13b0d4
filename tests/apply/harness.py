"""Shared helpers of the apply tests: policies for the harness DCs, the real CLI in a
subprocess (secrets only in its environment, asserted absent from its output and files), and
DACL snapshots compared ACE by ACE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ldap3

import planner
from planner.model.state import Ace
from planner.observe.sd import parse_descriptor
from tests.ad.adops import read_sd
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC

REPO = Path(planner.__file__).resolve().parent.parent
STAFF = "OU=Staff,DC=contoso,DC=test"
SALES = "OU=Sales,DC=contoso,DC=test"
CLOUD_GROUPS = "OU=CloudGroups,DC=contoso,DC=test"
CONFIG = "CN=Configuration,DC=contoso,DC=test"
SERVICES = f"CN=Services,{CONFIG}"
DRS_CONFIG = f"CN=Device Registration Configuration,{SERVICES}"
DRS_SERVICES = f"CN=Device Registration Services,{DRS_CONFIG}"
DRS_SERVICE = f"CN=DeviceRegistrationService,{DRS_SERVICES}"
DEVICES = "CN=RegisteredDevices,DC=contoso,DC=test"
DOMAIN = "DC=contoso,DC=test"


def policy_text(
    *,
    device: bool = False,
    password: tuple[str, ...] = (),
    unexpire: bool = False,
    group: bool = False,
) -> str:
    lines = [
        "apiVersion: wbplan.dev/v1",
        "kind: WritebackPolicy",
        "metadata: {name: apply-test}",
        "forest: contoso.test",
        f"tenant: {{id: {graph_tenants.TENANT_ID}, domain: contoso.onmicrosoft.com}}",
        'connector: {account: "CONTOSO\\\\MSOL_1a2b3c4d5e6f"}',
        "licences: {require: [AAD_PREMIUM]}",
        "writeback:",
    ]
    if device:
        lines.append("  device: {enabled: true, domain: contoso.test}")
    if password:
        scope = ", ".join(f'"{s}"' for s in password)
        lines.append(
            f"  password: {{enabled: true, scope: [{scope}], unexpire_password: {str(unexpire).lower()}}}"
        )
    if group:
        lines.append(
            f'  group: {{enabled: true, version: v1, container: "{CLOUD_GROUPS}", new_group_default: false}}'
        )
    return "\n".join(lines) + "\n"


def connection_args(dc: SambaDC, emu: GraphEmulator | None) -> list[str]:
    args = [
        "--ldap-url",
        dc.url,
        "--ca-file",
        str(dc.ca_file),
        "--tls-server-name",
        dc.tls_server_name,
    ]
    if emu is not None:
        args += ["--graph-url", emu.base_url, "--graph-ca-file", emu.tls.ca_file]
    return args


def cli_env(
    dc: SambaDC, emu: GraphEmulator | None, user: str | None = None, password: str | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WBPLAN_", "AZURE_"))}
    # the subprocess imports this working tree's planner, wherever it runs
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env |= {
        "WBPLAN_LDAP_USER": user or dc.admin_user,
        "WBPLAN_LDAP_PASSWORD": password or dc.admin_password,
        "NO_COLOR": "1",
    }
    if emu is not None:
        env["WBPLAN_GRAPH_TOKEN"] = emu.token
    return env


SECRETS = (CONNECTOR_PASSWORD, "Passw0rd!Passw0rd")


def assert_no_secrets(dc: SambaDC, emu: GraphEmulator | None, *texts: str) -> None:
    secrets = [*SECRETS, dc.admin_password] + ([emu.token] if emu else [])
    for text in texts:
        for secret in secrets:
            assert secret not in text


def wbplan(
    tmp_path: Path,
    dc: SambaDC,
    emu: GraphEmulator | None,
    *args: str,
    connect: bool = True,
    user: str | None = None,
    password: str | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``wbplan ARGS`` (+ the connection options) inside ``tmp_path``."""
    extra = connection_args(dc, emu) if connect else []
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args, *extra],
        cwd=tmp_path,
        env=cli_env(dc, emu, user, password),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        input=stdin,
    )
    assert_no_secrets(dc, emu, proc.stdout, proc.stderr)
    return proc


def wbplan_popen(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator | None, *args: str
) -> subprocess.Popen[str]:
    """Start ``wbplan ARGS`` (+ connection options) without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "planner", *args, *connection_args(dc, emu)],
        cwd=tmp_path,
        env=cli_env(dc, emu),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def plan_out(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator | None, name: str = "plan.wbplan"
) -> dict[str, Any]:
    """``wbplan plan -out NAME --format json`` → the plan document."""
    proc = wbplan(
        tmp_path, dc, emu, "plan", "--policy", "policy.yaml", "-out", name, "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def replan_exit(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator | None
) -> tuple[int, dict[str, Any], str]:
    proc = wbplan(
        tmp_path,
        dc,
        emu,
        "plan",
        "--policy",
        "policy.yaml",
        "--format",
        "json",
        "--detailed-exitcode",
    )
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else {}), proc.stderr


def journals(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "state" / "journal").glob("*.json"))


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def snapshot(conn: ldap3.Connection, dns: list[str]) -> dict[str, bytes | None]:
    """DACL-only descriptors of ``dns`` (None where the object does not exist)."""
    out: dict[str, bytes | None] = {}
    for dn in dns:
        out[dn] = read_sd(conn, dn) if exists(conn, dn) else None
    return out


def exists(conn: ldap3.Connection, dn: str) -> bool:
    try:
        conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectClass"])
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return False
    return bool(conn.response)


def usn(conn: ldap3.Connection, dn: str) -> int:
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["uSNChanged"])
    return int(conn.response[0]["raw_attributes"]["uSNChanged"][0])


def explicit_aces(data: bytes) -> list[Ace]:
    return [a for a in parse_descriptor(data).aces if not a.inherited]


def assert_kept_every_ace(before: bytes, after: bytes, added: list[Ace]) -> None:
    """ACE by ACE: every explicit ACE of ``before`` is in ``after``, in the same relative order,
    and the only new explicit ACEs are ``added``; the protected flag is unchanged."""
    old, new = explicit_aces(before), explicit_aces(after)
    kept = [a for a in new if a in old]
    assert kept == old, "an existing ACE was dropped or reordered"
    assert sorted(a.model_dump_json() for a in new if a not in old) == sorted(
        a.model_dump_json() for a in added
    )
    assert parse_descriptor(before).dacl_protected == parse_descriptor(after).dacl_protected
