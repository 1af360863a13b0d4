"""The HTML report's layout (issue 15 §10): the verdict and the counts before the context, the
observed state's age shown and flagged past a threshold (a day, or ``check --max-state-age``),
and a print stylesheet."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.model.report import Report
from planner.observe.snapshot import dump_state, load_state
from planner.render.report_common import duration_text, is_stale, state_age
from planner.render.report_html import CSS, render_html
from tests.report.samples import every_status

REPO = Path(__file__).resolve().parent.parent.parent


def _observed(report: Report, before: dt.timedelta) -> Report:
    checked = dt.datetime.fromisoformat(report.timestamp.replace("Z", "+00:00"))
    stamp = (checked - before).isoformat().replace("+00:00", "Z")
    return report.model_copy(update={"observed_at": stamp})


def test_the_verdict_and_the_counts_come_before_the_context() -> None:
    html = render_html(every_status())
    order = [
        html.index('<div class="verdict bad">Not compliant</div>'),
        html.index('<p class="subtitle">Not compliant:'),
        html.index('<div class="cards">'),
        html.index("<th>Feature</th>"),
        html.index('<h2 class="context">About this check</h2>'),
        html.index("<dt>Policy digest</dt>"),
        html.index('<section class="feature"'),
    ]
    assert order[2:] == sorted(order[2:]) and max(order[:2]) < order[2], order


def test_a_fresh_observation_shows_its_age_and_no_flag() -> None:
    report = every_status()  # observed five minutes before the check
    assert state_age(report) == dt.timedelta(minutes=5) and not is_stale(report)
    html = render_html(report)
    assert "2026-11-22T17:55:00Z · 5m before this check</dd>" in html
    assert 'class="stale"' not in html and 'class="flag"' not in html


def test_an_observation_older_than_a_day_is_flagged_above_the_counts() -> None:
    report = _observed(every_status(), dt.timedelta(days=3, hours=4, minutes=1))
    html = render_html(report)
    banner = html.index('<div class="stale" role="note"><b>Stale observation.</b>')
    assert html.index("</header>") < banner < html.index('<div class="cards">')
    assert "observed 3d 4h before it ran" in html
    assert "older than 1d: the verdict describes the directory and tenant as they were" in html
    assert '3d 4h before this check<span class="flag">stale: older than 1d</span>' in html
    # a larger threshold (check --max-state-age) does not flag it
    relaxed = render_html(report, stale_after=dt.timedelta(days=4))
    assert 'class="stale"' not in relaxed and "3d 4h before this check</dd>" in relaxed


def test_an_observation_after_the_check_and_an_unreadable_time() -> None:
    future = render_html(_observed(every_status(), -dt.timedelta(hours=2)))
    assert "after this check: check the clocks" in future and 'class="stale"' not in future
    unknown = render_html(every_status().model_copy(update={"observed_at": "yesterday"}))
    assert "<dt>Observed at</dt><dd>yesterday</dd>" in unknown


def test_durations_read_in_their_two_largest_units() -> None:
    assert duration_text(dt.timedelta(days=1)) == "1d"
    assert duration_text(dt.timedelta(days=9, hours=18, minutes=3)) == "9d 18h"
    assert duration_text(dt.timedelta(minutes=12, seconds=5)) == "12m 5s"
    assert duration_text(dt.timedelta(0)) == "0s"


def test_a_print_stylesheet_prints_on_white_with_folded_blocks_open() -> None:
    match = re.search(r"@media print \{(.*)\n\}\n", CSS, re.S)
    assert match, "no @media print block"
    rules = match.group(1)
    assert "body { background: #fff;" in rules
    assert "print-color-adjust: exact" in rules  # status colours survive printing
    assert "break-inside: avoid" in rules
    assert "details::details-content { content-visibility: visible; }" in rules
    assert "pre { background: #fff;" in rules


@pytest.fixture
def snapshot_two_days_old(tmp_path: Path) -> Path:
    state = load_state(REPO / "state" / "example.json")
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2, hours=1)
    path = tmp_path / "state.json"
    path.write_text(
        dump_state(
            state.model_copy(update={"observed_at": when.isoformat().replace("+00:00", "Z")})
        )
    )
    return path


def test_check_flags_by_a_day_or_by_max_state_age(
    snapshot_two_days_old: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("WBPLAN_TODAY", "2026-11-22")
    base = ["check", "--policy", "policies/example.yaml", "--state", str(snapshot_two_days_old)]
    default = CliRunner().invoke(cli, [*base, "--format", "html"])
    assert default.exit_code == 2, default.output
    assert '<span class="flag">stale: older than 1d</span>' in default.stdout
    assert re.search(r"observed 2d 1h before it ran", default.stdout)
    relaxed = CliRunner().invoke(cli, [*base, "--format", "html", "--max-state-age", "3d"])
    assert relaxed.exit_code == 2, relaxed.output
    assert (
        'class="stale"' not in relaxed.stdout and "2d 1h before this check</dd>" in relaxed.stdout
    )
    strict = CliRunner().invoke(cli, [*base, "--format", "html", "--max-state-age", "1d"])
    assert strict.exit_code == 1 and "older than --max-state-age 1d" in strict.output
