"""How old a snapshot is: the header line of the text plan and report, and ``--max-state-age``
refusing a snapshot older than the limit (plan and check)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from planner.cli import cli
from planner.cli.app import format_duration, parse_duration
from planner.cli.plan_cmd import Observed, with_note
from planner.observe.snapshot import dump_state, load_state

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "state/example.json"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the embedded default is policies/example.yaml + state/example.json
    monkeypatch.setenv("WBPLAN_TODAY", "2026-11-22")
    for name in ("WBPLAN_GRAPH_TOKEN", "WBPLAN_LDAP_URL", "WBPLAN_GRAPH_URL", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _fresh_snapshot(tmp_path: Path, age: dt.timedelta) -> Path:
    state = load_state(EXAMPLE)
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - age
    stamp = when.isoformat().replace("+00:00", "Z")
    path = tmp_path / "fresh.json"
    path.write_text(dump_state(state.model_copy(update={"observed_at": stamp})))
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6h", 21600), ("2d", 172800), ("90m", 5400), ("1d12h", 129600), ("1w", 604800), ("45s", 45)],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "0h", "-1h", "6h30", "six hours"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_ages_are_shown_in_their_two_largest_units() -> None:
    assert format_duration(dt.timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
    assert format_duration(dt.timedelta(hours=5, seconds=3)) == "5h"
    assert format_duration(dt.timedelta(minutes=12, seconds=5)) == "12m 5s"
    assert format_duration(dt.timedelta(0)) == "0s"


def test_note_names_each_snapshot_and_its_age() -> None:
    now = dt.datetime(2026, 11, 25, 20, 30, tzinfo=dt.UTC)
    one = Observed(None, "s.json", (("s.json", "2026-11-22T18:00:00Z"),))
    assert one.note(now) == "Snapshot s.json: observed 2026-11-22T18:00:00Z (3d 2h ago)."
    live_ad = Observed(None, "x", (("tenant:t.json", "2026-11-25T20:00:00Z"),), ad_live=True)
    assert live_ad.note(now) == (
        "Tenant snapshot t.json: observed 2026-11-25T20:00:00Z (30m ago); AD read live."
    )
    future = Observed(None, "s", (("s", "2026-11-26T00:00:00Z"),))
    assert "(in the future: check the clocks)" in (future.note(now) or "")
    assert Observed(None, "live").note(now) is None
    assert with_note("a\nb\n", "N") == "a\nN\nb\n"
    assert with_note("a\n", None) == "a\n"


@pytest.mark.parametrize("command", ["plan", "check"])
def test_text_output_names_the_snapshot_age_in_its_header(command: str, tmp_path: Path) -> None:
    fresh = _fresh_snapshot(tmp_path, dt.timedelta(hours=3, minutes=10))
    result = _run(command, "--policy", "policies/example.yaml", "--state", str(fresh))
    assert result.exit_code in (0, 2), result.output
    second = result.stdout.splitlines()[1]
    assert second.startswith(f"Snapshot {fresh}: observed ")
    assert second.endswith(("(3h 10m ago).", "(3h 11m ago)."))


def test_json_plan_carries_no_age_line() -> None:
    result = _run("plan", "--format", "json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the whole stdout is the document


@pytest.mark.parametrize("command", ["plan", "check"])
def test_max_state_age_refuses_an_older_snapshot(command: str) -> None:
    result = _run(command, "--max-state-age", "6h")
    assert result.exit_code == 1
    assert result.stdout == ""
    error = result.stderr.splitlines()[0]
    assert error.startswith("Error: snapshot state/example.json was observed ")
    assert error.endswith(" ago (2026-11-22T18:00:00Z), older than --max-state-age 6h")
    assert "wbplan refresh" in result.stderr


@pytest.mark.parametrize("command", ["plan", "check"])
def test_max_state_age_accepts_a_younger_snapshot(command: str, tmp_path: Path) -> None:
    fresh = _fresh_snapshot(tmp_path, dt.timedelta(hours=2))
    result = _run(
        command, "--policy", "policies/example.yaml", "--state", str(fresh), "--max-state-age", "6h"
    )
    assert result.exit_code in (0, 2), result.output
    assert "older than" not in result.output


def test_max_state_age_applies_to_a_tenant_snapshot_too(tmp_path: Path) -> None:
    fresh = _fresh_snapshot(tmp_path, dt.timedelta(minutes=5))
    args = ["plan", "--policy", "policies/example.yaml", "--state", str(fresh)]
    result = _run(*args, "--state-tenant", str(EXAMPLE), "--max-state-age", "1d")
    assert result.exit_code == 1
    assert f"Error: snapshot {EXAMPLE} was observed " in result.stderr
    assert "older than --max-state-age 1d" in result.stderr


def test_a_bad_max_state_age_is_a_usage_error() -> None:
    result = _run("plan", "--max-state-age", "soon")
    assert result.exit_code == 2  # click's usage-error code, before anything is read
    assert "'soon' is not a duration" in result.output
