"""``wbplan apply``, ``wbplan rollback`` and ``wbplan force-unlock``.

The click side only: options, the approval prompt, the lock, progress lines and the summary.
The runs themselves are :mod:`planner.apply.run`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import click

from planner.cli.app import cli, graph_options, ldap_options, live_policy_option
from planner.cli.refresh_cmd import live_sources, progress_for, progress_options, single_policy
from planner.errors import EXIT_ERROR, UsageError

if TYPE_CHECKING:
    from planner.apply.engine import StopFlag

DEFAULT_WAIT = 300.0

# Terraform's progress wording, by action
_VERBS = {
    "create": ("Creating...", "Creation complete"),
    "update": ("Modifying...", "Modifications complete"),
    "delete": ("Destroying...", "Destruction complete"),
    "restore": ("Restoring...", "Restore complete"),
}


class Printer:
    """One line per change as it runs; colour only on a terminal."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.started: dict[int, float] = {}

    def _style(self, text: str, fg: str) -> str:
        return click.style(text, fg=fg) if self.color else text

    def __call__(self, event: str, entry: Any) -> None:
        start, done = _VERBS.get(entry.action, ("Working...", "Complete"))
        head = self._style(entry.address, "bright_white") + ":"
        if event == "start":
            self.started[entry.seq] = time.monotonic()
            click.echo(f"{head} {start}")
        elif event == "done":
            took = time.monotonic() - self.started.get(entry.seq, time.monotonic())
            note = f" ({entry.note})" if entry.note and entry.action != "restore" else ""
            click.echo(f"{head} {self._style(done, 'green')} after {took:.0f}s{note}")
            for warning in entry.warnings:
                click.echo(f"{head} {self._style(warning, 'yellow')}")
        elif event == "failed":
            click.echo(f"{head} {self._style('Failed', 'red')}: {entry.error}")
        elif event == "unknown":
            click.echo(
                f"{head} {self._style('Outcome unknown', 'red')}: {entry.error} "
                "(rollback reads the object to decide)"
            )
        elif event == "skipped":
            click.echo(f"{head} {self._style('Skipped', 'yellow')}: {entry.note}")
        elif event == "blocked":
            click.echo(f"{head} {self._style('Blocked', 'yellow')}: {entry.note}")
        elif event == "manual":
            click.echo(f"{head} {self._style('Manual step', 'magenta')}: {entry.note or ''}")


def _confirm(question: str, what: str) -> None:
    click.echo(f"\n{question}\n  {what}\n  Only 'yes' will be accepted to approve.\n")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("\nApply cancelled." if "perform" in question else "\nRollback cancelled.")
        sys.exit(EXIT_ERROR)


@contextlib.contextmanager
def graceful_stop() -> Iterator[StopFlag]:
    """SIGINT/SIGTERM (what CI sends on cancel) finish the running step, write the journal's
    final state and release the lock; a second signal stops at once (the journal then says
    which step was ``started``)."""
    from planner.apply.engine import StopFlag

    flag = StopFlag()

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = name
        click.echo(
            f"\n{name} received: finishing the current step, then stopping "
            "(send it again to stop at once).",
            err=True,
        )

    caught = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, handler) for s in caught}
    try:
        yield flag
    except KeyboardInterrupt:
        where = f" Journal: {flag.journal}" if flag.journal else ""
        click.echo(f"\nStopped at once; a step may be half-done.{where}", err=True)
        sys.exit(EXIT_ERROR)
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _summary(result: Any, journal: Path, stop: StopFlag | None = None) -> None:
    counts = (
        f"Resources: {result.added} added, {result.changed} changed, {result.destroyed} destroyed."
    )
    if result.not_started:
        why = stop.requested if stop is not None and stop.requested else "a stop request"
        click.echo(
            f"\nApply interrupted by {why}! {counts} {result.not_started} change(s) not "
            "started (`wbplan plan` shows what is left)."
        )
    elif result.ok:
        click.echo(f"\nApply complete! {counts}")
    elif result.failed or result.skipped or result.unknown:
        unknown = (
            f" {result.unknown} with an unknown outcome (the reply was lost)"
            if result.unknown
            else ""
        )
        click.echo(
            f"\nApply failed! {counts} {result.failed} failed, {result.skipped} skipped "
            f"(their prerequisites failed).{unknown}"
        )
    else:
        click.echo(f"\nApply complete, with warnings! {counts}")
    for warning in result.warnings:
        click.echo(f"Warning: {warning}")
    if result.manual or result.blocked:
        click.echo(
            f"{result.manual} manual step(s) to do by hand; {result.blocked} change(s) blocked "
            "until then (run `wbplan plan` again afterwards)."
        )
    click.echo(f"Journal: {journal} (undo with `wbplan rollback {journal}`)")


