"""``wbplan check``: evaluate the rule catalogue and write a report (issue #7).

The observed state comes from ``plan_cmd.observe`` — a snapshot (``--state``), live AD and
Graph (connection options), or with neither the example policy against the example snapshot
(inside a wbplan checkout, or with ``--example``) —
so ``check`` and ``plan`` never read the world differently. Exit codes: 0 compliant; 1 an error,
including a rule that could not be evaluated (status ``error``); 2 a SHALL rule failed (or a
SHOULD rule, with ``--fail-on should``). Unknown and waived findings never fail the check.

SARIF for GitHub code scanning (issue 13): waived findings are left out unless
``--sarif-waived include``, and the policy's URI is relative to ``--sarif-root`` (default: the
git top level of the policy file's folder, else the working directory); see
``planner/render/report_sarif.py``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import click

from planner.cli.app import cli, graph_options, ldap_options, policy_option, snapshot_options
from planner.cli.connect_cmd import connect_evidence_options
from planner.cli.refresh_cmd import incremental_options, progress_options
from planner.errors import EXIT_ERROR, EXIT_NONCOMPLIANT, EXIT_OK

REPORT_FORMATS = ["text", "json", "junit", "sarif", "markdown", "html"]

FEATURE_KEYS = {"licence": ("licences", "tenant"), "policy": ("waivers", "metadata")}
"""Report features that are not ``writeback.<feature>`` keys: the policy keys that declare them,
first found wins."""


def policy_lines(marks: Any, features: Iterable[str]) -> dict[str, int]:
    """feature → 1-based line of the policy key declaring it (``writeback.<feature>``, a
    top-level key such as ``tenant``, or :data:`FEATURE_KEYS`). A feature the file does not
    declare points at ``writeback:`` (else line 1), so every SARIF result has a location."""
    declared: dict[str, int] = {}
    for path, mark in marks.marks.items():
        if len(path) == 1 and isinstance(path[0], str):
            declared.setdefault(path[0], mark.key_line)
    writeback: dict[str, int] = {
        str(path[1]): mark.key_line
        for path, mark in marks.marks.items()
        if len(path) == 2 and path[0] == "writeback"
    }
    fallback = declared.get("writeback", 1)
    out: dict[str, int] = {}
    for feature in sorted(set(features)):
        keys = FEATURE_KEYS.get(feature, (feature,))
        lines = [writeback[k] for k in keys if k in writeback]
        lines += [declared[k] for k in keys if k in declared]
        out[feature] = lines[0] if lines else fallback
    return out


def display_path(path: Path) -> str:
    """The policy path as a report names it (``Report.policy_file``): relative to the working
    directory when it lies under it, POSIX separators. SARIF URIs are computed separately,
    relative to the source root (:func:`source_root`)."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def git_toplevel(folder: Path) -> Path | None:
    """``git rev-parse --show-toplevel`` run in ``folder``: the top level of the git work tree
    holding it, or None (not in a work tree, git not installed, or git refuses the folder)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 -- fixed argv, no shell, no user input
            [git, "rev-parse", "--show-toplevel"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.strip()
    return Path(top) if done.returncode == 0 and top else None


def source_root(policy: Path, explicit: Path | None) -> Path:
    """The folder SARIF URIs are relative to: ``--sarif-root``, else the git top level of the
    policy file's folder, else the working directory."""
    if explicit is not None:
        return explicit.absolute()
    return git_toplevel(policy.absolute().parent) or Path.cwd()


def render_report(
    report: Any,
    fmt: str,
    color: bool,
    *,
    sarif_waived: str = "omit",
    sarif_location: dict[str, str] | None = None,
    stale_after: dt.timedelta | None = None,
) -> str:
    """Render a report in ``fmt``. ``sarif_waived`` and ``sarif_location`` (the policy's SARIF
    ``artifactLocation``) apply to ``sarif`` only; ``stale_after`` (the age past which the
    observed state is flagged; default a day) to ``html`` only."""
    if fmt == "json":
        from planner.render.report_json import render_json

        return render_json(report)
    if fmt == "junit":
        from planner.render.report_junit import render_junit

        return render_junit(report)
    if fmt == "sarif":
        from planner.render.report_sarif import render_sarif

        return render_sarif(
            report,
            waived="include" if sarif_waived == "include" else "omit",
            location=sarif_location,
        )
    if fmt == "markdown":
        from planner.render.report_markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from planner.render.report_html import render_html

        if stale_after is None:
            return render_html(report)
        return render_html(report, stale_after=stale_after)
    from planner.render.report_text import render_text

    return render_text(report, color=color)


