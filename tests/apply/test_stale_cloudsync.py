"""A saved plan that depends on Cloud Sync is refused at apply when its Cloud Sync facts changed
(issue 18): the plan fingerprints ``tenant.cloud_sync[]`` (configurations, jobs, scope,
agents), the subscribed SKUs the Cloud Sync licence is judged on, and ``ad.cloud_sync[]`` (the
gMSA, its groups, the KDS root key, the schema attribute). A job that merely ran again — new
run timestamps, the same verdict — does not make the plan stale.

Offline on the ``cloud-sync-prepared`` scenario's snapshot, and end to end against the Graph
emulator (the tenant read as apply reads it, before and after a change in the tenant)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from planner.apply.stale import changed_addresses, check_not_stale
from planner.errors import StalePlanError
from planner.graphapi.auth import make_token_provider
from planner.graphapi.client import GraphClient, GraphOptions
from planner.model.plan import Plan
from planner.model.policy import Policy
from planner.model.state import CloudSyncJob, ObservedState
from planner.observe.graph import observe_tenant
from planner.observe.snapshot import load_state
from planner.planning import make_plan
from planner.policy.loader import load_policies
from tests.support import graph_cloudsync as gcs
from tests.support.graph_emulator import GraphEmulator
from tests.support.graph_tenants import TENANT_ID

SCENARIOS = Path(__file__).parent.parent / "plan" / "scenarios"
SCENARIO = SCENARIOS / "cloud-sync-prepared"
DOMAIN = "contoso.test"


def _policy(tenant_id: str | None = None) -> Policy:
    loaded = load_policies([SCENARIO / "policy.yaml"], dt.date(2026, 11, 1))
    [policy] = [p.policy for p in loaded.policies]
    if tenant_id is None:
        return policy
    return policy.model_copy(update={"tenant": policy.tenant.model_copy(update={"id": tenant_id})})


def _plan(policy: Policy, state: ObservedState) -> Plan:
    return make_plan(
        policy,
        state,
        policy_file="policy.yaml",
        policy_digest="sha256:0",
        state_source="test",
        timestamp=state.observed_at,
    )


def _with_jobs(state: ObservedState, **changes: Any) -> ObservedState:
    """``state`` with every Cloud Sync job updated by ``changes``."""
    tenant = state.tenant
    assert tenant is not None and tenant.cloud_sync is not None
    configs = tuple(
        c.model_copy(update={"jobs": tuple(j.model_copy(update=changes) for j in c.jobs)})
        for c in tenant.cloud_sync.configurations
    )
    cloud = tenant.cloud_sync.model_copy(update={"configurations": configs})
    return state.model_copy(update={"tenant": tenant.model_copy(update={"cloud_sync": cloud})})


def _later(ts: str, minutes: int) -> str:
    when = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) + dt.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def prepared() -> tuple[Policy, ObservedState, Plan]:
    policy, state = _policy(), load_state(SCENARIO / "state.json")
    return policy, state, _plan(policy, state)


def test_a_cloud_sync_plan_fingerprints_what_its_cloud_sync_verdicts_read(
    prepared: tuple[Policy, ObservedState, Plan],
) -> None:
    _, state, plan = prepared
    assert {"tenant.cloud_sync[]", "tenant.subscribed_skus[]", "ad.cloud_sync[]"} <= set(
        plan.observed
    )
    assert changed_addresses(plan, state) == []


def test_a_quarantined_job_makes_the_plan_stale(
    prepared: tuple[Policy, ObservedState, Plan],
) -> None:
    policy, state, plan = prepared
    quarantined = _with_jobs(state, status_code="Quarantine", quarantine_reason="TooManyDeletes")
    assert changed_addresses(plan, quarantined) == ["tenant.cloud_sync[]"]
    with pytest.raises(StalePlanError, match=r"tenant\.cloud_sync\[\]"):
        check_not_stale(plan, policy, quarantined)


def test_a_job_that_ran_again_leaves_the_plan_current(
    prepared: tuple[Policy, ObservedState, Plan],
) -> None:
    """Jobs run every 2 to 40 minutes: new timestamps with the same verdict change nothing the
    plan decided on."""
    _, state, plan = prepared
    tenant = state.tenant
    assert tenant is not None and tenant.cloud_sync is not None
    [job, *_] = [j for c in tenant.cloud_sync.configurations for j in c.jobs]
    assert job.last_successful_execution_ended is not None
    ran = _with_jobs(
        state,
        last_execution_ended=_later(job.last_successful_execution_ended, 30),
        last_successful_execution_ended=_later(job.last_successful_execution_ended, 30),
    )
    later = ran.model_copy(update={"observed_at": _later(state.observed_at, 30)})
    assert changed_addresses(plan, later) == []


def test_a_job_that_stopped_succeeding_makes_the_plan_stale(
    prepared: tuple[Policy, ObservedState, Plan],
) -> None:
    """The same timestamps read four hours later: the job's verdict turned to failing."""
    _, state, plan = prepared
    later = state.model_copy(update={"observed_at": _later(state.observed_at, 4 * 60)})
    assert "tenant.cloud_sync[]" in changed_addresses(plan, later)


