"""``wbplan import`` takes Cloud Sync's target OUs from the job schema and proposes the migration
from Connect group writeback v2.

* ``group_provisioning.target_ous`` comes from the Group Provision to AD job's
  ``parentDistinguishedName`` mapping when the snapshot read it and it is fully known (what
  WB-CS-056 compares the policy with); the gMSA's grants are the fallback, and the comments say
  which source was used and why.
* ``migrate_from_connect_v2`` is written commented out while the migration is unfinished (v2
  still on, or copies still pending under an OU v2 wrote to that the snapshot read), and left
  out otherwise.

The snapshots are the shipped plan scenarios, varied in their JSON (the fields the observer
writes), and each imported policy is planned again through the real CLI.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from planner.adopt import Options, adopt, render
from planner.adopt.cloudsync import FROM_GRANTS
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.policy.yamlmarks import parse_yaml
from planner.requirements.cloudsync_tenant import target_address
from tests.plan.harness import SCENARIOS_DIR, wbplan

PREPARED = SCENARIOS_DIR / "cloud-sync-prepared"
MIGRATION = SCENARIOS_DIR / "cloud-sync-migration-declared"
GRANTED = "OU=SecurityGroups,DC=contoso,DC=test"
V2_OU = "OU=WritebackContainer,DC=contoso,DC=test"
OTHER = "OU=Elsewhere,DC=contoso,DC=test"


def _raw(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    return doc


def _group_job(doc: dict[str, Any]) -> dict[str, Any]:
    for config in doc["tenant"]["cloud_sync"]["configurations"]:
        for job in config["jobs"]:
            if job["template_id"] == "AAD2ADGroupProvisioning":
                return dict(job)
    raise AssertionError("no group provisioning job in the snapshot")


def _with_target(doc: dict[str, Any], target: dict[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for config in out["tenant"]["cloud_sync"]["configurations"]:
        for job in config["jobs"]:
            if job["template_id"] == "AAD2ADGroupProvisioning":
                job["target_container"] = target
    return out


def _v2(doc: dict[str, Any], on: bool) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["tenant"]["sync"]["features"]["groupWriteBackEnabled"] = on
    return out


def _state(doc: dict[str, Any]) -> ObservedState:
    return ObservedState.model_validate(doc)


def _text(doc: dict[str, Any]) -> str:
    return render(adopt(_state(doc), Options("state.json")))


def _flat(text: str) -> str:
    """The comments' words without line breaks (wrapping is layout)."""
    return " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())


def _policy(text: str) -> Policy:
    parsed = parse_yaml(text, "imported.yaml")
    assert not parsed.diagnostics
    return Policy.model_validate(parsed.data)


def _plan(folder: Path, state: dict[str, Any], text: str) -> list[tuple[str, str]]:
    """(address, action) of every Cloud Sync resource of ``text`` planned against ``state``."""
    (folder / "state.json").write_text(json.dumps(state), encoding="utf-8")
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    valid = wbplan(folder, "validate", "policy.yaml")
    assert valid.exit_code == 0, valid.stdout + valid.stderr
    run = wbplan(
        folder, "plan", "--policy", "policy.yaml", "--state", "state.json", "--format", "json"
    )
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    planned = [
        (c["address"], c["change"]["actions"][0])
        for c in doc["resource_changes"]
        if any(f.startswith("cloud_sync") for f in c["features"])
    ]
    # a step waiting for another (turning v2 off after the copies) is listed apart
    return planned + [(c["address"], c["change"]["actions"][0]) for c in doc["deferred_changes"]]


def _uncomment(text: str, starts: tuple[str, ...]) -> str:
    return (
        "\n".join(
            line.replace("# ", "", 1) if line.lstrip().startswith(starts) else line
            for line in text.splitlines()
        )
        + "\n"
    )


# --------------------------------------------------------------------------- target OUs


def test_target_ous_come_from_the_job_schema_and_the_comment_names_it(tmp_path: Path) -> None:
    doc = _raw(PREPARED)
    text = _text(doc)
    [entry] = _policy(text).cloud_sync.domains  # type: ignore[union-attr]
    assert entry.group_provisioning is not None
    assert entry.group_provisioning.target_ous == (GRANTED,)
    words = _flat(text)
    assert "target_ous: the DNs the configuration's parentDistinguishedName mapping yields" in words
    assert "AAD2ADGroupProvisioning job schema (Microsoft Graph synchronizationSchema)" in words
    assert f"the gMSA holds create-delete-groups, manage-groups on {GRANTED}" in words
    assert FROM_GRANTS.split(":")[0] not in words  # nothing about the grants fallback
    actions = _plan(tmp_path, doc, text)
    assert (target_address("contoso.test"), "no-op") in actions  # WB-CS-056 holds
    assert all(a in ("no-op", "read") for _, a in actions), actions