def exit_code(report: Any) -> int:
    """1 when a rule errored, 2 when not compliant, else 0."""
    if report.summary.error:
        return EXIT_ERROR
    return EXIT_OK if report.compliant else EXIT_NONCOMPLIANT


@cli.command()
@policy_option
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path),
    help="Check a snapshot instead of live AD/Graph.",
)
@snapshot_options
@connect_evidence_options
@ldap_options
@graph_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="text",
    show_default=True,
    help="Report format: text, json (schemas/report.schema.json), junit, sarif (2.1.0), markdown, html.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the report to a file instead of stdout.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["shall", "should"]),
    default="shall",
    show_default=True,
    help="should: failing SHOULD rules also make the check exit 2.",
)
@click.option(
    "--sarif-waived",
    type=click.Choice(["omit", "include"]),
    default="omit",
    show_default=True,
    help="SARIF only. omit: leave waived findings out (GitHub code scanning ignores SARIF "
    "suppressions and would show them as open alerts); include: keep them as suppressed results.",
)
@click.option(
    "--sarif-root",
    type=click.Path(path_type=Path, file_okay=False),
    help="SARIF only. Folder the policy's URI is relative to (uriBaseId %SRCROOT%). "
    "Default: the git top level of the policy file's folder, else the current directory.",
)
@incremental_options
@progress_options
@click.pass_context
def check(
    ctx: click.Context,
    /,
    policy_paths: tuple[Path, ...],
    state_file: Path | None,
    fmt: str,
    output: Path | None,
    fail_on: str,
    sarif_waived: str,
    sarif_root: Path | None,
    **opts: Any,
) -> None:
    """Evaluate the compliance rules and report (exit 0 compliant, 1 error, 2 non-compliant).

    With no --policy, inside a wbplan checkout only, checks its policies/example.yaml against
    state/example.json (offline); --example does that from any folder with the bundled copies.
    Waived and unknown findings never fail the check. WBPLAN_TODAY=YYYY-MM-DD pins the date
    waivers expire against. The HTML report flags a snapshot observed more than a day before
    the check (with --max-state-age, more than that limit). Live reads show their progress on
    stderr when it is a terminal (--progress: also when not; --quiet: never).

    \b
    Examples:
      wbplan check
      wbplan check --policy policies/prod.yaml --state state/prod.json --format sarif -o wbplan.sarif
      wbplan check --policy prod.yaml --state prod.json --format sarif --sarif-waived include
      wbplan check --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com --format html -o report.html
      wbplan check --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com --incremental --state state/prod.json
    """
    from planner.cli.connect_cmd import with_connect_evidence
    from planner.cli.plan_cmd import emit, load_policy_for, observe, with_note
    from planner.observe.live import now_iso
    from planner.policy.loader import today_utc
    from planner.render.report_common import summary_line

    loaded = load_policy_for(policy_paths, opts)
    fail_level: Literal["shall", "should"] = "should" if fail_on == "should" else "shall"
    today = today_utc()
    run = key = None
    color = bool(ctx.obj.get("color")) and output is None
    limit = opts.get("max_state_age")  # (text, timedelta): also the HTML report's stale flag

    def render(report: Any) -> str:
        location = None
        if fmt == "sarif":
            from planner.render.report_sarif import artifact_location

            location = artifact_location(loaded.path, source_root(loaded.path, sarif_root))
        return render_report(
            report,
            fmt,
            color,
            sarif_waived=sarif_waived,
            sarif_location=location,
            stale_after=limit[1] if limit else None,
        )

    if opts.get("incremental"):
        from planner.cli.refresh_cmd import incremental_read, live_sources, observed_of

        run = incremental_read(loaded, state_file, live_sources(opts), opts)
        if run.entry is not None and opts.get("state_tenant") is None:
            from planner.statecache import report_key

            key = report_key(loaded.policy, today, fail_level, run.rest())
            if _reuse_report(run, key, loaded, fmt, output, opts, render):
                return
        found = with_connect_evidence(observed_of(run, opts), opts)
    else:
        found = with_connect_evidence(observe(loaded, state_file, not policy_paths, opts), opts)
    from planner.checking import make_report  # the rules: not needed to reuse a report

    state, label = found.state, found.label
    report = make_report(
        loaded.policy,
        state,
        policy_file=display_path(loaded.path),
        policy_digest="sha256:" + loaded.digest,
        state_source=label,
        timestamp=now_iso(),
        today=today,
        fail_on=fail_level,
    )
    features = {r.feature for r in report.rules} | {f.feature for f in report.findings}
    report = report.model_copy(update={"policy_lines": policy_lines(loaded.marks, features)})
    text = render(report)
    if run is not None and key is not None:
        _keep_report(run, key, report, text if fmt == "json" else None, features)
    if fmt == "text":
        text = with_note(text, found.note())
    quiet = bool(opts.get("quiet"))
    emit(text, output, quiet=quiet)
    if not quiet and (output is not None or fmt != "text"):  # the verdict on stderr, for CI logs
        click.echo(summary_line(report), err=True)
    sys.exit(exit_code(report))


