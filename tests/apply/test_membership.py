"""The ``ad.membership`` executor and its rollback on Samba: the connector joins Key Admins
(key writeback, domain.md §6) and rollback takes it out again.

The first test runs the executor in-process on a 2012 R2 schema, where a real plan defers the
membership behind the manual schema step (the test lifts that block to look at the journal
entries); the second is the whole CLI flow on a forest given the 2016 key schema.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from planner.apply.engine import run_apply
from planner.apply.journal import Journal, JournalDoc, load_journal
from planner.apply.rollback import run_rollback
from planner.apply.run import open_targets
from planner.observe.live import LiveSources, observe_live
from planner.planning import make_plan
from tests.ad.adops import object_sid, policy
from tests.ad.conftest import options_for
from tests.apply.harness import (
    exists,
    journals,
    plan_out,
    policy_text,
    replan_exit,
    wbplan,
    write_policy,
)
from tests.support.samba import SambaDC
from tests.support.samba_tools import extend_key_credential_schema

pytestmark = pytest.mark.samba


def members(dc: SambaDC, group: str) -> list[str]:
    conn = dc.admin_connection()
    conn.search(group, "(objectClass=*)", "BASE", attributes=["member"])
    return [str(v) for v in conn.response[0]["attributes"].get("member", [])]


def test_membership_is_added_journaled_and_rolled_back(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    connector = dc.create_connector()
    conn = dc.admin_connection()
    conn.search(dc.base_dn, "(objectClass=domain)", "BASE", attributes=["objectSid"])
    from planner.observe.sd import sid_from_bytes

    domain_sid = sid_from_bytes(conn.response[0]["raw_attributes"]["objectSid"][0])
    group = f"CN=Key Admins,CN=Users,{dc.base_dn}"
    dc.ldb_add(
        f"dn: {group}\nobjectClass: group\nsAMAccountName: Key Admins\n"
        f"objectSid: {domain_sid}-526\ngroupType: -2147483646\n"
    )
    assert exists(conn, group)
    keys = policy(ngc_keys={"enabled": True})
    sources = LiveSources(ldap=options_for(dc))
    state = observe_live(keys, sources)
    plan = make_plan(
        keys, state, policy_file="p", policy_digest="", state_source="live", timestamp="t"
    )
    [member] = [c for c in plan.deferred_changes if c.type == "ad.membership"]
    assert member.change.actions == ("create",)
    lifted = plan.model_copy(
        update={
            "resource_changes": (member.model_copy(update={"blocked_by": ()}),),
            "deferred_changes": (),
        }
    )
    journal = Journal(
        tmp_path / "j.json",
        JournalDoc(operation="apply", wbplan_version="t", started="t", lock_id=str(uuid.uuid4())),
    )

    with open_targets(sources, state) as targets:
        result = run_apply(lifted, targets, journal, lambda *_: None)

    assert result.ok and result.added == 1
    assert [m.lower() for m in members(dc, group)] == [connector.lower()]
    [entry] = load_journal(journal.path).entries
    assert entry.status == "done"
    assert entry.before_image == {
        "kind": "membership",
        "group_dn": group,
        "member_dn": connector,
        "member": False,
    }
    assert entry.after_image == {**entry.before_image, "member": True}

    back = Journal(
        tmp_path / "rb.json", JournalDoc(operation="rollback", wbplan_version="t", started="t")
    )
    with open_targets(sources, None) as targets:
        undone = run_rollback(load_journal(journal.path), targets, back, lambda *_: None)
    assert (undone.restored, undone.unchanged) == (1, 0)
    assert members(dc, group) == []


def test_key_writeback_plan_apply_replan_is_empty_and_rollback_leaves_key_admins(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    """End to end, with nothing lifted: on a forest with the 2016 key schema (msDS-KeyCredentialLink,
    objectVersion 87) and Key Admins, the plan adds the connector to Key Admins, apply does it,
    the next plan has no changes, and rollback takes the connector out again."""
    dc = fresh_samba_2012r2
    connector = dc.create_connector()
    conn = dc.admin_connection()
    extend_key_credential_schema(conn, dc.schema_dn)
    domain_sid = object_sid(conn, dc.base_dn)
    group = f"CN=Key Admins,CN=Users,{dc.base_dn}"
    dc.ldb_add(
        f"dn: {group}\nobjectClass: group\nsAMAccountName: Key Admins\n"
        f"objectSid: {domain_sid}-526\ngroupType: -2147483646\n"
    )
    text = policy_text().replace("licences: {require: [AAD_PREMIUM]}\n", "")
    write_policy(tmp_path, text + "  ngc_keys: {enabled: true}\n")

    doc = plan_out(tmp_path, dc, None)
    assert [
        (c["type"], c["change"]["actions"])
        for c in doc["resource_changes"]
        if c["change"]["actions"] != ["no-op"]
    ] == [("ad.membership", ["create"])]
    assert doc["deferred_changes"] == []
    applied = wbplan(tmp_path, dc, None, "apply", "plan.wbplan")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in applied.stdout
    assert [m.lower() for m in members(dc, group)] == [connector.lower()]
    assert replan_exit(tmp_path, dc, None)[0] == 0

    [journal] = journals(tmp_path)
    back = wbplan(tmp_path, dc, None, "rollback", str(journal), "--auto-approve")
    assert back.returncode == 0, back.stdout + back.stderr
    assert members(dc, group) == []
