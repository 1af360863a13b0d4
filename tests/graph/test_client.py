"""GraphClient against the emulator: paging, throttling, error messages, TLS; plus the few unit
cases only the transport seam can produce (a paging link to another host)."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest

from planner.errors import GraphAuthError, GraphError, GraphThrottledError, UsageError
from planner.graphapi.auth import StaticTokenProvider, make_token_provider
from planner.graphapi.client import (
    MAX_RETRY_WAIT_S,
    GraphClient,
    GraphForbiddenError,
    GraphOptions,
    parse_retry_after,
    required_permission,
)
from planner.graphapi.failures import PERMISSIONS, endpoint_permission
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import TEST_TOKEN, GraphEmulator
from tests.support.graph_tls import make_tls_files


def test_get_all_follows_next_links_one_request_per_page(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=10)  # 30 devices
    graph_emulator.page_size = 7
    items = list(graph_client.get_all("/devices", {"$select": "deviceId"}))
    assert len(items) == 30
    assert all(set(i) == {"deviceId"} for i in items)
    assert graph_client.requests == 5  # 7+7+7+7+2
    tokens = [r.query.get("$skiptoken") for r in graph_emulator.requests]
    assert tokens[0] is None
    assert len(set(tokens[1:])) == 4


def test_get_all_is_lazy(graph_emulator: GraphEmulator, graph_client: GraphClient) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=10)
    graph_emulator.page_size = 10
    pages = graph_client.get_all("/devices")
    first = next(pages)
    assert first["displayName"] == "PC-0000"
    assert graph_client.requests == 1  # only the first page was fetched so far
    pages.close()


def test_429_is_retried_honouring_retry_after_seconds(
    graph_emulator: GraphEmulator, graph_client: GraphClient, sleeps: list[float]
) -> None:
    graph_emulator.throttle("/organization", times=2, retry_after="7")
    body = graph_client.get("/organization")
    assert body["value"][0]["id"] == gt.TENANT_ID
    assert sleeps == [7.0, 7.0]
    assert graph_client.requests == 3


def test_503_is_retried_with_an_http_date_retry_after(
    graph_emulator: GraphEmulator, graph_client: GraphClient, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    graph_emulator.throttle("/subscribedSkus", times=1, retry_after=when, status=503)
    assert list(graph_client.get_all("/subscribedSkus"))
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 31


def test_throttling_without_retry_after_backs_off_exponentially(
    graph_emulator: GraphEmulator, graph_client: GraphClient, sleeps: list[float]
) -> None:
    graph_emulator.throttle("/domains", times=3, retry_after=None)
    graph_client.get("/domains")
    assert sleeps == [1.0, 2.0, 4.0]


def test_throttling_past_the_bound_fails_naming_the_endpoint(
    graph_emulator: GraphEmulator, graph_options: GraphOptions, sleeps: list[float]
) -> None:
    graph_emulator.throttle("/directory/onPremisesSynchronization", times=None, retry_after="3")
    provider = StaticTokenProvider(TEST_TOKEN, "test token")
    with GraphClient(graph_options, provider, sleep=sleeps.append) as client:
        with pytest.raises(GraphThrottledError) as info:
            client.get("/directory/onPremisesSynchronization")
        assert client.requests == graph_options.max_retries + 1
    message = str(info.value)
    assert "429" in message
    assert "GET /directory/onPremisesSynchronization" in message
    assert "after 5 attempts" in message
    assert "Retry-After: 3" in message
    assert info.value.hint
    assert sleeps == [3.0] * graph_options.max_retries


def test_retry_after_parsing_is_bounded() -> None:
    assert parse_retry_after("5", 0) == 5.0
    assert parse_retry_after("100000", 0) == MAX_RETRY_WAIT_S
    assert parse_retry_after("not a date", 2) == 4.0
    assert parse_retry_after(None, 10) == MAX_RETRY_WAIT_S
    past = email.utils.formatdate(1_000, usegmt=True)
    assert parse_retry_after(past, 0, now=2_000) == 0.0


def test_401_names_the_token_source_and_the_fix(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    provider = make_token_provider(graph_options, env={"WBPLAN_GRAPH_TOKEN": "expired-token"})
    with GraphClient(graph_options, provider) as client, pytest.raises(GraphAuthError) as info:
        client.get("/organization")
    assert not isinstance(info.value, GraphForbiddenError)
    assert "401 InvalidAuthenticationToken" in info.value.message
    assert "GET /organization" in info.value.message
    assert "WBPLAN_GRAPH_TOKEN" in (info.value.hint or "")
    assert "expired" in (info.value.hint or "")
    assert graph_emulator.requests[0].authorized is False


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "/organization", "Organization.Read.All"),
        ("GET", "/subscribedSkus", "LicenseAssignment.Read.All or Organization.Read.All"),
        ("GET", "/groupSettings", "GroupSettings.Read.All or Directory.Read.All"),
        ("POST", "/groupSettings", "GroupSettings.ReadWrite.All or Directory.ReadWrite.All"),
        ("GET", "/devices", "Device.Read.All"),
        ("GET", "/domains", "Domain.Read.All"),
    ],
)
def test_403_names_the_missing_permission(
    graph_emulator: GraphEmulator,
    graph_client: GraphClient,
    method: str,
    path: str,
    permission: str,
) -> None:
    graph_emulator.forbid(path.split("/{", maxsplit=1)[0], method=method)
    with pytest.raises(GraphForbiddenError) as info:
        if method == "GET":
            graph_client.get(path)
        else:
            graph_client.post(path, {"templateId": gt.GROUP_UNIFIED_TEMPLATE_ID, "values": []})
    error = info.value
    assert isinstance(error, GraphAuthError)
    assert f"the credential lacks {permission}" in error.message
    assert "403 Authorization_RequestDenied" in error.message
    assert f"{method} {path}" in error.message
    assert f"grant {permission}" in (error.hint or "")
    assert error.permission == permission
    assert error.requirement == permission
    assert "request-id" in error.message


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "/directory/onPremisesSynchronization", "OnPremDirectorySynchronization.Read.All"),
        (
            "PATCH",
            f"/directory/onPremisesSynchronization/{gt.SYNC_ID}",
            "OnPremDirectorySynchronization.ReadWrite.All",
        ),
    ],
)
def test_403_on_the_delegated_only_endpoint_names_the_global_administrator(
    graph_emulator: GraphEmulator,
    graph_client: GraphClient,
    method: str,
    path: str,
    permission: str,
) -> None:
    graph_emulator.forbid("/directory/onPremisesSynchronization", method=method)
    with pytest.raises(GraphForbiddenError) as info:
        if method == "GET":
            graph_client.get(path)
        else:
            graph_client.patch(path, {"features": {"deviceWritebackEnabled": True}})
    error = info.value
    assert error.permission == permission
    assert error.requirement == (
        f"the delegated permission {permission} for a signed-in Global Administrator "
        "(application permissions are not supported)"
    )
    assert f"{method} {path}" in error.message
    assert f"it needs {error.requirement}" in error.message
    hint = error.hint or ""
    assert "sign in as a Global Administrator" in hint
    assert "--graph-auth azure-cli" in hint
    assert "grant" not in hint and "app registration and give admin consent" not in hint


def test_permission_table_names_its_sources() -> None:
    for row in PERMISSIONS:
        assert "https://learn.microsoft.com/graph/api/" in row.source, row.endpoint
    sync = endpoint_permission("GET", "/directory/onPremisesSynchronization")
    assert sync is not None and not sync.application and sync.role == "Global Administrator"
    assert sync.kind == "delegated only"
    skus = endpoint_permission("GET", "/subscribedSkus")
    assert skus is not None and skus.permission.startswith("LicenseAssignment.Read.All")


def test_permission_map_covers_template_reads_and_setting_writes() -> None:
    assert required_permission("GET", "/groupSettingTemplates/x") == (
        "GroupSettings.Read.All or Directory.Read.All"
    )
    assert required_permission("PATCH", "/groupSettings/x") == (
        "GroupSettings.ReadWrite.All or Directory.ReadWrite.All"
    )
    assert required_permission("GET", "/users") is None


def test_404_points_at_the_base_url(graph_client: GraphClient) -> None:
    with pytest.raises(GraphError) as info:
        graph_client.get("/no/such/thing")
    assert "Graph has no GET /no/such/thing (404 Request_ResourceNotFound" in info.value.message
    assert "--graph-url" in (info.value.hint or "")


@pytest.mark.parametrize("status", [500, 502, 504])
def test_transient_5xx_on_a_get_is_retried_then_succeeds(
    graph_emulator: GraphEmulator, graph_client: GraphClient, sleeps: list[float], status: int
) -> None:
    graph_emulator.fail("/domains", status=status, times=2)
    assert graph_client.get("/domains")["value"]
    assert sleeps == [1.0, 2.0]
    assert len(graph_emulator.graph_requests("/domains")) == 3


def test_transient_5xx_past_the_bound_fails_naming_the_status(
    graph_emulator: GraphEmulator, graph_client: GraphClient, sleeps: list[float]
) -> None:
    graph_emulator.fail("/domains", status=502)
    with pytest.raises(GraphError) as info:
        graph_client.get("/domains")
    assert type(info.value) is GraphError
    assert "502 badGateway" in info.value.message
    assert "request-id" in (info.value.hint or "")
    assert len(sleeps) == graph_client.options.max_retries


def test_a_post_that_failed_with_500_is_not_repeated(
    graph_emulator: GraphEmulator, graph_client: GraphClient, sleeps: list[float]
) -> None:
    # A repeated POST could create a second Group.Unified setting.
    graph_emulator.fail("/groupSettings", status=500, times=1)
    with pytest.raises(GraphError) as info:
        graph_client.post(
            "/groupSettings", {"templateId": gt.GROUP_UNIFIED_TEMPLATE_ID, "values": []}
        )
    assert "500 generalException" in info.value.message
    assert sleeps == []
    assert [r.method for r in graph_emulator.graph_requests("/groupSettings")] == ["POST"]


def test_untrusted_certificate_is_a_tls_error_naming_the_ca_option(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    other_ca = make_tls_files(tmp_path / "other", "some other CA").ca_file
    options = GraphOptions(graph_url=graph_emulator.base_url, ca_file=other_ca)
    client = GraphClient(options, StaticTokenProvider(TEST_TOKEN, "t"))
    with client, pytest.raises(GraphError) as info:
        client.get("/organization")
    assert info.value.message.startswith("TLS to 127.0.0.1:")
    assert "--graph-ca-file" in (info.value.hint or "")
    assert graph_emulator.requests == []  # the token never reached the server


def test_public_trust_store_does_not_trust_the_emulator(graph_emulator: GraphEmulator) -> None:
    options = GraphOptions(graph_url=graph_emulator.base_url)
    client = GraphClient(options, StaticTokenProvider(TEST_TOKEN, "t"))
    with client, pytest.raises(GraphError, match="TLS"):
        client.get("/organization")


def test_insecure_flag_works_but_warns_loudly(
    graph_emulator: GraphEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    options = GraphOptions(graph_url=graph_emulator.base_url, insecure_skip_tls_verify=True)
    with GraphClient(options, StaticTokenProvider(TEST_TOKEN, "t")) as client:
        assert client.get("/organization")["value"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("TLS CERTIFICATE VALIDATION IS OFF" in r.getMessage() for r in warnings)


def test_connection_refused_names_the_host_and_next_step() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = GraphOptions(graph_url=f"https://127.0.0.1:{port}/v1.0")
    client = GraphClient(options, StaticTokenProvider(TEST_TOKEN, "t"))
    with client, pytest.raises(GraphError) as info:
        client.get("/organization")
    assert info.value.message.startswith(
        f"cannot connect to 127.0.0.1:{port} for GET /organization"
    )
    assert "HTTPS_PROXY" in (info.value.hint or "")


def test_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    options = GraphOptions(ca_file=tmp_path / "nope.pem")
    with pytest.raises(GraphError, match="cannot load the CA file"):
        GraphClient(options, StaticTokenProvider(TEST_TOKEN, "t"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"graph_url": "http://graph.microsoft.com/v1.0"}, "https://"),
        ({"graph_url": "https://graph.microsoft.com/v1.0?x=1"}, "query"),
        ({"max_retries": 11}, "between 0 and 10"),
        ({"timeout": 0}, "positive"),
        ({"auth": "password"}, "unknown --graph-auth"),
        ({"ca_file": Path("ca.pem"), "insecure_skip_tls_verify": True}, "contradict"),
    ],
)
def test_options_are_validated(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        GraphOptions(**kwargs)  # type: ignore[arg-type]


def test_patch_and_post_round_trip(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    path = f"/directory/onPremisesSynchronization/{gt.SYNC_ID}"
    assert graph_client.patch(path, {"features": {"deviceWritebackEnabled": True}}) is None
    assert graph_client.get(path)["features"]["deviceWritebackEnabled"] is True
    created = graph_client.post(
        "/groupSettings",
        {
            "templateId": gt.GROUP_UNIFIED_TEMPLATE_ID,
            "values": [{"name": "EnableGroupCreation", "value": "false"}],
        },
    )
    assert created["displayName"] == "Group.Unified"
    assert graph_emulator.writes()[0].body == {"features": {"deviceWritebackEnabled": True}}


# -- transport seam: responses the emulator would never send ----------------------------------
def _client(handler: object) -> GraphClient:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return GraphClient(GraphOptions(), StaticTokenProvider(TEST_TOKEN, "t"), transport=transport)


def test_delete_removes_a_group_setting(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    created = graph_client.post(
        "/groupSettings", {"templateId": gt.GROUP_UNIFIED_TEMPLATE_ID, "values": []}
    )
    graph_client.delete(f"/groupSettings/{created['id']}")
    assert all(s["id"] != created["id"] for s in graph_client.get_all("/groupSettings"))
    assert graph_emulator.writes()[-1].method == "DELETE"
    with pytest.raises(GraphError, match="404"):
        graph_client.delete(f"/groupSettings/{created['id']}")


def test_next_link_to_another_host_is_not_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200, json={"value": [{"id": 1}], "@odata.nextLink": "https://evil.example/v1.0/devices"}
        )

    with _client(handler) as client, pytest.raises(GraphError, match="another host"):
        list(client.get_all("/devices"))
    assert seen == ["https://graph.microsoft.com/v1.0/devices"]


def test_a_reply_that_is_not_json_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy login</html>")

    with _client(handler) as client, pytest.raises(GraphError, match="not a JSON object"):
        client.get("/organization")


def test_the_token_is_sent_as_a_bearer_header_and_not_in_the_url() -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"value": []})

    with _client(handler) as client:
        client.get("/domains")
    assert captured[0].headers["Authorization"] == f"Bearer {TEST_TOKEN}"
    assert TEST_TOKEN not in str(captured[0].url)