def test_a_configuration_or_agent_that_went_makes_the_plan_stale(
    prepared: tuple[Policy, ObservedState, Plan],
) -> None:
    _, state, plan = prepared
    tenant = state.tenant
    assert tenant is not None and tenant.cloud_sync is not None
    cloud = tenant.cloud_sync
    for changed in (
        cloud.model_copy(update={"configurations": cloud.configurations[1:]}),
        cloud.model_copy(
            update={
                "agents": tuple(
                    a.model_copy(update={"status": "inactive"}) for a in cloud.agents or ()
                )
            }
        ),
    ):
        new = state.model_copy(update={"tenant": tenant.model_copy(update={"cloud_sync": changed})})
        assert changed_addresses(plan, new) == ["tenant.cloud_sync[]"]


def test_the_licence_skus_and_the_ad_side_are_fingerprinted_too(
    prepared: tuple[Policy, ObservedState, Plan],
) -> None:
    _, state, plan = prepared
    tenant, ad = state.tenant, state.ad
    assert tenant is not None and tenant.subscribed_skus and ad is not None
    assert ad.cloud_sync is not None and ad.cloud_sync.gmsa is not None
    no_skus = state.model_copy(update={"tenant": tenant.model_copy(update={"subscribed_skus": ()})})
    assert changed_addresses(plan, no_skus) == ["tenant.subscribed_skus[]"]
    gmsa = ad.cloud_sync.gmsa.model_copy(update={"token_groups": ("S-1-5-21-1-2-3-1111",)})
    for cloud in (
        ad.cloud_sync.model_copy(update={"gmsa": gmsa}),
        ad.cloud_sync.model_copy(update={"external_directory_object_id": None}),
    ):
        new = state.model_copy(update={"ad": ad.model_copy(update={"cloud_sync": cloud})})
        assert changed_addresses(plan, new) == ["ad.cloud_sync[]"]


# ----------------------------------------------------------------------------- Graph emulator


def _read(emu: GraphEmulator, options: GraphOptions, policy: Policy) -> Any:
    provider = make_token_provider(options, env={"WBPLAN_GRAPH_TOKEN": emu.token})
    with GraphClient(options, provider, sleep=lambda _: None) as client:
        return observe_tenant(client, policy)


