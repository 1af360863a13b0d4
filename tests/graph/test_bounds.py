"""The client's bounds (issue 14 §5) against the emulator's wire and paging faults: each fault
that used to run without end — a next-page link to itself, a reply trickled a byte at a time, a
400 MiB body, an eight-minute Retry-After — ends with a clear error (cause and next step) after
a bounded number of requests, bytes or seconds; a reset connection is retried for GET only.

The limits are set small here (a 1.5 s deadline, a 1 MiB body cap, a 50 s wait budget), and each
test asserts what the bound cut short — requests sent, bytes the emulator wrote, seconds waited —
against what the unbounded behaviour would have taken, not how fast the machine is. Waits go
through the client's ``sleep`` seam (recorded, not slept) except in one test that sleeps for real.
"""

from __future__ import annotations

import base64
import contextlib
import json
import select
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.errors import GraphError, GraphThrottledError, UsageError
from planner.graphapi import client as client_module
from planner.graphapi.auth import StaticTokenProvider
from planner.graphapi.client import GraphClient, GraphOptions
from planner.graphapi.failures import (
    DEADLINE_ENV,
    MAX_BODY_ENV,
    MAX_PAGES_ENV,
    WAIT_BUDGET_ENV,
)
from tests.graph.conftest import assert_no_secrets
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import TEST_TOKEN, GraphEmulator

MIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]
LIMIT_ENV = (DEADLINE_ENV, WAIT_BUDGET_ENV, MAX_PAGES_ENV, MAX_BODY_ENV)


@pytest.fixture(autouse=True)
def _no_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIMIT_ENV:
        monkeypatch.delenv(name, raising=False)


class Run:
    """A client on the emulator with small limits; waits and progress lines are recorded."""

    def __init__(self, emu: GraphEmulator, **limits: object) -> None:
        self.options = GraphOptions(
            graph_url=emu.base_url,
            ca_file=Path(emu.tls.ca_file),
            **limits,  # type: ignore[arg-type]
        )
        self.sleeps: list[float] = []
        self.lines: list[str] = []
        self.client = GraphClient(
            self.options,
            StaticTokenProvider(TEST_TOKEN, "test token"),
            sleep=self.sleeps.append,
            progress=self.lines.append,
        )


@pytest.fixture
def run(graph_emulator: GraphEmulator) -> Iterator[type[Run]]:
    made: list[Run] = []

    class _Run(Run):
        def __init__(self, emu: GraphEmulator, **limits: object) -> None:
            super().__init__(emu, **limits)
            made.append(self)

    yield _Run
    for r in made:
        r.client.close()


def _elapsed(since: float) -> float:
    return time.monotonic() - since


# -- paging: loops, foreign links, the page cap ------------------------------------------------
def test_a_next_link_to_itself_stops_after_the_first_page(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=2)
    graph_emulator.loop_next_link("/devices")  # unbounded: 4,670 requests in 240 s, and on
    r = run(graph_emulator)
    items: list[dict[str, object]] = []
    with pytest.raises(GraphError) as info:
        items.extend(r.client.get_all("/devices", {"$select": "deviceId", "$top": "999"}))
    assert len(items) == 6  # the first page was read, then the loop was seen before re-reading
    assert r.client.requests == 1
    assert len(graph_emulator.graph_requests("/devices")) == 1
    error = info.value
    assert type(error) is GraphError
    assert error.message.startswith("Graph's paging for GET /devices loops: the next-page link")
    assert "stopped after 1 page (request-id " in error.message
    assert "report the request-id to Microsoft support" in (error.hint or "")
    assert_no_secrets(str(error), "the loop error")