def test_a_mapped_ou_without_grants_makes_the_entry_half_prepared(tmp_path: Path) -> None:
    """The mapping yields two OUs (a Switch); the gMSA holds the grants on one: the plan would
    still have to read and grant the other, so group provisioning is commented out with both."""
    doc = _raw(PREPARED)
    target = {
        **_group_job(doc)["target_container"],
        "source_type": "Function",
        "expression": f'Switch([displayName], "{GRANTED}", "Sales", "{OTHER}")',
        "dns": [OTHER, GRANTED],
    }
    varied = _with_target(doc, target)
    text = _text(varied)
    policy = _policy(text)
    assert policy.cloud_sync is not None
    [entry] = policy.cloud_sync.domains
    assert entry.group_provisioning is None and entry.password_writeback is True
    words = _flat(text)
    assert "group_provisioning — partly prepared, not imported:" in words
    assert (
        f"the configuration creates groups in {OTHER}, but the gMSA holds no group "
        "provisioning grant there" in words
    )
    assert "# group_provisioning:" in text and f"# - {OTHER}" in text
    uncommented = _uncomment(
        text, ("# group_provisioning:", "# target_ous:", "# - OU=", "# scope:")
    )
    actions = dict(_plan(tmp_path, varied, uncommented))
    # the snapshot never read the other OU: the plan must read it, and grant the gMSA there
    assert actions[f"ad.object[{OTHER}]"] == "read", actions
    assert not [a for addr, a in actions.items() if OTHER in addr and a == "no-op"], actions


def test_grants_the_mapping_never_uses_are_named_not_declared() -> None:
    doc = _raw(PREPARED)
    target = {
        **_group_job(doc)["target_container"],
        "expression": f'"{OTHER}"',
        "dns": [OTHER],
    }
    words = _flat(_text(_with_target(doc, target)))
    assert (
        f"not declared: the gMSA also holds create-delete-groups, manage-groups on {GRANTED}, "
        "but the configuration's parentDistinguishedName mapping never creates groups there"
        in words
    )


def test_an_unread_schema_falls_back_to_the_grants_and_says_why() -> None:
    doc = _with_target(_raw(PREPARED), None)
    text = _text(doc)
    [entry] = _policy(text).cloud_sync.domains  # type: ignore[union-attr]
    assert entry.group_provisioning is not None
    assert entry.group_provisioning.target_ous == (GRANTED,)
    words = _flat(text)
    assert (
        "target_ous: found where the gMSA holds grants, because its job schema "
        "(parentDistinguishedName mapping) was not read" in words
    )
    assert _flat(FROM_GRANTS) in words  # in the header's not-inferred list
    # the plan cannot verify the mapping: imported, said unverifiable
    assert "not verifiable here" in words


def test_a_computed_mapping_falls_back_to_the_grants_and_says_why() -> None:
    doc = _raw(PREPARED)
    target = {
        **_group_job(doc)["target_container"],
        "source_type": "Function",
        "expression": 'Join(",", "OU=Groups", [department])',
        "dns": [],
        "open": ["the attribute department"],
    }
    words = _flat(_text(_with_target(doc, target)))
    assert (
        "target_ous: found where the gMSA holds grants, because its parentDistinguishedName "
        "mapping computes DNs from the attribute department" in words
    )
    assert _flat(FROM_GRANTS) in words


# --------------------------------------------------------------------------- v2 migration


