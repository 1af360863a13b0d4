"""Property (issue #6 "Done when"): whatever subset of the writeback preparation a DC and a
tenant already have, plan → apply → re-plan has no changes.

Hypothesis draws the subset (containers, the device registration object, connector ACEs in
full or in part, an unrelated ACE, the Group.Unified setting, feature flags); each example gets a fresh DC with the Exchange-like schema (≈1 s) so device,
password and group v1 writeback are all planned. The run is in-process (the same functions the
CLI calls) to keep examples cheap.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.apply.executors import Targets
from planner.apply.lock import held
from planner.apply.run import execute_plan
from planner.graphapi.client import GraphOptions
from planner.model.policy import Policy
from planner.observe.live import LiveSources, observe_live
from planner.planning import has_changes, make_plan
from tests.ad.adops import (
    add_aces,
    add_device_container,
    add_drs_containers,
    add_drs_service,
    add_ou,
    allow,
    drs_dns,
    object_sid,
    password_writeback_aces,
)
from tests.ad.conftest import options_for
from tests.apply.harness import CLOUD_GROUPS, DEVICES, STAFF
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaFactory

pytestmark = pytest.mark.samba

PREPARATIONS = (
    "drs_containers",
    "device_container",
    "drs_service",
    "staff_aces",
    "staff_reset_only",
    "unrelated_ace",
    "cloud_groups_ou",
    "group_setting_true",
    "group_setting_false",
    "device_flag_on",
    "group_flag_on",
)

POLICY: dict[str, Any] = {
    "apiVersion": "wbplan.dev/v1",
    "kind": "WritebackPolicy",
    "metadata": {"name": "property"},
    "forest": "contoso.test",
    "tenant": {"id": graph_tenants.TENANT_ID, "domain": "contoso.onmicrosoft.com"},
    "connector": {"account": "CONTOSO\\MSOL_1a2b3c4d5e6f"},
    "licences": {"require": ["AAD_PREMIUM"]},
    "writeback": {
        "device": {"enabled": True, "domain": "contoso.test"},
        "password": {"enabled": True, "scope": [STAFF], "unexpire_password": True},
        "group": {
            "enabled": True,
            "version": "v1",
            "container": CLOUD_GROUPS,
            "new_group_default": False,
        },
    },
}


def prepare(conn: Any, dc: Any, emu: GraphEmulator, chosen: set[str]) -> None:
    sid = object_sid(conn, f"CN=MSOL_1a2b3c4d5e6f,CN=Users,{dc.base_dn}")
    _, _, service = drs_dns(dc.config_dn)
    # Not drawn: a DRS object with another msDS-DeviceLocation. The attribute is system-only, so
    # that drift is a manual step and the re-plan keeps it (test_failure.py covers it).
    if "drs_service" in chosen:
        chosen |= {"drs_containers", "device_container"}
    if "drs_containers" in chosen:
        add_drs_containers(conn, dc.config_dn)
    if "device_container" in chosen:
        add_device_container(conn, DEVICES)
    if "drs_service" in chosen:
        add_drs_service(conn, service, DEVICES)
    add_ou(conn, STAFF)
    if "staff_aces" in chosen:
        add_aces(conn, STAFF, *password_writeback_aces(sid))
    elif "staff_reset_only" in chosen:
        add_aces(conn, STAFF, password_writeback_aces(sid)[0])
    if "unrelated_ace" in chosen:
        add_aces(conn, STAFF, allow("S-1-5-11", 0x10, flags=0x02))
    if "cloud_groups_ou" in chosen:
        add_ou(conn, CLOUD_GROUPS)
    features = {
        "deviceWritebackEnabled": "device_flag_on" in chosen,
        "unifiedGroupWritebackEnabled": "group_flag_on" in chosen,
    }
    if "group_setting_false" in chosen:
        emu.tenant = graph_tenants.tenant(
            skus=[graph_tenants.sku_p1()],
            features=features,
            group_unified=graph_tenants.group_unified_setting("false"),
        )
    elif "group_setting_true" in chosen:
        emu.tenant = graph_tenants.tenant(
            skus=[graph_tenants.sku_p1()],
            features=features,
            group_unified=graph_tenants.group_unified_setting("true"),
        )
    else:
        emu.tenant = graph_tenants.tenant(skus=[graph_tenants.sku_p1()], features=features)


def _plan(policy: Policy, sources: LiveSources) -> tuple[Any, Any]:
    state = observe_live(policy, sources)
    plan = make_plan(
        policy, state, policy_file="p.yaml", policy_digest="", state_source="live", timestamp="now"
    )
    return plan, state


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chosen=st.sets(st.sampled_from(PREPARATIONS)))
def test_plan_apply_replan_has_no_changes_whatever_was_prepared(
    chosen: set[str],
    samba_factory: SambaFactory,
    graph_emulator: GraphEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", graph_emulator.token)
    policy = Policy.model_validate(POLICY)
    with samba_factory.running("exchange") as dc, tempfile.TemporaryDirectory() as tmp:
        dc.create_connector()
        prepare(dc.admin_connection(), dc, graph_emulator, set(chosen))
        sources = LiveSources(
            ldap=options_for(dc),
            graph=GraphOptions(
                graph_url=graph_emulator.base_url, ca_file=Path(graph_emulator.tls.ca_file)
            ),
        )
        plan, state = _plan(policy, sources)
        assert not plan.deferred_changes
        with held(Path(tmp) / "locks", "contoso.test", graph_tenants.TENANT_ID, "apply") as lock:
            run = execute_plan(
                plan, policy, sources, state, lock, journal_dir=Path(tmp), progress=lambda *_: None
            )
        assert run.result.ok, run.journal.read_text()
        again, _ = _plan(policy, sources)
        left = [
            (c.address, c.change.actions)
            for c in again.resource_changes
            if c.change.actions[0] not in ("no-op", "read")
        ]
        assert not has_changes(again), left


def test_targets_without_connections_refuse_clearly() -> None:
    """The executors name the missing connection instead of failing obscurely."""
    from planner.errors import UsageError

    with pytest.raises(UsageError, match="no LDAP connection"):
        Targets().need_ad("ad.object[X]")
    with pytest.raises(UsageError, match="no Graph connection"):
        Targets().need_graph("tenant.feature[x]")
