"""Shared helpers for the Graph tests: a policy builder, and a guard that every test's log output
(at DEBUG, every logger: ours, httpx, httpcore, azure-identity, msal) is free of test secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from planner.model.policy import Policy
from tests.support.graph_emulator import SECRETS
from tests.support.graph_tenants import TENANT_ID


def make_policy(tenant_id: str = TENANT_ID, **writeback: Any) -> Policy:
    """A valid policy declaring the given writeback features (dicts as in YAML)."""
    return Policy.model_validate(
        {
            "apiVersion": "wbplan.dev/v1",
            "kind": "WritebackPolicy",
            "metadata": {"name": "graph-tests"},
            "forest": "contoso.com",
            "tenant": {"id": tenant_id, "domain": "contoso.onmicrosoft.com"},
            "connector": {"account": "CONTOSO\\MSOL_1a2b3c4d5e6f"},
            "writeback": writeback,
        }
    )


ALL_FEATURES: dict[str, Any] = {
    "password": {"enabled": True},
    "device": {"enabled": True},
    "group": {"enabled": True, "container": "OU=CloudGroups,DC=contoso,DC=com"},
    "exchange_hybrid": {"enabled": False},
}


def assert_no_secrets(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a test secret leaked into {where}"
        # Also the distinctive middle part, in case something re-encodes or truncates the value.
        core = max(secret.replace("~", ".").split("."), key=len)
        assert core not in text, f"part of a test secret leaked into {where}"


@pytest.fixture(autouse=True)
def _logs_hold_no_secrets(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert_no_secrets(caplog.text, "the log output")
