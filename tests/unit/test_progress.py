"""Progress of live reads (issue 15 §8): on stderr only, as a rewritten status line on a
terminal or plain lines with ``--progress``, nothing otherwise or with ``--quiet``; stdout (the
plan, the report) and the observation are the same with and without it."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from planner import progress as progress_module
from planner.cli import cli
from planner.observe.snapshot import load_state
from planner.progress import (
    NO_PROGRESS,
    Progress,
    StderrProgress,
    amount,
    counted,
    for_stderr,
)
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import TEST_TOKEN, GraphEmulator

REPO = Path(__file__).resolve().parents[2]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_amounts_read_as_numbers_with_separators() -> None:
    assert amount(12000, "objects", 13) == "12,000 objects, 13 pages"
    assert amount(1, "devices", 1) == "1 devices, 1 page"
    assert amount(5, "names") == "5 names"


def test_counted_passes_items_through_and_reports_the_running_count() -> None:
    seen: list[tuple[int, int | None]] = []

    class Recorder(Progress):
        def update(self, count: int, pages: int | None = None) -> None:
            seen.append((count, pages))

    assert list(counted("abc", Recorder(), lambda: 7)) == ["a", "b", "c"]
    assert seen == [(1, 7), (2, 7), (3, 7)]
    assert list(counted([1, 2], NO_PROGRESS)) == [1, 2]


def test_a_terminal_gets_one_status_line_rewritten_and_cleared() -> None:
    out, clock = io.StringIO(), Clock()
    shown = StderrProgress(out, terminal=True, clock=clock, width=lambda: 80)
    shown.phase("Reading AD: schema")
    shown.phase("Reading AD: scope OU=Staff,DC=contoso,DC=test", "objects")
    for n in range(1, 2001):
        clock.now += 0.0001  # 0.2 s for 2,000 objects: two redraws at most
        shown.update(n, 1 + n // 1000)
    shown.close()
    text = out.getvalue()
    assert "\n" not in text, "a terminal status line never scrolls"
    frames = text.split("\r\x1b[K")
    assert frames[0] == "" and frames[-1] == "", "each frame clears the line; close clears it"
    assert frames[1:3] == ["Reading AD: schema…", "Reading AD: scope OU=Staff,DC=contoso,DC=test…"]
    counts = frames[3:-1]
    assert 1 <= len(counts) <= 2, counts
    assert counts[0].startswith("Reading AD: scope OU=Staff,DC=contoso,DC=test: 1,")
    assert counts[0].endswith(" objects, 2 pages…")


def test_a_terminal_line_is_cut_to_the_terminal_width() -> None:
    out = io.StringIO()
    shown = StderrProgress(out, terminal=True, clock=Clock(), width=lambda: 40)
    shown.phase("Reading AD: scope " + "OU=Deep," * 20 + "DC=contoso,DC=test", "objects")
    frame = out.getvalue().split("\r\x1b[K")[-1]
    assert len(frame) == 39 and frame.endswith("…")


def test_a_warning_logged_mid_read_gets_a_line_of_its_own() -> None:
    out, clock = io.StringIO(), Clock()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        shown = StderrProgress(out, terminal=True, clock=clock)
        shown.phase("Reading tenant: organization")
        logging.getLogger("planner.observe.graph").warning("the credential reads tenant X")
        shown.phase("Reading tenant: domains")
        shown.close()
    finally:
        root.removeHandler(handler)
    assert out.getvalue() == (
        "\r\x1b[KReading tenant: organization…"
        "\r\x1b[Kthe credential reads tenant X\n"
        "\r\x1b[KReading tenant: domains…"
        "\r\x1b[K"
    )
    assert handler.filters == [], "the display leaves the log handlers as it found them"


def test_a_log_gets_plain_lines_a_running_count_and_the_total() -> None:
    out, clock = io.StringIO(), Clock()
    shown = StderrProgress(out, terminal=False, clock=clock)
    shown.phase("Reading AD: schema")
    shown.phase("Reading AD: scope OU=Staff,DC=contoso,DC=test", "objects")
    for n in range(1, 120001):
        clock.now += 0.0001  # 12 s in all: a running count at 5 s and at 10 s
        shown.update(n, 1 + (n - 1) // 1000)
    shown.phase("Reading tenant: organization")
    shown.close()
    assert out.getvalue().splitlines() == [
        "Reading AD: schema…",
        "Reading AD: scope OU=Staff,DC=contoso,DC=test…",
        "Reading AD: scope OU=Staff,DC=contoso,DC=test: 50,000 objects, 50 pages…",
        "Reading AD: scope OU=Staff,DC=contoso,DC=test: 100,000 objects, 100 pages…",
        "Reading AD: scope OU=Staff,DC=contoso,DC=test: 120,000 objects, 120 pages.",
        "Reading tenant: organization…",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_the_display_is_chosen_from_quiet_progress_and_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "_isatty", lambda _stream: False)
    assert for_stderr() is NO_PROGRESS  # not a terminal: nothing
    forced = for_stderr(force=True)
    assert isinstance(forced, StderrProgress) and not forced.terminal
    assert for_stderr(quiet=True, force=True) is NO_PROGRESS
    monkeypatch.setattr(progress_module, "_isatty", lambda _stream: True)
    shown = for_stderr()
    assert isinstance(shown, StderrProgress) and shown.terminal
    assert for_stderr(quiet=True) is NO_PROGRESS


# -- the CLI, reading the emulated tenant live ---------------------------------------------------


def _policy(tmp_path: Path) -> Path:
    """The example policy (device writeback declared: the devices are read in pages)."""
    text = (REPO / "policies/example.yaml").read_text(encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace("7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b", gt.TENANT_ID))
    return path


def _run(emu: GraphEmulator, *args: str) -> Result:
    graph = ["--graph-url", emu.base_url, "--graph-ca-file", str(emu.tls.ca_file)]
    return CliRunner().invoke(
        cli, [*args, *graph], env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN, "NO_COLOR": "1"}
    )


@pytest.fixture
def tenant(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.tenant = gt.with_devices(per_type=30)  # 90 devices
    graph_emulator.page_size = 40  # three pages
    return graph_emulator


def test_refresh_with_progress_logs_each_phase_and_writes_the_same_snapshot(
    tenant: GraphEmulator, tmp_path: Path
) -> None:
    policy = str(_policy(tmp_path))
    plain, shown = tmp_path / "plain.json", tmp_path / "shown.json"
    quiet = _run(tenant, "refresh", "--policy", policy, "--tenant-only", "--out", str(plain))
    logged = _run(
        tenant, "refresh", "--policy", policy, "--tenant-only", "--out", str(shown), "--progress"
    )
    assert quiet.exit_code == logged.exit_code == 0, quiet.output + logged.output
    assert quiet.stderr == ""  # not a terminal, no --progress: nothing
    assert logged.stdout == f"Wrote {shown}: tenant {gt.TENANT_ID}.\n"
    assert logged.stderr.splitlines() == [
        "Reading tenant: organization…",
        "Reading tenant: licences (subscribedSkus)…",
        "Reading tenant: directory synchronisation features…",
        "Reading tenant: the Group.Unified setting…",
        "Reading tenant: devices…",
        "Reading tenant: devices: 90 devices, 3 pages.",
        "Reading tenant: domains…",
    ]

    def observation(path: Path) -> object:
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.pop("observed_at")
        return doc

    assert observation(plain) == observation(shown)
    assert load_state(shown).tenant is not None


def test_plan_stdout_is_byte_identical_with_progress_on_a_terminal(
    tenant: GraphEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = str(_policy(tmp_path))
    without = _run(tenant, "plan", "--policy", policy, "--format", "json")
    monkeypatch.setattr(progress_module, "_isatty", lambda _stream: True)
    with_tty = _run(tenant, "plan", "--policy", policy, "--format", "json")
    assert without.exit_code == with_tty.exit_code == 0, without.output + with_tty.output
    assert without.stderr == ""

    def stable(text: str) -> object:
        doc = json.loads(text)
        doc.pop("timestamp")
        return doc

    assert stable(with_tty.stdout) == stable(without.stdout)
    assert "\r" not in with_tty.stdout and "Reading" not in with_tty.stdout
    assert "\r\x1b[KReading tenant: organization…" in with_tty.stderr
    assert with_tty.stderr.endswith("\r\x1b[K"), "the status line is cleared at the end"


def test_quiet_silences_progress_and_the_informational_lines(
    tenant: GraphEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_module, "_isatty", lambda _stream: True)
    policy = str(_policy(tmp_path))
    out = tmp_path / "plan.md"
    talkative = _run(tenant, "plan", "--policy", policy, "--format", "markdown", "-o", str(out))
    assert talkative.exit_code == 0, talkative.output
    assert f"Wrote {out}." in talkative.stderr and "Reading tenant" in talkative.stderr
    quiet = _run(
        tenant, "plan", "--policy", policy, "--format", "markdown", "-o", str(out), "--quiet"
    )
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == quiet.stderr == ""
    report = tmp_path / "report.json"
    checked = _run(
        tenant, "check", "--policy", policy, "--format", "json", "-o", str(report), "--quiet"
    )
    assert checked.exit_code in (0, 2), checked.output
    assert checked.stderr == "" and report.is_file()


def test_quiet_and_progress_exclude_each_other(tenant: GraphEmulator, tmp_path: Path) -> None:
    result = _run(tenant, "plan", "--policy", str(_policy(tmp_path)), "--quiet", "--progress")
    assert result.exit_code == 1
    assert "--quiet and --progress exclude each other" in result.stderr


def test_apply_shows_the_progress_of_its_live_reads_and_quiet_silences_it(
    tenant: GraphEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply reads live before it asks (and again under the lock): the same display."""
    monkeypatch.chdir(tmp_path)
    policy = str(_policy(tmp_path))
    graph = ["--graph-url", tenant.base_url, "--graph-ca-file", str(tenant.tls.ca_file)]
    env = {"WBPLAN_GRAPH_TOKEN": TEST_TOKEN, "NO_COLOR": "1"}
    for flag, shown in (("--progress", True), ("--quiet", False)):
        result = CliRunner().invoke(
            cli, ["apply", "--policy", policy, flag, *graph], env=env, input="no\n"
        )
        assert result.exit_code == 1, result.output  # not approved
        assert "Do you want to perform these actions?" in result.stdout
        assert ("Reading tenant: organization…" in result.stderr) is shown, result.stderr
        assert "Reading tenant" not in result.stdout
