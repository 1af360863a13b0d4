"""``wbplan refresh`` against a Samba DC, as a user runs it (subprocess, password from the
environment or a file): the snapshot is valid and plans exactly like the live DC; bad connection
input exits 1 with one clear error line and no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.observe.snapshot import load_state
from tests.ad.adops import add_ou
from tests.support.samba import SambaDC
from tests.support.samba_tools import lease_ip

pytestmark = pytest.mark.samba

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "policies" / "example.yaml"
WRONG = "N0t-the!Password"  # a test value that must never be echoed


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def wbplan(args: list[str], cwd: Path, user: str, password: str | None) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WBPLAN_", "AZURE_"))}
    env["WBPLAN_LDAP_USER"] = user
    if password is not None:
        env["WBPLAN_LDAP_PASSWORD"] = password
    proc = subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def ldap_args(dc: SambaDC, *extra: str) -> list[str]:
    return ["--policy", str(EXAMPLE), "--ldap-url", dc.url, "--ca-file", str(dc.ca_file), *extra]


def assert_one_clear_error(run: Run, cause: str, *secrets: str) -> None:
    assert run.code == 1, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, run.stderr
    assert cause in errors[0]
    assert "Traceback" not in run.stderr
    for secret in secrets:
        assert secret not in run.stdout + run.stderr


@pytest.fixture(scope="module")
def prepared(samba_2012r2: SambaDC) -> SambaDC:
    """The example policy's objects partly present: the connector and the Staff OU."""
    samba_2012r2.create_connector()
    add_ou(samba_2012r2.admin_connection(), f"OU=Staff,{samba_2012r2.base_dn}")
    return samba_2012r2


def test_refresh_writes_a_valid_snapshot_that_plans_like_the_live_dc(
    prepared: SambaDC, tmp_path: Path
) -> None:
    dc = prepared
    out = tmp_path / "state" / "contoso.json"
    run = wbplan(
        ["refresh", *ldap_args(dc, "--tls-server-name", dc.tls_server_name), "--out", str(out)],
        tmp_path,
        "CONTOSO\\Administrator",
        dc.admin_password,
    )
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"Wrote {out}: AD contoso.test (schema objectVersion 69")
    text = out.read_text()
    assert dc.admin_password not in text
    state = load_state(out)  # validates against schemas/state.schema.json
    assert state.ad is not None and state.ad.connector is not None and state.ad.connector.found
    assert state.source.ldap_url == dc.url

    offline = wbplan(
        ["plan", "--policy", str(EXAMPLE), "--state", str(out), "--format", "json"],
        tmp_path,
        "x",
        None,
    )
    live = wbplan(
        ["plan", *ldap_args(dc, "--tls-server-name", dc.tls_server_name), "--format", "json"],
        tmp_path,
        "CONTOSO\\Administrator",
        dc.admin_password,
    )
    assert offline.code in (0, 2), offline.stderr
    assert live.code == offline.code, live.stderr
    offline_plan, live_plan = json.loads(offline.stdout), json.loads(live.stdout)
    assert offline_plan["observed"] == live_plan["observed"]
    assert offline_plan["resource_changes"] == live_plan["resource_changes"]


def test_refresh_with_password_file(prepared: SambaDC, tmp_path: Path) -> None:
    secret_file = tmp_path / "bind.pw"
    secret_file.write_text(prepared.admin_password + "\n")
    out = tmp_path / "snap.json"
    run = wbplan(
        [
            "refresh",
            *ldap_args(prepared, "--tls-server-name", prepared.tls_server_name),
            "--ldap-password-file",
            str(secret_file),
            "--out",
            str(out),
        ],
        tmp_path,
        "Administrator@contoso.test",
        None,
    )
    assert run.code == 0, run.stderr
    assert load_state(out).ad is not None


def test_wrong_password(prepared: SambaDC, tmp_path: Path) -> None:
    run = wbplan(
        [
            "refresh",
            *ldap_args(prepared, "--tls-server-name", prepared.tls_server_name),
            "--out",
            str(tmp_path / "s.json"),
        ],
        tmp_path,
        "CONTOSO\\Administrator",
        WRONG,
    )
    assert_one_clear_error(run, "the DC rejected the credentials of CONTOSO\\Administrator", WRONG)
    assert not (tmp_path / "s.json").exists()


def test_tls_name_mismatch(prepared: SambaDC, tmp_path: Path) -> None:
    run = wbplan(
        ["refresh", *ldap_args(prepared), "--out", str(tmp_path / "s.json")],
        tmp_path,
        "CONTOSO\\Administrator",
        prepared.admin_password,
    )
    assert_one_clear_error(
        run, "the DC's certificate is issued to DC1.contoso.test, not to", prepared.admin_password
    )
    assert "--tls-server-name DC1.contoso.test" in run.stderr


def test_missing_ca_file(prepared: SambaDC, tmp_path: Path) -> None:
    args = [
        "refresh",
        "--policy",
        str(EXAMPLE),
        "--ldap-url",
        prepared.url,
        "--ca-file",
        str(tmp_path / "none.pem"),
        "--tls-server-name",
        prepared.tls_server_name,
        "--out",
        str(tmp_path / "s.json"),
    ]
    run = wbplan(args, tmp_path, "CONTOSO\\Administrator", prepared.admin_password)
    assert_one_clear_error(
        run, f"the CA file {tmp_path / 'none.pem'} does not exist", prepared.admin_password
    )


def test_wrong_host(tmp_path: Path) -> None:
    lease = lease_ip()
    try:
        args = [
            "refresh",
            "--policy",
            str(EXAMPLE),
            "--ldap-url",
            f"ldaps://{lease.ip}",
            "--out",
            str(tmp_path / "s.json"),
        ]
        run = wbplan(args, tmp_path, "CONTOSO\\Administrator", WRONG)
    finally:
        lease.release()
    assert_one_clear_error(run, f"cannot reach the DC at {lease.ip}:636: connection refused", WRONG)
