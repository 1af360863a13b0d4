"""``wbplan plan``, ``wbplan show`` and ``wbplan graph``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from planner.cli.app import (
    DEFAULT_STATE,
    cli,
    graph_options,
    ldap_options,
    policy_option,
    snapshot_options,
)
from planner.cli.connect_cmd import connect_evidence_options, with_connect_evidence
from planner.cli.refresh_cmd import (
    incremental_options,
    live_sources,
    progress_for,
    progress_options,
    single_policy,
    wants_live,
)
from planner.errors import EXIT_CHANGES, EXIT_OK, StateFileError, UsageError
from planner.syncstate import parse_time

PLAN_FORMATS = ["text", "json", "markdown"]


@dataclass(frozen=True)
class Observed:
    """The observed state a command works on, a label for it, and the snapshots it came from
    (``(file label, observed_at)``; empty when everything was read live)."""

    state: Any
    label: str
    snapshots: tuple[tuple[str, str], ...] = ()
    ad_live: bool = False

    def note(self, now: dt.datetime | None = None) -> str | None:
        """The header line naming each snapshot's age, or None when all was read live:
        ``Snapshot state.json: observed 2026-11-22T09:50:00Z (3d 4h ago).``"""
        if not self.snapshots:
            return None
        current = now or dt.datetime.now(dt.UTC)
        parts = []
        for index, (name, observed_at) in enumerate(self.snapshots):
            kind = "tenant snapshot" if name.startswith("tenant:") else "snapshot"
            shown = name.removeprefix("tenant:")
            parts.append(
                f"{kind} {shown}: observed {observed_at} ({_age_text(observed_at, current)})"
            )
            if index == 0:
                parts[0] = parts[0][0].upper() + parts[0][1:]
        tail = "; AD read live" if self.ad_live else ""
        return "; ".join(parts) + tail + "."


def _age(observed_at: str, now: dt.datetime) -> dt.timedelta | None:
    when = parse_time(observed_at)
    return None if when is None else now - when


def _age_text(observed_at: str, now: dt.datetime) -> str:
    from planner.cli.app import format_duration

    age = _age(observed_at, now)
    if age is None:
        return "age unknown: not an ISO 8601 time"
    if age.total_seconds() < 0:
        return "in the future: check the clocks"
    return f"{format_duration(age)} ago"


def check_age(name: str, observed_at: str, limit: tuple[str, dt.timedelta] | None) -> None:
    """Refuse a snapshot observed longer ago than ``--max-state-age`` (``(text, timedelta)``)."""
    if limit is None:
        return
    from planner.cli.app import format_duration

    text, max_age = limit
    age = _age(observed_at, dt.datetime.now(dt.UTC))
    if age is None:
        raise StateFileError(
            f"snapshot {name} has no readable observed_at ({observed_at!r}); "
            f"cannot check --max-state-age {text}"
        )
    if age > max_age:
        raise StateFileError(
            f"snapshot {name} was observed {format_duration(age)} ago ({observed_at}), "
            f"older than --max-state-age {text}",
            hint="write a fresh one with `wbplan refresh --out FILE` (tenant only: "
            "`wbplan refresh --tenant-only`)",
        )


def observe(loaded: Any, state_file: Path | None, example: bool, opts: dict[str, Any]) -> Observed:
    """The observed state to work on (see :func:`observed_state`), with its snapshots.

    ``--state FILE`` reads a snapshot; connection options read live; with neither, the example
    policy (``example``: no --policy was given, see ``resolve_policy_paths``) is planned against
    the example snapshot (the embedded default, no DC needed) and any other policy is refused.
    ``--state-tenant FILE`` replaces the tenant part with that snapshot's, while AD comes from
    ``--ldap-url`` (live) or ``--state``; Graph is then not read live. ``--max-state-age``
    refuses any snapshot used that is older than the limit. ``--incremental`` with ``--state``
    and ``--ldap-url`` brings the snapshot up to date from live AD and writes it back
    (``refresh_cmd.observe_incremental``).
    """
    from planner.cli.app import example_paths
    from planner.observe.snapshot import load_state

    limit = opts.get("max_state_age")
    tenant_file: Path | None = opts.get("state_tenant")
    sources = live_sources(opts)
    if opts.get("incremental"):
        from planner.cli.refresh_cmd import observe_incremental

        found: Observed = observe_incremental(loaded, state_file, sources, opts)
        return found
    if tenant_file is not None:
        return _with_tenant_snapshot(loaded, state_file, tenant_file, sources, opts, limit)
    if state_file is not None:
        if sources.ldap is not None or opts.get("graph_url"):
            raise UsageError(
                "--state and live connection options exclude each other", hint="drop one of them"
            )
        state = load_state(state_file)
        check_age(str(state_file), state.observed_at, limit)
        return Observed(state, str(state_file), ((str(state_file), state.observed_at),))
    if sources.ldap is not None or sources.graph is not None:
        if example:  # resolve_policy_paths refuses this first; never the example against live
            raise UsageError("the example policy is never read against a live directory")
        from planner.observe.live import observe_live
        from planner.progress import showing

        with showing(progress_for(opts)):
            return Observed(observe_live(loaded.policy, sources), "live")
    if not example:
        raise UsageError(
            "no observed state: pass --state FILE (a snapshot) or --ldap-url and Graph credentials to read live",
            hint="`wbplan refresh --out state/NAME.json` writes a snapshot",
        )
    path = example_paths()[1]
    label = str(path) if path == DEFAULT_STATE else "bundled example state"
    state = load_state(path)
    check_age(label, state.observed_at, limit)
    return Observed(state, label, ((label, state.observed_at),))


def tenant_snapshot(
    tenant_file: Path, opts: dict[str, Any], limit: tuple[str, dt.timedelta] | None
) -> Any:
    """The snapshot ``--state-tenant`` names, refused with ``--graph-url`` (the tenant comes
    from the snapshot), without a tenant part, or older than ``--max-state-age`` (plan, check,
    import)."""
    from planner.observe.snapshot import load_state

    if opts.get("graph_url"):
        raise UsageError(
            "--state-tenant and --graph-url exclude each other: the tenant comes from the snapshot",
            hint="drop --graph-url, or drop --state-tenant to read the tenant live",
        )
    tenant_state = load_state(tenant_file)
    if tenant_state.tenant is None:
        raise StateFileError(
            f"{tenant_file} holds no tenant observation, so --state-tenant cannot take it from there",
            hint="write one with `wbplan refresh --tenant-only --graph-auth azure-cli --out FILE`",
        )
    check_age(str(tenant_file), tenant_state.observed_at, limit)
    return tenant_state


def _with_tenant_snapshot(
    loaded: Any,
    state_file: Path | None,
    tenant_file: Path,
    sources: Any,
    opts: dict[str, Any],
    limit: tuple[str, dt.timedelta] | None,
) -> Observed:
    """AD from ``--state`` or live LDAP, the tenant from ``--state-tenant``."""
    from planner.observe.live import LiveSources, observe_live
    from planner.observe.snapshot import load_state, with_tenant_of
    from planner.progress import showing

    tenant_state = tenant_snapshot(tenant_file, opts, limit)
    snapshots: list[tuple[str, str]] = []
    if state_file is not None:
        if sources.ldap is not None:
            raise UsageError("--state and --ldap-url exclude each other", hint="drop one of them")
        ad_state = load_state(state_file)
        check_age(str(state_file), ad_state.observed_at, limit)
        snapshots.append((str(state_file), ad_state.observed_at))
        ad_label, ad_live = str(state_file), False
    elif sources.ldap is not None:
        with showing(progress_for(opts)):
            ad_state = observe_live(loaded.policy, LiveSources(ldap=sources.ldap))
        ad_label, ad_live = "live AD", True
    else:
        raise UsageError(
            "--state-tenant gives only the tenant: AD must come from --ldap-url (live) or --state FILE",
            hint="e.g. wbplan plan --policy P --ldap-url ldaps://dc1.example.com "
            f"--state-tenant {tenant_file}",
        )
    if ad_state.ad is None:
        raise StateFileError(
            f"{state_file} holds no AD observation; with --state-tenant, --state must give AD",
            hint="use a snapshot written with --ldap-url, or read AD live with --ldap-url",
        )
    snapshots.append((f"tenant:{tenant_file}", tenant_state.observed_at))
    # Tenant verdicts (how fresh the last directory sync is) are judged as of the tenant's
    # reading, the older of the two.
    state = with_tenant_of(ad_state, ad_label, tenant_state, str(tenant_file))
    return Observed(state, f"{ad_label} + tenant {tenant_file}", tuple(snapshots), ad_live)


def observed_state(
    loaded: Any, state_file: Path | None, example: bool, opts: dict[str, Any]
) -> tuple[Any, str]:
    """The observed state to plan against, and a label for it (see :func:`observe`)."""
    found = observe(loaded, state_file, example, opts)
    return found.state, found.label


def with_note(text: str, note: str | None) -> str:
    """``text`` with ``note`` inserted as its second line (the text formats' header)."""
    if not note:
        return text
    first, sep, rest = text.partition("\n")
    return f"{first}\n{note}{sep}{rest}" if sep else f"{first}\n{note}\n"


def load_policy_for(policy_paths: tuple[Path, ...], opts: dict[str, Any]) -> Any:
    """The one policy of plan/check/graph: ``--policy``, ``--example`` (in ``opts``), or the
    checkout's example when offline (see ``resolve_policy_paths``)."""
    return single_policy(policy_paths, example=bool(opts.get("example")), live=wants_live(opts))


def compute_plan(
    policy_paths: tuple[Path, ...], state_file: Path | None, opts: dict[str, Any]
) -> Any:
    """Load the policy, observe, and plan."""
    loaded, result, _observed = compute_plan_observed(policy_paths, state_file, opts)
    return loaded, result


def compute_plan_observed(
    policy_paths: tuple[Path, ...], state_file: Path | None, opts: dict[str, Any]
) -> tuple[Any, Any, Observed]:
    """Load the policy, observe, and plan; also what was observed (for the snapshot note)."""
    from planner.observe.live import now_iso
    from planner.planning import make_plan

    loaded = load_policy_for(policy_paths, opts)
    found = with_connect_evidence(observe(loaded, state_file, not policy_paths, opts), opts)
    plan = make_plan(
        loaded.policy,
        found.state,
        policy_file=str(loaded.path),
        policy_digest="sha256:" + loaded.digest,
        state_source=found.label,
        timestamp=now_iso(),
    )
    return loaded, plan, found


def render(doc: dict[str, Any], fmt: str, color: bool) -> str:
    """Render a plan document in ``fmt``."""
    if fmt == "json":
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        from planner.render.plan_markdown import render_markdown

        return str(render_markdown(doc))
    from planner.render.plan_text import render_text

    return render_text(doc, color=color)


def apply_advice(out: Path, plan: Any, found: Observed) -> str:
    """What ``plan -out FILE`` prints: what ``wbplan apply FILE`` needs to run (apply re-reads
    what the plan observed, so it connects even when the plan came from a snapshot), and the
    ``--emit`` alternative, which needs no connection."""
    from planner.apply.stale import needed_sources

    if not plan.applyable:
        return f"Saved the plan to {out}. It has nothing for apply to do."
    ad, tenant = needed_sources(plan)
    needs = []
    if ad:
        needs.append(f"--ldap-url {found.state.source.ldap_url or 'ldaps://DC.EXAMPLE.COM'}")
    if tenant:
        needs.append("Graph credentials (WBPLAN_GRAPH_TOKEN, AZURE_*, or --graph-auth azure-cli)")
    command = f"wbplan apply {out} " + " and ".join(needs) if needs else f"wbplan apply {out}"
    emit_hint = (
        f"Or, for an administrator without the tool (no connection needed): "
        f"wbplan apply {out} --emit powershell -o prep.ps1 (or --emit ldif -o prep.ldif)."
    )
    if not found.snapshots:
        return (
            f"Saved the plan to {out}. To perform exactly these actions, run with the same "
            f"connection options: {command}\n{emit_hint}"
        )
    return (
        f"Saved the plan to {out} (planned from {found.label}). Apply re-reads everything the "
        f"plan observed and refuses it if anything changed, so it needs a live connection: "
        f"{command}\n{emit_hint}"
    )


def emit(text: str, output: Path | None, *, quiet: bool = False) -> None:
    """Print, or write to --output (saying so on stderr unless ``quiet``)."""
    if output is None:
        click.echo(text, nl=False)
    else:
        from planner.fileio import write_text_atomic

        try:
            write_text_atomic(output, text)  # creates the folder (a CI step's out/plan.md)
        except OSError as exc:
            raise UsageError(
                f"cannot write {output}: {exc.strerror or exc}",
                hint="choose a writable path for -o/--output",
            ) from exc
        if not quiet:
            click.echo(f"Wrote {output}.", err=True)


@cli.command()
@policy_option
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path),
    help="Plan against a snapshot instead of live AD/Graph.",
)
@snapshot_options
@connect_evidence_options
@ldap_options
@graph_options
@click.option(
    "-out",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Save the plan for `wbplan apply FILE`.",
)
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the rendered plan to a file instead of stdout.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 no changes, 1 error, 2 changes (manual steps count; unknowns alone do not).",
)
@incremental_options
@progress_options
@click.pass_context
def plan(
    ctx: click.Context,
    /,
    policy_paths: tuple[Path, ...],
    state_file: Path | None,
    out: Path | None,
    fmt: str,
    output: Path | None,
    detailed_exitcode: bool,
    **opts: Any,
) -> None:
    """Show what would change in AD and the tenant, in dependency order.

    With no --policy, inside a wbplan checkout only, plans its policies/example.yaml against
    state/example.json (offline); --example does that from any folder with the bundled copies.

    \b
    Examples:
      wbplan plan
      wbplan plan --policy policies/prod.yaml --state state/prod.json --format markdown -o plan.md
      wbplan plan --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com -out plan.wbplan --detailed-exitcode
      wbplan plan --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com --state-tenant state/tenant.json --max-state-age 1d
      wbplan plan --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com --incremental --state state/prod.json
    """
    from planner.planfile import ace_target_dacls, observation_of, plan_document, save_plan
    from planner.planning import has_changes

    loaded, result, found = compute_plan_observed(policy_paths, state_file, opts)
    doc = plan_document(result)
    text = render(doc, fmt, bool(ctx.obj.get("color")) and output is None)
    quiet = bool(opts.get("quiet"))
    emit(with_note(text, found.note()) if fmt == "text" else text, output, quiet=quiet)
    if out is not None:
        save_plan(
            result,
            loaded.policy,
            out,
            observation=observation_of(found.state, found.label),
            dacls=ace_target_dacls(result, found.state),
        )
        if not quiet:
            click.echo(apply_advice(out, result, found), err=True)
    if detailed_exitcode:
        sys.exit(EXIT_CHANGES if has_changes(result) else EXIT_OK)


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of stdout."
)
@click.pass_context
def show(ctx: click.Context, /, plan_file: Path, fmt: str, output: Path | None) -> None:
    """Render a saved plan again, with no connection.

    \b
    Example:
      wbplan show plan.wbplan --format markdown
    """
    from planner.planfile import load_plan, plan_document

    saved, _policy = load_plan(plan_file)
    emit(render(plan_document(saved), fmt, bool(ctx.obj.get("color")) and output is None), output)


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
@policy_option
@click.option(
    "--state", "state_file", type=click.Path(path_type=Path), help="Plan against a snapshot."
)
@click.option(
    "--plan",
    "old_plan_file",
    type=click.Path(path_type=Path),
    hidden=True,
    help="Deprecated spelling of PLAN_FILE.",
)
@ldap_options
@graph_options
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the graph to a file instead of stdout.",
)
@progress_options
def graph(
    plan_file: Path | None,
    policy_paths: tuple[Path, ...],
    state_file: Path | None,
    old_plan_file: Path | None,
    fmt: str,
    output: Path | None,
    **opts: Any,
) -> None:
    """Draw the plan's dependency graph (Mermaid or Graphviz DOT).

    With PLAN_FILE, draws that saved plan (no connection); otherwise plans like `wbplan plan`.

    \b
    Examples:
      wbplan graph --format dot | dot -Tsvg > plan.svg
      wbplan graph plan.wbplan -o plan.mmd
    """
    from planner.planfile import load_plan, plan_document
    from planner.render.graph import render_dot, render_mermaid

    if plan_file is not None and old_plan_file is not None:
        raise UsageError("give the saved plan once: PLAN_FILE (--plan is its old spelling)")
    plan_file = plan_file or old_plan_file
    if plan_file is not None:
        result, _policy = load_plan(plan_file)
    else:
        _loaded, result = compute_plan(policy_paths, state_file, opts)
    doc = plan_document(result)
    emit(
        render_mermaid(doc) if fmt == "mermaid" else render_dot(doc),
        output,
        quiet=bool(opts.get("quiet")),
    )