def _keep_report(
    run: Any, key: str, report: Any, json_text: str | None, features: set[str]
) -> None:
    """Keep ``report`` in the snapshot's cache for the next unchanged run: the JSON report's
    text when that was rendered (a reuse splices its header), else the model's compact JSON."""
    from planner import statecache

    summary = report.summary.model_dump(by_alias=True)
    kind: Literal["canonical", "compact"] = "canonical" if json_text is not None else "compact"
    text = json_text if json_text is not None else report.model_dump_json(by_alias=True)
    run.entry = statecache.store_report(
        run.target, run.entry, key, text, kind, summary, report.compliant, sorted(features)
    )


def _reuse_report(
    run: Any,
    key: str,
    loaded: Any,
    fmt: str,
    output: Path | None,
    opts: dict[str, Any],
    render: Callable[[Any], str],
) -> bool:
    """Emit the report kept for this snapshot when nothing observed changed and its key holds
    (same wbplan, policy, date, --fail-on); False when there is none to reuse. The findings are
    the kept ones; the header (time, policy file, state source, observation time, policy lines)
    is this run's."""
    from planner import statecache
    from planner.cli.plan_cmd import emit
    from planner.model.report import Report, ReportSummary
    from planner.observe.live import now_iso
    from planner.render.report_common import summary_text

    kept = statecache.report_text(run.target, run.entry, key)
    ref = run.entry.report
    if kept is None or ref is None:
        return False
    header: dict[str, Any] = {
        "timestamp": now_iso(),
        "policy_file": display_path(loaded.path),
        "policy_digest": "sha256:" + loaded.digest,
        "state_source": f"live AD (incremental, {run.target})",
        "observed_at": run.rest().get("observed_at"),
        "policy_lines": policy_lines(loaded.marks, ref.features),
    }
    if fmt == "json" and ref.kind == "canonical":
        from planner.jsonspan import replace_values

        data = replace_values(
            kept.encode("utf-8"), {(k,): v for k, v in header.items()}, ensure_ascii=False
        )
        text = data.decode("utf-8")
    else:
        text = render(Report.model_validate_json(kept).model_copy(update=header))
    quiet = bool(opts.get("quiet"))
    if not quiet:
        click.echo(
            "Reused the findings of the last check of this snapshot: nothing observed changed, "
            "and the policy, the date and wbplan are the same (--no-cache evaluates anew).",
            err=True,
        )
    emit(text, output, quiet=quiet)
    summary = ReportSummary.model_validate(ref.summary)
    if not quiet and (output is not None or fmt != "text"):
        click.echo(summary_text(summary), err=True)
    if summary.error:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_OK if ref.compliant else EXIT_NONCOMPLIANT)