def test_a_paging_cycle_is_stopped_when_it_comes_round(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.loop_next_link("/domains", cycle=3)  # page 1 → 2 → 3 → 1 → …
    r = run(graph_emulator)
    with pytest.raises(GraphError, match="loops") as info:
        list(r.client.get_all("/domains"))
    assert "stopped after 3 pages" in info.value.message
    assert r.client.requests == 3


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://graph.evil.example/v1.0/domains?$skiptoken=x", "https://graph.evil.example"),
        ("http://127.0.0.1:{port}/v1.0/domains?$skiptoken=x", "http://127.0.0.1:{port}"),
        ("https://127.0.0.1:1/v1.0/domains", "https://127.0.0.1:1"),
        ("https://admin:hunter2secret@127.0.0.1:{port}/v1.0/domains", "https://127.0.0.1:{port}"),
        ("/v1.0/domains?$skiptoken=x", "a link without scheme and host"),
    ],
    ids=["other-host", "http-downgrade", "other-port", "userinfo", "relative"],
)
def test_a_next_link_to_another_origin_is_not_followed(
    graph_emulator: GraphEmulator, run: type[Run], link: str, shown: str
) -> None:
    port = str(graph_emulator.port)
    graph_emulator.foreign_next_link("/domains", link.replace("{port}", port))
    r = run(graph_emulator)
    with pytest.raises(GraphError) as info:
        list(r.client.get_all("/domains"))
    assert r.client.requests == 1  # the token went nowhere else
    assert len(graph_emulator.requests) == 1
    message = info.value.message
    assert message.startswith("Graph's paging link for GET /domains points to another host")
    assert (
        f"({shown.replace('{port}', port)}, not {graph_emulator.origin} as --graph-url" in message
    )
    assert "hunter2secret" not in str(info.value) and "admin" not in str(info.value)
    assert "--graph-url" in (info.value.hint or "")


def test_the_page_cap_stops_a_collection_that_goes_on(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=10)  # 30 devices
    graph_emulator.page_size = 2  # 15 distinct pages, each with a fresh next link
    r = run(graph_emulator, max_pages=5)
    items: list[dict[str, object]] = []
    with pytest.raises(GraphError) as info:
        items.extend(r.client.get_all("/devices"))
    assert len(items) == 10
    assert r.client.requests == 5
    assert info.value.message == (
        "Graph's paging for GET /devices goes on past 5 pages; stopped at the page cap"
    )
    assert f"raise {MAX_PAGES_ENV} (now 5)" in (info.value.hint or "")
    exact = run(graph_emulator, max_pages=15)
    assert len(list(exact.client.get_all("/devices"))) == 30  # exactly at the cap: complete