def _print_tenant_instructions(plan: Any) -> None:
    tenant = [
        c
        for c in (*plan.resource_changes, *plan.deferred_changes)
        if c.provider == "tenant" and c.change.actions[0] in ("create", "update", "delete")
    ]
    if not tenant:
        return
    click.echo("\nTenant changes (not in the file; make them in Entra or with `wbplan apply`):")
    for c in tenant:
        click.echo(f"  - {c.address}: set to {c.change.after!r} (now {c.change.before!r})")


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
@live_policy_option
@ldap_options
@graph_options
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--journal-dir",
    type=click.Path(path_type=Path),
    default=Path("state/journal"),
    show_default=True,
    help="Where the journal (before/after images, for rollback) is written.",
)
@click.option(
    "--lock-dir",
    type=click.Path(path_type=Path),
    default=Path("state/locks"),
    show_default=True,
    help="Where the lock file lives for a run without an LDAP connection (tenant-only plans). "
    "With --ldap-url the lock is an object in AD under CN=Program Data (one lock for every "
    "runner on the forest).",
)
@click.option(
    "--lock-ttl",
    type=click.FloatRange(min=60),
    default=7200.0,
    show_default=True,
    help="Seconds after which the AD lock counts as expired (reported, never taken silently: "
    "break it with `wbplan force-unlock ID`).",
)
@click.option(
    "--wait",
    type=float,
    is_flag=False,
    flag_value=DEFAULT_WAIT,
    default=None,
    metavar="[=SECONDS]",
    help=f"After applying, re-plan until there are no changes (default {DEFAULT_WAIT:.0f} s). Write --wait=SECONDS.",
)
@click.option(
    "--wait-interval",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds between re-plans with --wait.",
)
@click.option(
    "--emit",
    type=click.Choice(["ldif", "powershell"]),
    help="Write the AD part as a file for an administrator instead of applying (needs -o FILE). "
    "With PLAN_FILE and no connection options it works offline from the plan file alone.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="The file --emit writes.")
@progress_options
@click.pass_context
def apply(
    ctx: click.Context,
    /,
    plan_file: Path | None,
    policy_paths: tuple[Path, ...],
    auto_approve: bool,
    journal_dir: Path,
    lock_dir: Path,
    lock_ttl: float,
    wait: float | None,
    wait_interval: float,
    emit: str | None,
    output: Path | None,
    **opts: Any,
) -> None:
    """Execute a saved plan exactly (or plan, show and ask).

    With PLAN_FILE: checks the file, that AD and the tenant are the plan's (lineage), and that
    nothing the plan observed has changed since (else the plan is refused as stale, naming what
    changed). It connects only to what the plan needs: AD and/or the tenant when its changes
    write them or it observed them. Without PLAN_FILE: plans like `wbplan plan`, shows the plan
    and asks for `yes` (any other answer exits 1).

    --emit writes the AD part as a file for an administrator instead. With PLAN_FILE and no
    connection options it works offline: the PowerShell script reads each DACL when it runs;
    the LDIF merges into the DACLs the plan file recorded (not checked for staleness).

    Every step is journaled under --journal-dir; `wbplan rollback JOURNAL` undoes it. A lock
    under --lock-dir stops two applies on the same forest and tenant.

    \b
    Examples:
      wbplan apply plan.wbplan --ldap-url ldaps://dc1.contoso.com --ca-file corp-ca.pem
      wbplan apply --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com --auto-approve
      wbplan apply plan.wbplan --ldap-url ldaps://dc1.contoso.com --wait=600
      wbplan apply plan.wbplan --emit powershell -o prep.ps1     # offline, from the file alone
    """
    from planner.apply.locking import run_lock
    from planner.apply.run import execute_plan
    from planner.apply.stale import check_sources, needed_sources
    from planner.cli.plan_cmd import render
    from planner.planfile import load_plan_file, plan_document

    if (emit is None) != (output is None):
        raise UsageError("--emit and -o/--output go together", hint="e.g. --emit ldif -o prep.ldif")
    color = bool(ctx.obj.get("color"))
    ttl = dt.timedelta(seconds=lock_ttl)
    # A missing, tampered or outdated plan file is refused before anything else is considered.
    saved = load_plan_file(plan_file) if plan_file is not None else None
    sources = live_sources(opts)
    display = progress_for(opts)
    if saved is not None and policy_paths:
        raise UsageError(
            "a saved plan carries its policy: --policy cannot be given with PLAN_FILE",
            hint="drop --policy",
        )
    if saved is not None and emit is not None:
        assert output is not None
        _emit_saved(saved, sources, emit, output)
        return
    if sources.ldap is None and sources.graph is None and (saved is None or saved.plan.applyable):
        raise UsageError(
            "apply always reads and writes live: no --ldap-url and no Graph endpoint/credential was given",
            hint="pass --ldap-url (and Graph credentials when the plan changes the tenant); "
            "`wbplan apply PLAN --emit powershell -o FILE` needs no connection",
        )
    printer = Printer(color)
    if saved is not None:
        plan, policy = saved.plan, saved.policy
        if not plan.applyable:
            _nothing_to_do(plan)
            return
        check_sources(plan, sources.ldap is not None, sources.graph is not None)
        # Read only what the plan needs: a tenant credential in the environment must not make
        # an LDAP-only plan look stale (its tenant was never observed).
        sources = _only(sources, *needed_sources(plan))
        forest, tenant_id = plan.lineage.forest, plan.lineage.tenant_id
    else:
        loaded = single_policy(policy_paths, live=True)
        policy = loaded.policy
        # Nobody holds the lock while a person reads the plan: it is taken after approval, and
        # the world is read again under it (execute_plan refuses the plan as stale if what was
        # shown changed meanwhile).
        plan, _ = _plan_now(loaded, sources, display)
        if emit is not None:
            assert output is not None
            _emit(plan, policy, sources, emit, output)
            return
        click.echo(render(plan_document(plan), "text", color), nl=False)
        if not plan.applyable:
            _nothing_to_do(plan)
            return
        if not auto_approve:
            _confirm(
                "Do you want to perform these actions?",
                "wbplan will perform the actions described above.",
            )
        forest, tenant_id = policy.forest, policy.tenant.id
    # The world is read (again) under the lock: execute_plan refuses the plan as stale when
    # anything it observed changed since.
    with (
        run_lock(sources, lock_dir, forest, tenant_id, "apply", ttl=ttl) as held,
        graceful_stop() as stop,
    ):
        state = _observe(policy, sources, display)
        run = execute_plan(
            plan,
            policy,
            sources,
            state,
            held,
            journal_dir=journal_dir,
            progress=printer,
            stop=stop,
        )
    _summary(run.result, run.journal, stop)
    failed = not run.result.ok
    if wait is not None and not failed:
        failed = not _wait(policy, sources, wait, wait_interval)
    if failed:
        sys.exit(EXIT_ERROR)


def _observe(policy: Any, sources: Any, display: Any) -> Any:
    """A live read with the progress display the options chose (--progress / --quiet)."""
    from planner.observe.live import observe_live
    from planner.progress import showing

    with showing(display):
        return observe_live(policy, sources)


def _plan_now(loaded: Any, sources: Any, display: Any = None) -> tuple[Any, Any]:
    from planner.observe.live import now_iso
    from planner.planning import make_plan
    from planner.progress import NO_PROGRESS

    state = _observe(loaded.policy, sources, display or NO_PROGRESS)
    plan = make_plan(
        loaded.policy,
        state,
        policy_file=str(loaded.path),
        policy_digest="sha256:" + loaded.digest,
        state_source="live",
        timestamp=now_iso(),
    )
    return plan, state


def _nothing_to_do(plan: Any) -> None:
    waiting = plan.summary.manual + plan.summary.deferred
    extra = f" {waiting} manual or blocked step(s) remain; see `wbplan plan`." if waiting else ""
    click.echo(
        f"\nNo changes to apply.{extra}\nApply complete! Resources: 0 added, 0 changed, 0 destroyed."
    )


def _only(sources: Any, ad: bool, tenant: bool) -> Any:
    """``sources`` without the connections the plan does not need."""
    from planner.observe.live import LiveSources

    return LiveSources(ldap=sources.ldap if ad else None, graph=sources.graph if tenant else None)


def _emit(
    plan: Any,
    policy: Any,
    sources: Any,
    fmt: str,
    output: Path,
    state: Any = None,
    observation: str | None = None,
) -> None:
    """``--emit`` with a connection: after the lineage + stale checks, write the AD part for an
    administrator (DACLs read now) and list the tenant part; nothing is written to AD or the
    tenant."""
    from planner.apply.run import read_descriptors
    from planner.apply.stale import check_not_stale, check_rederived
    from planner.observe.live import observe_live

    if state is None:
        state = observe_live(policy, sources)
    check_not_stale(plan, policy, state)
    check_rederived(plan, policy, state)
    descriptors = read_descriptors(plan, sources)
    ldap_url = sources.ldap.url if sources.ldap is not None else None
    _write_emit(plan, fmt, output, descriptors, ldap_url, observation, "emit")


def _emit_saved(saved: Any, sources: Any, fmt: str, output: Path) -> None:
    """``apply PLAN --emit``: with connection options, checked and read live (:func:`_emit`);
    with none, offline from the plan file alone — the PowerShell script reads every DACL when
    it runs, the LDIF merges into the DACLs the plan recorded as observed."""
    from planner.apply.emit import recorded_descriptors
    from planner.apply.stale import check_sources, needed_sources

    plan, policy = saved.plan, saved.policy
    observation = saved.observation.describe() if saved.observation is not None else None
    if sources.ldap is not None or sources.graph is not None:
        check_sources(plan, sources.ldap is not None, sources.graph is not None)
        sources = _only(sources, *needed_sources(plan))
        _emit(plan, policy, sources, fmt, output, observation=observation)
        return
    descriptors = recorded_descriptors(saved.dacls) if fmt == "ldif" else {}
    _write_emit(plan, fmt, output, descriptors, None, observation, "plan")
    if fmt == "ldif":
        click.echo(
            "No connection was given: the LDIF replaces DACLs as the plan observed them, and the "
            "plan was not checked for staleness. Apply it promptly, or emit with --ldap-url "
            "(reads and checks first), or use --emit powershell (each step reads the object "
            "when it runs).",
            err=True,
        )


def _write_emit(
    plan: Any,
    fmt: str,
    output: Path,
    descriptors: dict[str, bytes],
    ldap_url: str | None,
    observation: str | None,
    origin: Literal["emit", "plan"],
) -> None:
    from planner.apply.emit import render_emit
    from planner.fileio import write_text_atomic

    text = render_emit(
        plan,
        cast(Literal["ldif", "powershell"], fmt),
        descriptors,
        ldap_url=ldap_url,
        observation=observation,
        descriptors_from=origin,
    )
    write_text_atomic(output, text)
    click.echo(f"Wrote {output} ({fmt}); nothing was changed in AD or the tenant.")
    _print_tenant_instructions(plan)


def _wait(policy: Any, sources: Any, timeout: float, interval: float) -> bool:
    from planner.apply.run import wait_for_convergence
    from planner.planning import has_changes

    click.echo(
        f"\nWaiting up to {timeout:.0f}s for the plan to converge (re-planning every {interval:.0f}s)..."
    )

    def polled(plan: Any, left: float) -> None:
        s = plan.summary
        pending = s.add + s.change + s.destroy + s.manual + s.deferred
        click.echo(f"  {pending} change(s) left; {left:.0f}s to go")

    last = wait_for_convergence(policy, sources, timeout=timeout, interval=interval, on_poll=polled)
    if not has_changes(last):
        click.echo("Converged: the plan has no changes.")
        return True
    click.echo("Not converged; still planned:")
    for c in (*last.resource_changes, *last.deferred_changes):
        if c.change.actions[0] in ("create", "update", "delete", "manual"):
            click.echo(f"  {c.change.actions[0]:7} {c.address}")
    return False


@cli.command()
@click.argument("journal", type=click.Path(path_type=Path))
@ldap_options
@graph_options
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--journal-dir",
    type=click.Path(path_type=Path),
    default=Path("state/journal"),
    show_default=True,
)
@click.option(
    "--lock-dir",
    type=click.Path(path_type=Path),
    default=Path("state/locks"),
    show_default=True,
    help="Where the lock file lives for a rollback without an LDAP connection; with --ldap-url "
    "the lock is the object in AD that apply uses.",
)
@click.pass_context
def rollback(
    ctx: click.Context,
    /,
    journal: Path,
    auto_approve: bool,
    journal_dir: Path,
    lock_dir: Path,
    **opts: Any,
) -> None:
    """Undo what an apply journal recorded, newest first, deciding each step from the object
    as it is now.

    An ACE apply added is removed (and nothing else); a DACL still exactly as apply left it
    gets its before-image back byte for byte. Objects apply created are deleted if they are
    still the ones it created, unchanged and empty; values are restored if still as apply set
    them. A step that cannot be proven safe is refused, the others go on, and every refusal is
    reported (exit 1). A journal edited to point elsewhere is refused as a whole. Rollback
    writes a journal of its own.

    \b
    Example:
      wbplan rollback state/journal/20261122T180000Z.json --ldap-url ldaps://dc1.contoso.com
    """
    from planner.apply.journal import load_journal
    from planner.apply.locking import run_lock
    from planner.apply.rollback import restorable
    from planner.apply.run import rollback_journal

    doc = load_journal(journal)
    todo = restorable(doc)
    if not todo:
        click.echo(f"{journal} records no change that was made; nothing to roll back.")
        return
    sources = live_sources(opts)
    if not auto_approve:
        click.echo("Rollback will restore, in this order:")
        for e in todo:
            click.echo(f"  {e.address} ({e.action}, {e.status})")
        _confirm(
            "Do you want to roll back these changes?",
            "wbplan will restore the before-images above.",
        )
    forest = str(doc.lineage.get("forest", ""))
    tenant = str(doc.lineage.get("tenant_id", ""))
    with run_lock(sources, lock_dir, forest, tenant, "rollback") as held, graceful_stop() as stop:
        run = rollback_journal(
            doc,
            journal,
            sources,
            held,
            journal_dir=journal_dir,
            progress=Printer(bool(ctx.obj.get("color"))),
            stop=stop,
        )
    r = run.result
    if r.not_started:
        click.echo(
            f"\nRollback interrupted by {stop.requested}! {r.restored} restored, {r.unchanged} "
            f"already as before, {r.not_started} not started. Journal: {run.journal} "
            f"(run `wbplan rollback {journal}` again to finish)"
        )
        sys.exit(EXIT_ERROR)
    click.echo(
        f"\nRollback complete! {r.restored} restored, {r.unchanged} already as before. Journal: {run.journal}"
    )


@cli.command("force-unlock")
@click.argument("lock_id")
@ldap_options
@click.option(
    "--lock-dir", type=click.Path(path_type=Path), default=Path("state/locks"), show_default=True
)
def force_unlock(lock_id: str, lock_dir: Path, **opts: Any) -> None:
    """Break a lock left behind by a crashed apply (needs the lock's exact id).

    With --ldap-url it breaks the lock object in AD (what apply and rollback with an LDAP
    connection take); without, the lock file under --lock-dir.

    \b
    Example:
      wbplan force-unlock 3f2c9a4e-8b1d-4c2e-9f6a-1d2b3c4d5e6f --ldap-url ldaps://dc1.contoso.com
    """
    from planner.apply.locking import force_unlock as breaker

    info = breaker(live_sources(opts), lock_dir, lock_id)
    click.echo(
        f"Lock {info.lock_id} ({info.operation} by {info.who}, pid {info.pid}, since {info.since}) "
        f"on {info.forest} / {info.tenant_id} was removed."
    )