def test_an_unfinished_migration_is_written_commented_out_under_the_imported_entry(
    tmp_path: Path,
) -> None:
    """v2 is on and three copies are pending: group provisioning (planning no change) is
    imported; its migrate_from_connect_v2 is commented out with what the plan would still do,
    and uncommented it plans the copies and the manual step turning v2 off."""
    doc = _raw(MIGRATION)
    text = _text(doc)
    [entry] = _policy(text).cloud_sync.domains  # type: ignore[union-attr]
    assert entry.group_provisioning is not None
    assert entry.group_provisioning.migrate_from_connect_v2 is None
    assert "        # migrate_from_connect_v2:\n          # ou: " + V2_OU in text
    words = _flat(text)
    assert "migrate_from_connect_v2 — commented out, the migration is unfinished" in words
    assert "turn group writeback v2 off (tenant.feature[groupWriteBackEnabled]" in words
    assert "CN=Sales_0c1d2e3f4a5b," + V2_OU in words  # a pending copy, named
    imported = dict(_plan(tmp_path, doc, text))
    assert not any(a in ("create", "update") for a in imported.values()), imported
    uncommented = _uncomment(text, ("# migrate_from_connect_v2:", "# ou:"))
    migrated = _policy(uncommented).cloud_sync.domains[0].group_provisioning  # type: ignore[union-attr]
    assert migrated is not None and migrated.migrate_from_connect_v2 is not None
    actions = dict(_plan(tmp_path, doc, uncommented))
    copies = [a for a, act in actions.items() if a.startswith("ad.object[") and act == "update"]
    assert len(copies) == 3, actions
    assert actions.get("tenant.feature[groupWriteBackEnabled]") == "manual", actions


def test_pending_copies_with_v2_off_still_propose_the_migration() -> None:
    text = _text(_v2(_raw(MIGRATION), on=False))
    words = _flat(text)
    assert "# migrate_from_connect_v2:" in text
    assert "the plan would still do this" in words and "turn group writeback v2 off" not in words


def _copied(doc: dict[str, Any]) -> dict[str, Any]:
    """Every group under the v2 OU carries its adminDescription as its anchor (the copy step
    done, as Microsoft's script leaves it)."""
    out = copy.deepcopy(doc)
    for obj in out["ad"]["objects"]:
        attrs = obj.get("attributes") or {}
        if obj["dn"].endswith(V2_OU) and attrs.get("adminDescription"):
            attrs["msDS-ExternalDirectoryObjectId"] = list(attrs["adminDescription"])
    return out


def test_a_finished_migration_is_left_out() -> None:
    text = _text(_v2(_copied(_raw(MIGRATION)), on=False))
    assert "migrate_from_connect_v2:" not in text.replace(
        "migrate_from_connect_v2: not declared", ""
    )
    assert "the migration of the groups v2 wrote under " + V2_OU + " is finished" in _flat(text)


def test_copies_done_but_v2_still_on_is_unfinished() -> None:
    text = _text(_copied(_raw(MIGRATION)))
    assert "# migrate_from_connect_v2:" in text
    assert "turn group writeback v2 off" in _flat(text)


def test_v2_on_without_a_read_ou_is_said_not_guessed() -> None:
    text = _text(_v2(_raw(PREPARED), on=True))
    assert "migrate_from_connect_v2:" not in text.replace("migrate_from_connect_v2 with", "")
    assert (
        "NOT INFERRED: group writeback v2 is still on in the tenant (groupWriteBackEnabled), "
        "but this snapshot read no OU v2 wrote groups to" in _flat(text)
    )


def test_no_v2_means_no_migration_and_no_word_of_it() -> None:
    text = _text(_raw(PREPARED))
    assert "migrate_from_connect_v2" not in text


def test_a_mapping_the_policy_would_refuse_is_not_declared() -> None:
    """A DN of another domain (WBP064) or no DN at all (WBP020) cannot be a target OU: import
    falls back to the grants, says why, and the plan's WB-CS-056 failure keeps the entry out."""
    doc = _raw(PREPARED)
    for dn in ("OU=Groups,DC=fabrikam,DC=test", "not a dn"):
        target = {**_group_job(doc)["target_container"], "expression": f'"{dn}"', "dns": [dn]}
        text = _text(_with_target(doc, target))  # render validates what it writes
        policy = _policy(text)
        assert policy.cloud_sync is not None
        assert policy.cloud_sync.domains[0].group_provisioning is None
        assert (
            f"because its parentDistinguishedName mapping yields {dn}, not a DN of this domain"
            in _flat(text)
        )


def test_copies_done_and_v2_flags_unread_stays_proposed_saying_so() -> None:
    """Without the tenant's onPremisesSynchronization flags nobody can tell the migration is
    finished: it stays proposed (commented out), and the comment says what was not read."""
    doc = _copied(_raw(MIGRATION))
    doc["tenant"]["sync"] = None
    text = _text(doc)
    assert "# migrate_from_connect_v2:" in text
    assert "whether v2 is off was not read (tenant.feature[groupWriteBackEnabled])" in _flat(text)
