"""Fixtures for the rule tests: the emulator's token in the environment, so that
``observe_live`` authenticates to it as ``wbplan check`` would in CI."""

from __future__ import annotations

import pytest

from tests.support.graph_emulator import GraphEmulator


@pytest.fixture
def emu(graph_emulator: GraphEmulator, monkeypatch: pytest.MonkeyPatch) -> GraphEmulator:
    """The Graph emulator, with WBPLAN_GRAPH_TOKEN set for observe_live."""
    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", graph_emulator.token)
    return graph_emulator
