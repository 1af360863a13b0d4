"""Cloud Sync rules on the AD side (WB-CS-101 … WB-CS-120) and the planner behind them, over built
observations (the plan scenarios' worlds and variations of them): each rule's pass, fail and
unknown; the gMSA's rights evaluated by the connector's engine with the gMSA's token (and the
connector's verdicts unchanged by it); the configuration's edges to the AD side; the blast
radius of turning group writeback v2 off. The same rules on a live Samba DC:
``tests/ad/test_cloudsync.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from planner.checking import make_report
from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.report import Finding
from planner.model.state import Ace, CloudSyncAd, ObservedState
from planner.planning import make_plan
from planner.requirements import cloudsync, expand
from planner.requirements.common import Context
from planner.scope_rights import analyse
from planner.story import unplanned_failures
from tests.plan import build_scenarios as b

TODAY = dt.date(2026, 11, 22)
ROOT = b.BASE


def policy_of(writeback: str) -> Policy:
    import yaml

    text = b.policy_text("t", "t", writeback)
    return Policy.model_validate(yaml.safe_load(text))


def scenario(name: str) -> tuple[Policy, ObservedState]:
    writeback, world = b.SCENARIOS[name]()
    return policy_of(writeback), world.build(name)


def world_state(name: str, **changes: Any) -> tuple[Policy, ObservedState]:
    writeback, world = b.SCENARIOS[name]()
    for key, value in changes.items():
        setattr(world, key, value)
    return policy_of(writeback), world.build(name)


def found(policy: Policy, state: ObservedState, rule_id: str) -> list[Finding]:
    report = make_report(
        policy,
        state,
        policy_file="p",
        policy_digest="x",
        state_source="s",
        timestamp="2026-11-22T18:00:00Z",
        today=TODAY,
    )
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    assert unplanned_failures(plan, report.findings) == []  # plan and check tell one story
    return [f for f in report.findings if f.rule_id == rule_id]


def statuses(policy: Policy, state: ObservedState, rule_id: str) -> dict[str, str]:
    return {f.address: f.status for f in found(policy, state, rule_id)}


# --------------------------------------------------------------------------- the gMSA


def test_gmsa_rule_passes_when_found_and_fails_with_several_candidates() -> None:
    policy, state = scenario("cloud-sync-prepared")
    assert statuses(policy, state, "WB-CS-101") == {"ad.gmsa[provAgentgMSA]": "pass"}
    policy, state = scenario("cloud-sync-several-gmsas")
    [f] = found(policy, state, "WB-CS-101")
    assert f.status == "fail" and "cloud_sync.gmsa.account" in f.message
    policy, state = scenario("cloud-sync-from-nothing")
    [f] = found(policy, state, "WB-CS-101")
    assert f.status == "fail" and "Add-AADCloudSyncGMSA" in f.message


def test_gmsa_rule_is_unknown_when_the_gmsa_could_not_be_searched() -> None:
    unread = b.Unread(what="ad.cloud_sync.gmsa", reason="insufficient access to search the domain")
    policy, state = world_state(
        "cloud-sync-several-gmsas",
        cloud_sync=CloudSyncAd(kds_root_key=True, external_directory_object_id=True),
        ad_unread=(unread,),
    )
    [f] = found(policy, state, "WB-CS-101")
    assert f.status == "unknown" and "insufficient access" in f.message


def test_encryption_types_pass_with_aes_fail_without_and_unknown_without_gmsa() -> None:
    policy, state = scenario("cloud-sync-prepared")
    assert set(statuses(policy, state, "WB-CS-102").values()) == {"pass"}
    for value, words in ((None, "not set"), (0x4, "no AES")):
        gmsa = b.gmsa(f"{b.DOMAIN_SID}-1602").model_copy(
            update={"supported_encryption_types": value}
        )
        policy, state = world_state(
            "cloud-sync-prepared",
            cloud_sync=CloudSyncAd(gmsa=gmsa, kds_root_key=True, external_directory_object_id=True),
        )
        [f] = found(policy, state, "WB-CS-102")
        assert f.status == "fail" and words in f.message
    policy, state = scenario("cloud-sync-several-gmsas")
    assert set(statuses(policy, state, "WB-CS-102").values()) == {"unknown"}


def test_kds_root_key_present_missing_or_unknown() -> None:
    policy, state = scenario("cloud-sync-prepared")
    assert statuses(policy, state, "WB-CS-103") == {"ad.kds_root_key[contoso.test]": "pass"}
    policy, state = world_state(
        "cloud-sync-prepared",
        cloud_sync=CloudSyncAd(
            gmsa=b.gmsa(f"{b.DOMAIN_SID}-1602"),
            kds_root_key=False,
            external_directory_object_id=True,
        ),
    )
    [f] = found(policy, state, "WB-CS-103")
    assert f.status == "fail" and "Add-KdsRootKey" in f.message
    policy, state = scenario("cloud-sync-from-nothing")
    [f] = found(policy, state, "WB-CS-103")
    assert f.status == "unknown"  # not visible to the reader: never "missing"
    assert "unknown, not missing" in f.message


def test_schema_attribute_is_looked_up_by_name() -> None:
    policy, state = scenario("cloud-sync-from-nothing")
    assert set(statuses(policy, state, "WB-CS-104").values()) == {"fail"}
    policy, state = scenario("cloud-sync-prepared")
    assert set(statuses(policy, state, "WB-CS-104").values()) == {"pass"}
    # the attribute counts, not the schema version (objectVersion stays 69 here)
    assert state.ad is not None and state.ad.schema_info.object_version == 69


# --------------------------------------------------------------------------- target OUs


def test_target_ou_exists_and_inherits() -> None:
    policy, state = scenario("cloud-sync-from-nothing")
    assert statuses(policy, state, "WB-CS-105") == {b.SECURITY_GROUPS: "fail"}
    assert statuses(policy, state, "WB-CS-106") == {b.SECURITY_GROUPS: "pass"}
    policy, state = scenario("cloud-sync-prepared")
    assert statuses(policy, state, "WB-CS-105") == {b.SECURITY_GROUPS: "pass"}
    assert statuses(policy, state, "WB-CS-106") == {b.SECURITY_GROUPS: "pass"}
    policy, state = scenario("cloud-sync-gmsa-without-rights")
    [f] = found(policy, state, "WB-CS-106")
    assert f.status == "fail" and f"OU=Apps,{b.SECURITY_GROUPS}" in f.message
    policy, state = world_state("cloud-sync-prepared", ad_observed=False)
    assert set(statuses(policy, state, "WB-CS-105").values()) == {"unknown"}
    assert set(statuses(policy, state, "WB-CS-106").values()) == {"unknown"}


# --------------------------------------------------------------------------- effective rights


def test_group_rights_name_the_missing_rights_the_objects_and_the_deny() -> None:
    policy, state = scenario("cloud-sync-gmsa-without-rights")
    results = {f.address: f for f in found(policy, state, "WB-CS-110")}
    target = results[b.SECURITY_GROUPS]
    assert target.status == "fail"
    for words in ("CC group", "DC group", "WP member", "WP adminDescription", "SD (delete)"):
        assert words in target.message
    assert "2 object(s) lack it now" in target.message
    assert target.evidence["gmsa_sid"] == b.GMSA_SID
    apps = results[f"OU=Apps,{b.SECURITY_GROUPS}"]
    assert apps.status == "fail" and "1 object(s)" in apps.message
    denied = results[f"CN=Group_d4e5f6,{b.SECURITY_GROUPS}"]
    assert denied.status == "fail" and "WP member denied" in denied.message
    assert denied.fixed_by == (
        f"ad.deny[CN=Group_d4e5f6,{b.SECURITY_GROUPS}/cloud-sync-group-provisioning/write-member]",
    )
    policy, state = scenario("cloud-sync-prepared")
    assert statuses(policy, state, "WB-CS-110") == {b.SECURITY_GROUPS: "pass"}


def test_group_rights_fail_without_a_gmsa_and_point_at_the_deferred_grants() -> None:
    policy, state = scenario("cloud-sync-several-gmsas")
    [f] = found(policy, state, "WB-CS-110")
    assert f.status == "fail" and "WB-CS-101" in f.message
    assert all("cloud-sync-group-provisioning" in a for a in f.fixed_by)


def test_password_rights_per_domain_root() -> None:
    policy, state = scenario("cloud-sync-gmsa-without-rights")
    results = {f.address: f for f in found(policy, state, "WB-CS-111")}
    root = results[ROOT]
    assert root.status == "fail"
    assert "CA Reset Password, WP lockoutTime, WP pwdLastSet" in root.message
    assert f"2 below OU=Staff,{b.BASE}" in root.message
    policy, state = scenario("cloud-sync-prepared")
    assert statuses(policy, state, "WB-CS-111") == {ROOT: "pass"}


def exchange_world(aces: list[Ace]) -> tuple[Policy, ObservedState]:
    root = b.domain_root(aces)
    users, dacls = b.scope_tree(
        root,
        [
            b.Node("OU=Staff", "organizationalUnit", children=[b.Node("CN=ajones")]),
            b.Node("CN=Sales", "group"),
        ],
    )
    world = b.World(
        objects=[root, b.admin_sd_holder()],
        scans=(users,),
        dacls=dacls,
        cloud_sync=CloudSyncAd(gmsa=b.gmsa(), kds_root_key=True, external_directory_object_id=True),
        external_directory_object_id=True,
    )
    writeback = b.cloud_sync_policy(group=False, exchange=True)
    return policy_of(writeback), world.build("exchange")


def test_exchange_rights_use_the_connectors_rpwp_shapes_for_the_gmsa() -> None:
    policy, state = exchange_world([])
    [f] = found(policy, state, "WB-CS-112")
    assert f.status == "fail" and "WP msDS-ExternalDirectoryObjectId" in f.message
    assert len(f.fixed_by) == 4  # RPWP on user, inetOrgPerson, group, contact
    policy, state = exchange_world(b.exchange_aces(b.GMSA_SID))
    assert statuses(policy, state, "WB-CS-112") == {ROOT: "pass"}
    # the connector's grants give the gMSA nothing
    policy, state = exchange_world(b.exchange_aces(b.CONNECTOR_SID))
    assert statuses(policy, state, "WB-CS-112") == {ROOT: "fail"}


def test_admin_count_objects_are_judged_on_admin_sd_holder_too() -> None:
    policy, state = scenario("cloud-sync-prepared")
    assert set(statuses(policy, state, "WB-CS-113").values()) == {"pass"}
    writeback, world = b.SCENARIOS["cloud-sync-prepared"]()
    target, scan, dacls = b.security_groups(
        b.gmsa_group_aces(f"{b.DOMAIN_SID}-1602"),
        [
            b.Node("CN=Group_a1b2c3", "group"),
            b.Node("CN=Tier0", "group", admin_count=True, protected=True),
        ],
    )
    world.objects = [o for o in world.objects if o.dn != b.SECURITY_GROUPS] + [target]
    world.scans = (*[s for s in world.scans if s.root != b.SECURITY_GROUPS], scan)
    world.dacls = {**world.dacls, **dacls}
    policy, state = policy_of(writeback), world.build("admin")
    results = {f.address: f for f in found(policy, state, "WB-CS-113")}
    tier0 = results[f"CN=Tier0,{b.SECURITY_GROUPS}"]
    assert tier0.status == "fail" and "AdminSDHolder" in tier0.message


def test_connect_password_grants_in_a_cloud_sync_password_domain_warn() -> None:
    policy, state = scenario("cloud-sync-prepared")
    assert statuses(policy, state, "WB-CS-120") == {ROOT: "pass"}
    writeback, world = b.SCENARIOS["cloud-sync-prepared"]()
    root = b.domain_root([*b.password_aces(b.GMSA_SID), b.unexpire_for_authenticated_users()])
    users, dacls = b.scope_tree(
        root,
        [
            b.Node(
                "OU=Staff",
                "organizationalUnit",
                b.password_aces(b.CONNECTOR_SID),
                children=[b.Node("CN=ajones")],
            )
        ],
    )
    world.objects = [o for o in world.objects if o.dn != b.BASE] + [root]
    world.scans = (users, *[s for s in world.scans if s.root != b.BASE])
    world.dacls = {**world.dacls, **dacls}
    policy, state = policy_of(writeback), world.build("both")
    [f] = found(policy, state, "WB-CS-120")
    assert f.status == "fail" and f"OU=Staff,{b.BASE}" in f.message
    assert f.criticality == "SHOULD"
    policy, state = world_state("cloud-sync-prepared", ad_observed=False)
    assert set(statuses(policy, state, "WB-CS-120").values()) == {"unknown"}


# --------------------------------------------------------------------------- the engine


def test_the_gmsa_and_the_connector_are_judged_by_one_engine_with_their_own_tokens() -> None:
    _policy, state = scenario("cloud-sync-prepared")
    gmsa = analyse(state, b.SECURITY_GROUPS, "cloud-sync-group", "gmsa")
    connector = analyse(state, b.SECURITY_GROUPS, "cloud-sync-group", "connector")
    assert gmsa is not None and connector is not None
    assert all(v.ok for v in gmsa.verdicts)  # through the group in the gMSA's tokenGroups
    assert not any(v.ok for v in connector.verdicts)
    # the connector's own analyses are what they were
    assert analyse(state, b.SECURITY_GROUPS, "cloud-sync-group") is connector


def test_cloud_sync_aces_are_granted_to_the_gmsa_and_wait_for_it() -> None:
    policy, state = scenario("cloud-sync-gmsa-without-rights")
    resources = expand(policy, state)
    aces = [r for r in resources if r.type == "ad.ace" and r.desired.get("principal") == "gmsa"]
    assert aces and all("ad.gmsa[provAgentgMSA]" in r.depends_on for r in aces)
    assert not any(policy.connector.account in d for r in aces for d in r.depends_on)
    assert all(r.confidence == "inferred" and r.confidence_note for r in aces)
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    created = [
        c for c in plan.resource_changes if c.type == "ad.ace" and c.change.actions == ("create",)
    ]
    assert created and {c.change.after["trustee"] for c in created} == {b.GMSA_SID}
    assert plan.principals[b.GMSA_SID] == "CONTOSO\\pGMSA_e6620264$"


def test_the_configuration_waits_for_the_gmsa_aces_of_its_domain() -> None:
    policy, state = scenario("cloud-sync-gmsa-without-rights")
    ctx = Context(policy, state)
    configuration = Resource(
        address=cloudsync.configuration_address("contoso.test"),
        type="tenant.cloud_sync_configuration",
        provider="tenant",
        features=("cloud_sync",),
        why="w",
        manageable=False,
    )
    resources = [*cloudsync.expand(ctx), configuration]
    linked = {r.address: r for r in cloudsync.link_configurations(ctx, resources)}
    deps = linked[configuration.address].depends_on
    assert "ad.gmsa[provAgentgMSA]" in deps
    assert f"ad.ace[{b.SECURITY_GROUPS}/cloud-sync-group-provisioning/create-delete-groups]" in deps
    assert f"ad.ace[{b.BASE}/cloud-sync-password-writeback/reset-password]" in deps
    assert any(d.startswith("ad.deny[") for d in deps)


def test_migration_from_v2_shows_the_flag_to_turn_off_with_its_blast_radius() -> None:
    policy, state = scenario("cloud-sync-migration-from-v2")
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    by = {c.address: c for c in (*plan.resource_changes, *plan.deferred_changes)}
    flag = by["tenant.feature[groupWriteBackEnabled]"]
    assert flag.change.actions == ("manual",)
    assert flag.blast_radius is not None and flag.blast_radius.count == 23
    assert flag.depends_on == ("ad.schema_attribute[contoso.test/msDS-ExternalDirectoryObjectId]",)
    assert "Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false" in (flag.instructions or "")
    assert plan.destructive
    # v2 already off: nothing to turn off, no radius
    policy, state = world_state("cloud-sync-migration-from-v2", features={})
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    flag = next(
        c for c in plan.resource_changes if c.address == "tenant.feature[groupWriteBackEnabled]"
    )
    assert flag.change.actions == ("no-op",) and flag.blast_radius is None


@pytest.mark.parametrize(
    "name",
    [
        "cloud-sync-from-nothing",
        "cloud-sync-gmsa-without-rights",
        "cloud-sync-prepared",
        "cloud-sync-several-gmsas",
        "cloud-sync-migration-from-v2",
    ],
)
def test_no_connector_resource_is_needed_by_cloud_sync_alone(name: str) -> None:
    policy, state = scenario(name)
    addresses = {r.address for r in expand(policy, state)}
    assert f"ad.connector[{policy.connector.account}]" not in addresses


def test_gmsa_aces_emit_through_the_existing_machinery() -> None:
    """``apply --emit``: the gMSA's ACEs are written with its SID (.NET, since dsacls is used
    only for the connector named in the policy) and the LDIF merges them into the DACL read."""
    from planner.apply.emit import render_emit
    from planner.model.dn import dn_key
    from planner.observe.sd import descriptor_bytes

    policy, state = scenario("cloud-sync-migration-from-v2")
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    assert state.ad is not None
    descriptors = {
        dn_key(o.dn): descriptor_bytes(o.security)
        for o in state.ad.objects
        if o.exists and o.security is not None
    }
    script = render_emit(plan, "powershell", descriptors)
    assert f"New-WbplanRule $entry '{b.GMSA_SID}'" in script
    assert "Invoke-WbplanDsacls '" not in script  # dsacls names the connector only
    ldif = render_emit(plan, "ldif", descriptors)
    assert f"dn: {b.SECURITY_GROUPS}" in ldif and "nTSecurityDescriptor" in ldif
