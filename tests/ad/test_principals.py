"""Trustee names (issue 15 §4): a refresh resolves the SID of every trustee in the DACLs it read
to ``DOMAIN\\name`` (``BUILTIN\\name``) by objectSid and records it in the snapshot
(``AdState.principals``), so reports and plans print names first; a SID the DC cannot resolve
(a deleted account, another forest's principal) stays a SID. Also the progress display of a
live refresh against the DC (issue 15 §8)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.acewords import WELL_KNOWN_SIDS, Names
from planner.cli import cli
from planner.model.dn import dn_key
from planner.model.policy import Policy
from planner.observe.ad import RESOLVE_BATCH, observe_ad, resolve_principals, trustees
from planner.observe.ad_common import AdReader
from planner.observe.ldapconn import connect
from planner.observe.snapshot import load_state
from tests.ad.adops import (
    CI_IO,
    RESET_PASSWORD,
    USER,
    add_aces,
    add_group,
    add_member,
    add_ou,
    allow,
    deny,
    object_sid,
    password_writeback_aces,
    policy,
)
from tests.ad.conftest import options_for
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

FOREIGN_SID = "S-1-5-21-1111111111-2222222222-3333333333-1104"
"""A principal of another forest: no object here holds it."""
ACCOUNT_OPERATORS = "S-1-5-32-548"
READ_PROPERTY = 0x10


@dataclass(frozen=True)
class Forest:
    dc: SambaDC
    scope: str
    connector: str
    helpdesk: str
    """SID of the group the connector is in, denied Reset Password on the scope."""
    operator: str
    """SID of an ordinary user granted read on the scope."""
    deleted: str
    """SID of a user granted read, then deleted (the ACE stays, nothing resolves it)."""


@pytest.fixture(scope="module")
def forest(samba_2012r2: SambaDC) -> Iterator[Forest]:
    dc = samba_2012r2
    conn = dc.admin_connection()
    scope = add_ou(conn, f"OU=Names,{dc.base_dn}")
    connector_dn = dc.create_connector()
    connector = object_sid(conn, connector_dn)
    group = add_group(conn, f"CN=Helpdesk Operators,{dc.base_dn}")
    add_member(conn, group, connector_dn)
    helpdesk = object_sid(conn, group)
    operator_dn = dc.create_user("svc-helpdesk", "Sv3c-Helpd3sk!Pw", parent=scope)
    operator = object_sid(conn, operator_dn)
    gone_dn = dc.create_user("gone-user", "G0ne-Us3r!Pw", parent=scope)
    deleted = object_sid(conn, gone_dn)
    add_aces(
        conn,
        scope,
        *password_writeback_aces(connector),
        deny(helpdesk, 0x100, RESET_PASSWORD, USER, CI_IO),
        allow(operator, READ_PROPERTY, None, USER, CI_IO),
        allow(deleted, READ_PROPERTY, None, USER, CI_IO),
        allow(FOREIGN_SID, READ_PROPERTY, None, USER, CI_IO),
        allow(ACCOUNT_OPERATORS, READ_PROPERTY, None, USER, CI_IO),
    )
    assert conn.delete(gone_dn), conn.result
    yield Forest(dc, scope, connector, helpdesk, operator, deleted)


def _policy(forest: Forest) -> Policy:
    return policy(password={"enabled": True, "scope": [forest.scope]})


def test_trustees_are_named_by_their_domain_and_account(forest: Forest) -> None:
    with connect(options_for(forest.dc)) as session:
        ad = observe_ad(session, _policy(forest))
    names = ad.principals
    assert names[forest.helpdesk] == "CONTOSO\\Helpdesk Operators"
    assert names[forest.operator] == "CONTOSO\\svc-helpdesk"
    assert names[forest.connector] == "CONTOSO\\MSOL_1a2b3c4d5e6f"
    assert names[ACCOUNT_OPERATORS] == "BUILTIN\\Account Operators"
    domain_sid = forest.connector.rsplit("-", 1)[0]
    assert names[f"{domain_sid}-512"] == "CONTOSO\\Domain Admins"  # read, not guessed
    # not resolvable: a deleted account, another forest's principal; well-known: no lookup
    for sid in (forest.deleted, FOREIGN_SID, "S-1-5-11", "S-1-5-18", "S-1-1-0"):
        assert sid not in names, sid
    assert all(re.fullmatch(r"(CONTOSO|BUILTIN)\\[^\\]+", n) for n in names.values()), names
    assert not [u for u in ad.unread if u.what == "ad.principals"]


def test_names_are_resolved_in_batches(forest: Forest) -> None:
    """One search per 50 SIDs of a domain, not one per trustee."""
    with connect(options_for(forest.dc)) as session:
        ad = observe_ad(session, _policy(forest))
        sids = trustees(ad.objects, ad.dacls.values()) | {
            f"{forest.connector.rsplit('-', 1)[0]}-{rid}" for rid in range(2000, 2120)
        }
        before = session.requests
        names = resolve_principals(
            AdReader(session),
            sids,
            ad.domains,
            {dn_key(o.dn): o for o in ad.objects},
            ad.root_dse.default_naming_context,
        )
        requests = session.requests - before
    domain_sid = forest.connector.rsplit("-", 1)[0]
    local = [
        s
        for s in sids
        if s.startswith((f"{domain_sid}-", "S-1-5-32-")) and s not in WELL_KNOWN_SIDS
    ]
    assert len(local) > 2 * RESOLVE_BATCH
    assert requests == math.ceil(len(local) / RESOLVE_BATCH)
    assert names == ad.principals  # the 120 unused RIDs resolve to nothing


def test_names_show_in_aces_with_the_sid_beside_them(forest: Forest) -> None:
    with connect(options_for(forest.dc)) as session:
        ad = observe_ad(session, _policy(forest))
    from planner import __version__
    from planner.model.state import ObservedState

    state = ObservedState(wbplan_version=__version__, observed_at="2026-11-22T18:00:00Z", ad=ad)
    words = Names(state, "CONTOSO\\MSOL_1a2b3c4d5e6f")
    assert words.ace(deny(forest.helpdesk, 0x100, RESET_PASSWORD, USER, CI_IO)) == (
        "deny CA Reset Password on descendant user objects to "
        f"CONTOSO\\Helpdesk Operators ({forest.helpdesk})"
    )
    assert words.sid(forest.deleted) == forest.deleted  # falls back to the SID
    assert words.sid(FOREIGN_SID) == FOREIGN_SID


def test_refresh_records_names_and_check_and_plan_print_them(
    forest: Forest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI path: refresh (with --progress, logged to stderr) writes the names into the
    snapshot; check and plan from that snapshot print the denied group by name."""
    monkeypatch.chdir(tmp_path)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        "apiVersion: wbplan.dev/v1\nkind: WritebackPolicy\nmetadata: {name: names}\n"
        "forest: contoso.test\n"
        "tenant: {id: 7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b, domain: contoso.onmicrosoft.com}\n"
        'connector: {account: "CONTOSO\\\\MSOL_1a2b3c4d5e6f"}\n'
        f'writeback: {{password: {{enabled: true, scope: ["{forest.scope}"]}}}}\n',
        encoding="utf-8",
    )
    dc = forest.dc
    env = {"WBPLAN_LDAP_USER": dc.admin_user, "WBPLAN_LDAP_PASSWORD": dc.admin_password}
    snapshot = tmp_path / "state.json"
    refreshed = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            str(policy_file),
            "--ldap-url",
            dc.url,
            "--ca-file",
            str(dc.ca_file),
            "--tls-server-name",
            dc.tls_server_name,
            "-out",
            str(snapshot),
            "--progress",
        ],
        env=env,
    )
    assert refreshed.exit_code == 0, refreshed.output
    assert refreshed.stdout.startswith(f"Wrote {snapshot}: AD contoso.test")
    log = refreshed.stderr.splitlines()
    assert log[0] == f"Connecting to AD: {dc.url}…"
    assert "Reading AD: schema…" in log
    scanned = [line for line in log if line.startswith(f"Reading AD: scope {forest.scope}: ")]
    assert len(scanned) == 1 and re.fullmatch(r".*: \d+ objects, \d+ pages?\.", scanned[0]), log
    assert "Reading AD: the names of the trustees in the DACLs read…" in log
    recorded = json.loads(snapshot.read_text(encoding="utf-8"))["ad"]["principals"]
    assert recorded[forest.helpdesk] == "CONTOSO\\Helpdesk Operators"
    assert load_state(snapshot).ad is not None  # valid against the schema

    checked = CliRunner().invoke(
        cli, ["check", "--policy", str(policy_file), "--state", str(snapshot)], env=env
    )
    assert checked.exit_code == 2, checked.output
    assert f"to CONTOSO\\Helpdesk Operators ({forest.helpdesk})" in checked.stdout, checked.stdout
    planned = CliRunner().invoke(
        cli,
        ["plan", "--policy", str(policy_file), "--state", str(snapshot), "--format", "json"],
        env=env,
    )
    assert planned.exit_code == 0, planned.output
    principals = json.loads(planned.stdout)["principals"]
    assert principals[forest.helpdesk] == "CONTOSO\\Helpdesk Operators"