# -- the per-request deadline -----------------------------------------------------------------
@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_a_trickled_reply_ends_at_the_request_deadline(
    graph_emulator: GraphEmulator, run: type[Run], headers: bool
) -> None:
    # One byte every 0.3 s: each socket read returns well within the 1 s per-read timeout, so
    # only a deadline over the whole request ends it. Unbounded: ~700 bytes x 0.3 s = 3.5 min.
    graph_emulator.trickle("/organization", interval=0.3, headers=headers)
    r = run(graph_emulator, timeout=1.0, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(GraphError) as info:
        r.client.get("/organization")
    elapsed = _elapsed(started)
    body = len(json.dumps({"value": [graph_emulator.tenant.organization]}))
    assert elapsed < body * 0.3 / 20  # far below the trickle's own length
    assert graph_emulator.fault_bytes_sent < body // 10
    assert r.client.requests == 1  # a deadline is not retried
    assert info.value.message == (
        "Graph did not complete GET /organization within the 1.5 s request deadline "
        "(connecting, headers and the whole body together)"
    )
    assert f"raise {DEADLINE_ENV}" in (info.value.hint or "")


def test_the_deadline_leaves_a_normal_read_alone(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=5)
    graph_emulator.page_size = 4
    r = run(graph_emulator, deadline=5.0)
    assert len(list(r.client.get_all("/devices"))) == 15
    assert r.client.get("/organization")["value"][0]["id"] == gt.TENANT_ID


# -- the body cap ------------------------------------------------------------------------------
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_an_oversized_body_is_refused_without_being_buffered(
    graph_emulator: GraphEmulator, run: type[Run], declared: bool
) -> None:
    size = 400 * MIB  # what used 1 GB of memory before
    graph_emulator.oversize("/organization", size, declare_length=declared)
    r = run(graph_emulator, max_body_bytes=MIB)
    tracemalloc.start()
    try:
        with pytest.raises(GraphError) as info:
            r.client.get("/organization")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB  # the cap (1 MiB) plus chunks in flight, not the body
    assert graph_emulator.fault_bytes_sent < size // 20  # the client stopped reading
    assert r.client.requests == 1
    found = "it announces 400 MiB" if declared else "reading stopped after 1 MiB"
    assert info.value.message == (
        f"Graph's reply to GET /organization is larger than the 1 MiB limit ({found}); "
        "not read further"
    )
    assert f"raise {MAX_BODY_ENV} (MiB)" in (info.value.hint or "")


def test_a_body_under_the_cap_is_read_whole(graph_emulator: GraphEmulator, run: type[Run]) -> None:
    graph_emulator.oversize("/organization", 512 * 1024, declare_length=False)
    r = run(graph_emulator, max_body_bytes=MIB)
    body = r.client.get("/organization")
    assert len(json.dumps(body, separators=(",", ":"))) == 512 * 1024


# -- the wait budget ---------------------------------------------------------------------------
def test_a_retry_after_longer_than_the_budget_fails_at_once(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.throttle("/organization", times=None, retry_after="480")  # eight minutes
    r = run(graph_emulator)  # the default budget: 300 s
    with pytest.raises(GraphThrottledError) as info:
        r.client.get("/organization")
    assert r.sleeps == [] and r.lines == []
    assert r.client.requests == 1
    assert info.value.message == (
        "Graph asked to wait 480 s (throttled, 429) for GET /organization, more than the 300 s "
        "left of this run's 300 s wait budget; not retried"
    )
    hint = info.value.hint or ""
    assert "run again in 480 s or later" in hint
    assert f"raise {WAIT_BUDGET_ENV} (seconds)" in hint


def test_the_budget_is_shared_by_every_request_of_a_client(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.throttle("/organization", times=2, retry_after="20")
    graph_emulator.throttle("/domains", times=None, retry_after="20")
    r = run(graph_emulator, wait_budget=50)
    assert r.client.get("/organization")["value"]
    with pytest.raises(GraphThrottledError) as info:
        r.client.get("/domains")
    assert r.sleeps == [20.0, 20.0]
    assert r.client.waited == 40.0
    assert info.value.message == (
        "Graph asked to wait 20 s (throttled, 429) for GET /domains, more than the 10 s left "
        "of this run's 50 s wait budget; not retried"
    )
    assert r.lines == [
        "Graph asked to wait 20 s (throttled, 429) for GET /organization — waiting (retry 1 of "
        "4); 30 s of the 50 s wait budget left",
        "Graph asked to wait 20 s (throttled, 429) for GET /organization — waiting (retry 2 of "
        "4); 10 s of the 50 s wait budget left",
    ]


def test_a_used_up_budget_says_so(graph_emulator: GraphEmulator, run: type[Run]) -> None:
    graph_emulator.fail("/domains", status=503, times=None)  # 503 without Retry-After: backoff
    r = run(graph_emulator, wait_budget=3)
    with pytest.raises(GraphThrottledError) as info:
        r.client.get("/domains")
    assert r.sleeps == [1.0, 2.0]
    assert info.value.message == (
        "Graph answered 503 (unavailable); backing off 4 s for GET /domains, but this run's "
        "3 s wait budget is used up; not retried"
    )


def test_a_long_wait_within_the_budget_is_honoured_and_announced_every_minute(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.throttle("/organization", times=1, retry_after="200")
    r = run(graph_emulator)
    assert r.client.get("/organization")["value"]
    assert r.sleeps == [60.0, 60.0, 60.0, 20.0]
    assert r.lines == [
        "Graph asked to wait 200 s (throttled, 429) for GET /organization — waiting (retry 1 of "
        "4); 100 s of the 300 s wait budget left",
        "  still waiting for Graph: 140 s to go",
        "  still waiting for Graph: 80 s to go",
        "  still waiting for Graph: 20 s to go",
    ]


def test_waits_are_announced_on_stderr_by_default(
    graph_emulator: GraphEmulator, graph_options: GraphOptions, capsys: pytest.CaptureFixture[str]
) -> None:
    graph_emulator.throttle("/organization", times=1, retry_after="2")
    slept: list[float] = []
    provider = StaticTokenProvider(TEST_TOKEN, "t")
    with GraphClient(graph_options, provider, sleep=slept.append) as client:
        client.get("/organization")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "Graph asked to wait 2 s (throttled, 429) for GET /organization — waiting (retry 1 of 4); "
        "298 s of the 300 s wait budget left\n"
    )
    assert slept == [2.0]


def test_the_budget_bounds_real_time_spent_waiting(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.throttle("/organization", times=None, retry_after="1")
    options = GraphOptions(
        graph_url=graph_emulator.base_url,
        ca_file=Path(graph_emulator.tls.ca_file),
        max_retries=10,  # unbounded by the budget: ten 1 s waits
        wait_budget=2,
    )
    lines: list[str] = []
    provider = StaticTokenProvider(TEST_TOKEN, "t")
    started = time.monotonic()
    with GraphClient(options, provider, progress=lines.append) as client:
        with pytest.raises(GraphThrottledError, match="2 s wait budget is used up"):
            client.get("/organization")
        assert client.requests == 3
    assert 2.0 <= _elapsed(started) < 10.0
    assert len(lines) == 2


# -- reset connections ---------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["reset", "close", "reset-mid-body"])
def test_a_get_whose_connection_drops_is_retried_and_succeeds(
    graph_emulator: GraphEmulator, run: type[Run], how: str
) -> None:
    graph_emulator.drop_connection("/organization", times=1, how=how)  # type: ignore[arg-type]
    r = run(graph_emulator)
    assert r.client.get("/organization")["value"][0]["id"] == gt.TENANT_ID
    assert r.client.requests == 2
    assert len(graph_emulator.graph_requests("/organization")) == 2
    assert r.sleeps == [1.0]
    assert r.lines == [
        "the connection to Graph was reset or closed; backing off 1 s for GET /organization — "
        "waiting (retry 1 of 4); 299 s of the 300 s wait budget left"
    ]


def test_a_get_whose_connection_always_drops_gives_up_after_the_retries(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    graph_emulator.drop_connection("/organization", times=None)
    r = run(graph_emulator, max_retries=2)
    with pytest.raises(GraphError) as info:
        r.client.get("/organization")
    assert r.client.requests == 3
    assert r.sleeps == [1.0, 2.0]
    assert info.value.message.startswith(
        f"the connection to 127.0.0.1:{graph_emulator.port} was reset or closed on all 3 "
        "attempts of GET /organization ("
    )
    assert "HTTPS_PROXY" in (info.value.hint or "")


def test_a_write_whose_connection_drops_is_not_repeated(
    graph_emulator: GraphEmulator, run: type[Run]
) -> None:
    path = f"/directory/onPremisesSynchronization/{gt.SYNC_ID}"
    graph_emulator.drop_connection(path, times=1)
    r = run(graph_emulator)
    with pytest.raises(GraphError) as info:
        r.client.patch(path, {"features": {"deviceWritebackEnabled": True}})
    assert r.client.requests == 1 and r.sleeps == []
    # Why it must not be repeated: Graph received it and made the change; only the reply was lost.
    assert [w.method for w in graph_emulator.writes()] == ["PATCH"]
    assert graph_emulator.tenant.sync is not None
    assert graph_emulator.tenant.sync["features"]["deviceWritebackEnabled"] is True
    assert "not repeated, because Graph may already have made the change" in info.value.message
    assert "wbplan plan" in (info.value.hint or "")


def test_a_reset_during_connect_counts_as_a_dropped_connection() -> None:
    # What httpcore raises when the peer resets the TCP or TLS handshake: retried for a GET.
    reset = httpx.ConnectError("[Errno 104] Connection reset by peer")
    reset.__cause__ = ConnectionResetError(104, "Connection reset by peer")
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert client_module._dropped(reset)
    assert client_module._dropped(httpx.RemoteProtocolError("Server disconnected"))
    assert not client_module._dropped(refused)
    assert not client_module._dropped(httpx.ReadTimeout("timed out"))


# -- a proxy: the same bounds through HTTPS_PROXY ------------------------------------------------
@pytest.fixture
def connect_proxy() -> Iterator[tuple[int, list[str]]]:
    """A minimal HTTP CONNECT proxy on 127.0.0.1: its port, and the CONNECT heads it received."""
    heads: list[str] = []
    server = socket.create_server(("127.0.0.1", 0))

    def tunnel(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            heads.append(data.split(b"\r\n\r\n")[0].decode())
            host, port = data.split()[1].decode().rsplit(":", 1)
            with socket.create_connection((host, int(port))) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                ends = [conn, upstream]
                while True:
                    ready, _, _ = select.select(ends, [], [], 5)
                    if not ready:
                        return
                    for end in ready:
                        chunk = end.recv(65536)
                        if not chunk:
                            return
                        (upstream if end is conn else conn).sendall(chunk)

    def accept() -> None:
        with contextlib.suppress(OSError):  # the listening socket closed at teardown
            while True:
                conn, _ = server.accept()
                threading.Thread(target=tunnel, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], heads
    server.close()


def test_the_deadline_holds_through_the_proxy_the_environment_names(
    graph_emulator: GraphEmulator,
    run: type[Run],
    connect_proxy: tuple[int, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, heads = connect_proxy
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:pa%40ss@127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    graph_emulator.trickle("/domains", interval=0.3)
    r = run(graph_emulator, timeout=1.0, deadline=1.5)
    assert r.client.get("/organization")["value"]
    with pytest.raises(GraphError, match=r"within the 1\.5 s request deadline"):
        r.client.get("/domains")
    assert heads, "the requests did not go through the proxy"
    assert heads[0].startswith(f"CONNECT 127.0.0.1:{graph_emulator.port} HTTP/1.1")
    credentials = base64.b64encode(b"proxyuser:pa@ss").decode()
    assert f"Proxy-Authorization: Basic {credentials}" in heads[0]
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    heads.clear()
    assert run(graph_emulator).client.get("/organization")["value"]
    assert heads == []  # NO_PROXY: straight to the host


def test_a_socks_proxy_is_a_clear_error(
    graph_options: GraphOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:secret@127.0.0.1:1080")
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(GraphError, match=r"a socks5:// proxy, which wbplan does not support") as e:
        GraphClient(graph_options, StaticTokenProvider(TEST_TOKEN, "t"))
    assert "secret" not in str(e.value)


# -- configuration -------------------------------------------------------------------------------
def test_the_limits_have_defaults_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = GraphOptions()
    assert (defaults.deadline, defaults.wait_budget) == (120.0, 300.0)
    assert (defaults.max_pages, defaults.max_body_bytes) == (2000, 32 * MIB)
    monkeypatch.setenv(DEADLINE_ENV, "45")
    monkeypatch.setenv(WAIT_BUDGET_ENV, "900")
    monkeypatch.setenv(MAX_PAGES_ENV, "50000")
    monkeypatch.setenv(MAX_BODY_ENV, "0.5")
    options = GraphOptions()
    assert (options.deadline, options.wait_budget) == (45.0, 900.0)
    assert (options.max_pages, options.max_body_bytes) == (50000, MIB // 2)
    assert GraphOptions(deadline=3).deadline == 3  # an explicit value wins


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (DEADLINE_ENV, "soon"),
        (DEADLINE_ENV, "0"),
        (WAIT_BUDGET_ENV, "-5"),
        (MAX_PAGES_ENV, "1.5"),
        (MAX_BODY_ENV, "inf"),
    ],
)
def test_a_bad_limit_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=f"{name} must be a positive") as info:
        GraphOptions()
    assert repr(value) in info.value.message


# -- the CLI: exit 1 with the message, limits from the environment ------------------------------
def _refresh(emu: GraphEmulator, tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    text = (REPO / "policies/example.yaml").read_text(encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace("7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b", gt.TENANT_ID))
    result = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            str(policy),
            "--tenant-only",
            "--graph-url",
            emu.base_url,
            "--graph-ca-file",
            str(emu.tls.ca_file),
            "--out",
            str(tmp_path / "tenant.json"),
        ],
        env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN, **env},
    )
    return result.exit_code, result.output


def test_refresh_stops_a_paging_loop_with_exit_1_and_the_message(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.loop_next_link("/subscribedSkus")
    code, output = _refresh(graph_emulator, tmp_path, {})
    assert code == 1, output
    assert "Error: Graph's paging for GET /subscribedSkus loops" in output
    assert "  hint: this is a fault of Graph or of a proxy" in output
    assert "internal error" not in output and "Traceback" not in output
    assert len(graph_emulator.graph_requests("/subscribedSkus")) == 1
    assert not (tmp_path / "tenant.json").exists()
    assert_no_secrets(output, "refresh output")


def test_refresh_takes_the_deadline_from_the_environment(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.trickle("/organization", interval=0.3)
    started = time.monotonic()
    code, output = _refresh(graph_emulator, tmp_path, {DEADLINE_ENV: "1"})
    assert code == 1, output
    assert _elapsed(started) < 30  # the default 120 s deadline was not the one applied
    assert "Error: Graph did not complete GET /organization within the 1 s request deadline" in (
        output
    )