def test_apply_refuses_a_plan_whose_cloud_sync_changed_in_the_tenant(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    """Plan against the tenant as Graph shows it; a re-read of an unchanged tenant is current;
    after the job is quarantined in the tenant the same re-read makes the plan stale, naming
    ``tenant.cloud_sync[]``."""
    policy = _policy(TENANT_ID)
    ad_state = load_state(SCENARIO / "state.json")
    graph_emulator.tenant = gcs.healthy(DOMAIN, (gcs.GROUP_PROVISIONING, gcs.AD_TO_ENTRA))

    def observe() -> ObservedState:
        tenant = _read(graph_emulator, graph_options, policy)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ad_state.model_copy(update={"tenant": tenant, "observed_at": now})

    first = observe()
    plan = _plan(policy, first)
    assert plan.observed["tenant.cloud_sync[]"] != "sha256:" + "0" * 64
    check_not_stale(plan, policy, observe())

    [sp_id] = graph_emulator.tenant.sync_jobs
    for wire in graph_emulator.tenant.sync_jobs[sp_id]:
        if wire["templateId"] == gcs.GROUP_PROVISIONING:
            wire["status"]["code"] = "Quarantine"
            wire["status"]["quarantine"] = gcs.quarantine()
    with pytest.raises(StalePlanError) as refused:
        check_not_stale(plan, policy, observe())
    assert "tenant.cloud_sync[]" in str(refused.value)
    assert "ad.cloud_sync[]" not in str(refused.value)


def test_the_fingerprint_ignores_only_the_run_timestamps() -> None:
    """Every other field of a job is part of the value (a guard against dropping more)."""
    from planner.observations import Index

    state = load_state(SCENARIO / "state.json")
    value = Index(state).observation("tenant.cloud_sync[]")
    job_fields = set(CloudSyncJob.model_fields) - {
        "last_execution_ended",
        "last_successful_execution_ended",
    }
    for config in value["configurations"]:
        for job in config["jobs"]:
            assert set(job) == job_fields | {"verdict"}
            assert job["verdict"] == "pass"


def test_a_changed_admin_sd_holder_makes_a_per_object_plan_stale() -> None:
    """adminCount=1 objects are judged on AdminSDHolder's DACL too (the connector's and the
    gMSA's per-object verdicts alike): a plan whose scope holds one fingerprints AdminSDHolder,
    and a grant added there makes the plan stale."""
    from planner.model.state import Ace

    folder = SCENARIOS / "password-per-object"
    state = load_state(folder / "state.json")
    [loaded] = load_policies([folder / "policy.yaml"], dt.date(2026, 11, 1)).policies
    plan = _plan(loaded.policy, state)
    holder = "ad.object[CN=AdminSDHolder,CN=System,DC=contoso,DC=test]"
    assert holder in plan.observed
    assert changed_addresses(plan, state) == []
    assert state.ad is not None
    grant = Ace(qualifier="allow", trustee="S-1-5-21-1-2-3-4444", mask=0x100)
    objects = tuple(
        o.model_copy(
            update={"security": o.security.model_copy(update={"aces": (*o.security.aces, grant)})}
        )
        if o.dn.startswith("CN=AdminSDHolder") and o.security is not None
        else o
        for o in state.ad.objects
    )
    changed = state.model_copy(update={"ad": state.ad.model_copy(update={"objects": objects})})
    assert changed_addresses(plan, changed) == [holder]


def test_a_connect_sync_cycle_leaves_the_plan_current_and_a_stopped_sync_does_not() -> None:
    """The same for the tenant's last directory sync: Entra Connect syncs every 30 minutes, so
    its time is not fingerprinted, only the verdict drawn from it (synced within three hours of
    the observation, or not)."""
    folder = SCENARIOS / "fully-prepared"
    state = load_state(folder / "state.json")
    [loaded] = load_policies([folder / "policy.yaml"], dt.date(2026, 11, 1)).policies
    plan = _plan(loaded.policy, state)
    tenant = state.tenant
    assert tenant is not None and tenant.organization is not None
    last = tenant.organization.on_premises_last_sync
    assert last is not None and "tenant.organization[]" in plan.observed

    def at(minutes: int, synced: str | None = None, enabled: bool = True) -> ObservedState:
        org = tenant.organization.model_copy(  # type: ignore[union-attr]
            update={"on_premises_last_sync": synced or last, "on_premises_sync_enabled": enabled}
        )
        return state.model_copy(
            update={
                "tenant": tenant.model_copy(update={"organization": org}),
                "observed_at": _later(state.observed_at, minutes),
            }
        )

    assert changed_addresses(plan, at(40, _later(last, 60))) == []  # a cycle ran since
    assert changed_addresses(plan, at(4 * 60)) == ["tenant.organization[]"]  # none for 4.5 h
    assert changed_addresses(plan, at(0, enabled=False)) == ["tenant.organization[]"]
