"""A plan apply can trust (issue 14 §2), on a Samba DC + the Graph emulator: a saved plan edited
after `wbplan plan -out` — even with its checksum recomputed, as anybody editing the file can —
is refused naming the change, and nothing is written (the DACLs, the group membership and the
journal folder stay as they were). With ``WBPLAN_PLAN_KEY`` set, plans are signed and apply
refuses an unsigned or mis-signed one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from planner.planfile import OPTIONAL_PARTS, _checksum
from tests.ad.adops import add_ou, read_sd
from tests.apply.harness import (
    DOMAIN,
    assert_no_secrets,
    cli_env,
    connection_args,
    journals,
    plan_out,
    policy_text,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

KEY = "0123456789abcdef0123456789abcdef"  # a throw-away test key
EVERYONE = "S-1-1-0"
GENERIC_ALL = 0xF01FF


@pytest.fixture(scope="module")
def dc(samba_2012r2: SambaDC) -> Iterator[SambaDC]:
    samba_2012r2.create_connector()
    yield samba_2012r2


@pytest.fixture
def emu(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.tenant = graph_tenants.p1()
    return graph_emulator


def run(
    where: Path, dc: SambaDC, emu: GraphEmulator, *args: str, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = cli_env(dc, emu)
    if key is not None:
        env["WBPLAN_PLAN_KEY"] = key
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args, *connection_args(dc, emu)],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert_no_secrets(dc, emu, proc.stdout, proc.stderr)
    assert KEY not in proc.stdout + proc.stderr
    return proc


def tamper(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the plan document and recompute the checksum, as an attacker would."""
    doc = json.loads(path.read_text())
    edit(doc["plan"])
    body = {"plan": doc["plan"], "policy": doc["policy"]}
    body |= {k: doc[k] for k in OPTIONAL_PARTS if k in doc}
    doc["checksum"] = _checksum(body)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True))


def first_ace(plan: dict[str, Any]) -> dict[str, Any]:
    return next(
        c
        for c in plan["resource_changes"]
        if c["type"] == "ad.ace" and c["change"]["actions"] == ["create"]
    )


def widen_mask(plan: dict[str, Any]) -> None:
    first_ace(plan)["change"]["after"]["mask"] = GENERIC_ALL


def ace_on_the_domain_root(plan: dict[str, Any]) -> None:
    extra = json.loads(json.dumps(first_ace(plan)))
    extra["address"] = f"ad.ace[{DOMAIN}/extra]"
    extra["dn"] = DOMAIN
    extra["change"]["after"] |= {
        "trustee": EVERYONE,
        "mask": GENERIC_ALL,
        "object_type": None,
        "inherited_object_type": None,
    }
    extra["depends_on"] = []
    plan["resource_changes"].append(extra)


def domain_admins_member(plan: dict[str, Any]) -> None:
    extra = json.loads(json.dumps(first_ace(plan)))
    extra |= {"address": "ad.membership[Domain Admins]", "type": "ad.membership", "dn": None}
    extra["change"] = {"actions": ["create"], "before": None, "after": {"group": "Domain Admins"}}
    extra["depends_on"] = []
    plan["resource_changes"].append(extra)


def members(dc: SambaDC, group: str) -> list[str]:
    conn = dc.admin_connection()
    conn.search(f"CN={group},CN=Users,{DOMAIN}", "(objectClass=*)", attributes=["member"])
    return sorted(conn.response[0]["attributes"].get("member", []))


@pytest.mark.parametrize(
    ("edit", "address", "says"),
    [
        (widen_mask, "password", "its after differ from what the policy requires"),
        (ace_on_the_domain_root, f"ad.ace[{DOMAIN}/extra]", "the policy does not require"),
        (domain_admins_member, "ad.membership[Domain Admins]", "the policy does not require"),
    ],
    ids=["changed ACE mask", "ACE on the domain root", "extra group member"],
)
def test_an_edited_plan_is_refused_naming_the_change_and_nothing_is_written(
    dc: SambaDC,
    emu: GraphEmulator,
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    address: str,
    says: str,
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, f"OU=Tamper{edit.__name__},{DOMAIN}")
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    before = {dn: read_sd(conn, dn) for dn in (target, DOMAIN)}
    admins = members(dc, "Domain Admins")
    tamper(tmp_path / "plan.wbplan", edit)

    refused = run(tmp_path, dc, emu, "apply", "plan.wbplan")

    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "change(s) that its policy does not produce" in refused.stderr
    line = next(x for x in refused.stderr.splitlines() if x.startswith("  - "))
    assert address in line and says in line, refused.stderr
    assert "Creating..." not in refused.stdout
    assert {dn: read_sd(conn, dn) for dn in (target, DOMAIN)} == before
    assert members(dc, "Domain Admins") == admins
    assert journals(tmp_path) == []


def test_show_of_an_edited_plan_displays_what_apply_would_write(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    """Review sees the truth: the widened mask is what `show` prints."""
    conn = dc.admin_connection()
    target = add_ou(conn, f"OU=TamperShow,{DOMAIN}")
    write_policy(tmp_path, policy_text(password=(target,)))
    plan_out(tmp_path, dc, emu)
    tamper(tmp_path / "plan.wbplan", widen_mask)
    shown = subprocess.run(
        [sys.executable, "-m", "planner", "show", "plan.wbplan", "--format", "json"],
        cwd=tmp_path,
        env=cli_env(dc, emu),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert first_ace(json.loads(shown.stdout))["change"]["after"]["mask"] == GENERIC_ALL


def test_with_a_signing_key_only_a_plan_signed_with_it_is_applied(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    conn = dc.admin_connection()
    target = add_ou(conn, f"OU=TamperSigned,{DOMAIN}")
    write_policy(tmp_path, policy_text(password=(target,)))
    before = read_sd(conn, target)

    # unsigned (made without the key) → refused where the key is set
    plan_out(tmp_path, dc, emu, "unsigned.wbplan")
    unsigned = run(tmp_path, dc, emu, "apply", "unsigned.wbplan", key=KEY)
    assert unsigned.returncode == 1
    assert "is not signed, and WBPLAN_PLAN_KEY requires signed plans" in unsigned.stderr

    signed = run(
        tmp_path, dc, emu, "plan", "--policy", "policy.yaml", "-out", "signed.wbplan", key=KEY
    )
    assert signed.returncode in (0, 2), signed.stderr
    doc = json.loads((tmp_path / "signed.wbplan").read_text())
    assert doc["signature"].startswith("hmac-sha256:")

    # another key, or an edit with the checksum recomputed → refused
    other = run(tmp_path, dc, emu, "apply", "signed.wbplan", key="f" * 32)
    assert other.returncode == 1
    assert "signature that does not verify" in other.stderr
    (tmp_path / "edited.wbplan").write_text((tmp_path / "signed.wbplan").read_text())
    tamper(tmp_path / "edited.wbplan", widen_mask)
    edited = run(tmp_path, dc, emu, "apply", "edited.wbplan", key=KEY)
    assert edited.returncode == 1
    assert "signature that does not verify" in edited.stderr
    assert read_sd(conn, target) == before
    assert journals(tmp_path) == []

    applied = run(tmp_path, dc, emu, "apply", "signed.wbplan", key=KEY)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert read_sd(conn, target) != before
    [journal] = journals(tmp_path)
    assert json.loads(journal.read_text())["signature"].startswith("hmac-sha256:")
