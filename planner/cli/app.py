"""The ``wbplan`` command group, its shared options, and error → exit-code handling.

The ``planner.cli`` package is the only code that imports click, prints, or exits.

Every command turns ``WbplanError`` into one clear message on stderr and exit code 1; exit code 2
is reserved for "changes present" (``plan --detailed-exitcode``) and "non-compliant" (``check``).
``--debug`` shows the traceback for any failure. Heavy modules are imported inside commands so
``wbplan --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from planner import __version__
from planner.errors import (
    EXIT_ERROR,
    NotImplementedYetError,
    PolicyError,
    UsageError,
    WbplanError,
)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_POLICY = Path("policies/example.yaml")
DEFAULT_STATE = Path("state/example.json")


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, WbplanError):
        for d in exc.diagnostics:
            click.echo(d.format(), err=True)
        click.echo(f"Error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"  hint: {exc.hint}", err=True)
    else:
        click.echo(
            f"Error: internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it",
            err=True,
        )
    sys.exit(EXIT_ERROR)


COMMAND_MODULES: dict[str, str] = {
    "validate": "validate_cmd",
    "refresh": "refresh_cmd",
    "plan": "plan_cmd",
    "show": "plan_cmd",
    "graph": "plan_cmd",
    "apply": "apply_cmd",
    "rollback": "apply_cmd",
    "force-unlock": "apply_cmd",
    "check": "check_cmd",
    "rules": "rules_cmd",
    "permissions": "permissions_cmd",
    "connect-collector": "connect_cmd",
    "import": "import_cmd",
}
"""Each command's module under ``planner.cli``. The group imports a command's module only when
that command runs (issue 17 §4: ``wbplan plan --example`` must not pay for apply, LDAP or Graph
code); ``tests/unit/test_fast_start.py`` checks this table against the modules' registrations."""


def load_all_commands() -> None:
    """Import every command module, so that ``cli.commands`` holds them all (tests, docs)."""
    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"planner.cli.{module}")


class _Group(click.Group):
    """Imports a command's module when the command is asked for; turns exceptions into messages
    and exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            importlib.import_module(f"planner.cli.{module}")  # registers it on this group
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            _fail(exc, bool(ctx.obj and ctx.obj.get("debug")))


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="wbplan")
@click.option("--debug", is_flag=True, help="Show a traceback for any failure.")
@click.option(
    "--no-color", is_flag=True, envvar="NO_COLOR", help="Never colour output (also NO_COLOR=1)."
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, no_color: bool) -> None:
    """Plan and check Microsoft Entra Connect writeback prerequisites as code.

    \b
    Typical pull-request flow:
      wbplan validate policies/                 # policy syntax and semantics
      wbplan plan -out plan.wbplan              # what would change, in order
      wbplan apply plan.wbplan                  # after approval
      wbplan check --format sarif -o wb.sarif   # compliance report
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["color"] = not no_color and sys.stdout.isatty()
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="wbplan: %(levelname)s: %(message)s",
    )


# --------------------------------------------------------------------------------------------
# shared option groups


def live_policy_option(f: F) -> F:
    """``--policy PATH`` (repeatable), for commands that always read or write live AD or the
    tenant (refresh, apply): no default, never the example."""
    return click.option(
        "--policy",
        "policy_paths",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Policy file or folder (repeatable). Required: live commands never use the example.",
    )(f)


def policy_option(f: F) -> F:
    """``--policy PATH`` (repeatable) and ``--example``. With neither, the example policy is used
    only inside a wbplan checkout and only offline (see :func:`resolve_policy_paths`)."""
    f = click.option(
        "--example",
        is_flag=True,
        help="Use the bundled example policy (contoso) and, unless --state is given, its "
        "snapshot: offline, from any folder.",
    )(f)
    return click.option(
        "--policy",
        "policy_paths",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Policy file or folder (repeatable). Default inside a wbplan checkout only: "
        "policies/example.yaml (offline); elsewhere required (or --example).",
    )(f)


def _no_credentials_in_url(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    """Click callback: refuse ``--ldap-url``/``--graph-url`` carrying ``user:password@`` (it
    would be printed, logged and saved in snapshots and plans), naming it redacted (exit 1)."""
    if value:
        from planner.observe.ldapopts import refuse_credentials_in_url

        name = f"--{(param.name or 'url').replace('_', '-')}"
        envvar = param.envvar if isinstance(param, click.Option) else None
        from_env = ctx.get_parameter_source(param.name or "") == ParameterSource.ENVIRONMENT
        refuse_credentials_in_url(
            value,
            envvar if from_env and isinstance(envvar, str) else name,
            graph=name == "--graph-url",
        )
    return value


def ldap_options(f: F) -> F:
    """Options for reading live AD. The password never comes from argv."""
    opts = [
        click.option(
            "--ldap-url",
            envvar="WBPLAN_LDAP_URL",
            callback=_no_credentials_in_url,
            help="ldaps://dc.example.com, or ldap://… (StartTLS). Env WBPLAN_LDAP_URL.",
        ),
        click.option(
            "--ca-file",
            type=click.Path(path_type=Path),
            help="CA bundle that issued the DC's certificate.",
        ),
        click.option(
            "--tls-server-name",
            help="Name to check the DC certificate against (when connecting by IP).",
        ),
        click.option(
            "--insecure", is_flag=True, help="DANGER: do not validate the DC's TLS certificate."
        ),
        click.option(
            "--ldap-password-file",
            type=click.Path(path_type=Path),
            help="File holding the bind password (else WBPLAN_LDAP_PASSWORD). Bind user: WBPLAN_LDAP_USER.",
        ),
        click.option(
            "--ldap-timeout",
            type=float,
            default=10.0,
            show_default=True,
            help="Seconds per LDAP operation.",
        ),
        click.option(
            "--ldap-auth",
            type=click.Choice(["simple", "kerberos"]),
            default="simple",
            show_default=True,
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def graph_options(f: F) -> F:
    """Options for reading the tenant over Microsoft Graph. Secrets come from the environment."""
    opts = [
        click.option(
            "--graph-url",
            envvar="WBPLAN_GRAPH_URL",
            callback=_no_credentials_in_url,
            help="Graph base URL (default https://graph.microsoft.com/v1.0). Env WBPLAN_GRAPH_URL.",
        ),
        click.option(
            "--graph-ca-file",
            type=click.Path(path_type=Path),
            help="CA bundle for the Graph endpoint (proxies, tests).",
        ),
        click.option(
            "--graph-auth",
            type=click.Choice(
                ["auto", "token", "environment", "workload-identity", "azure-cli", "device-code"]
            ),
            default="auto",
            show_default=True,
            help="auto: WBPLAN_GRAPH_TOKEN, else AZURE_* environment credentials. azure-cli and "
            "device-code sign a person in (delegated: needed for the directory-sync features).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


_DURATION_PART = re.compile(r"(\d+)\s*([wdhms])")
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> dt.timedelta:
    """``6h``, ``2d``, ``90m``, ``1d12h``, ``1w`` → a timedelta (ValueError otherwise)."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(text)
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(text)
    return dt.timedelta(seconds=seconds)


def format_duration(delta: dt.timedelta) -> str:
    """A timedelta in its two largest units, rounded down: ``3d 4h``, ``5h``, ``12m 5s``."""
    seconds = max(0, int(delta.total_seconds()))
    values: list[tuple[int, str]] = []
    for unit in ("d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        values.append((seconds // size, unit))
        seconds %= size
    first = next((i for i, (n, _u) in enumerate(values) if n), len(values) - 1)
    shown = [f"{n}{u}" for n, u in values[first : first + 2] if n]
    return " ".join(shown) or "0s"


def duration_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, dt.timedelta] | None:
    """Click callback: a duration such as ``6h`` or ``2d`` → ``(text, timedelta)``."""
    if value is None:
        return None
    try:
        return (value, parse_duration(value))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a duration: use a number and a unit, e.g. 30m, 6h, 2d, 1w "
            "(units combine: 1d12h)",
            ctx=ctx,
            param=param,
        ) from None


def snapshot_options(f: F) -> F:
    """Options on reading the observed state from snapshots (plan, check)."""
    opts = [
        click.option(
            "--state-tenant",
            "state_tenant",
            type=click.Path(path_type=Path),
            help="Take the tenant from this snapshot (e.g. written by `wbplan refresh "
            "--tenant-only` as a Global Administrator) while AD comes from --ldap-url or --state.",
        ),
        click.option(
            "--max-state-age",
            "max_state_age",
            metavar="DURATION",
            callback=duration_option,
            help="Refuse a snapshot observed longer ago than this (e.g. 6h, 2d).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def checkout_root(cwd: Path | None = None) -> Path | None:
    """The working directory when it is the root of a wbplan checkout — a ``pyproject.toml``
    naming the project ``wbplan`` next to ``policies/example.yaml`` — else None."""
    import tomllib

    folder = cwd or Path.cwd()
    project = folder / "pyproject.toml"
    if not (folder / DEFAULT_POLICY).is_file() or not project.is_file():
        return None
    try:
        data = tomllib.loads(project.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name") if isinstance(data.get("project"), dict) else None
    return folder if name == "wbplan" else None


def example_paths() -> tuple[Path, Path]:
    """(policy, snapshot) of the example: the checkout's files (relative paths, as the goldens
    show them) inside a wbplan checkout, else the copies bundled in the package."""
    if checkout_root() is not None and DEFAULT_STATE.is_file():
        return DEFAULT_POLICY, DEFAULT_STATE
    from planner.schemas import bundled_example

    return bundled_example("policies/example.yaml"), bundled_example("state/example.json")


def _no_policy_error(live: bool) -> PolicyError:
    cwd = Path.cwd()
    if live:
        return PolicyError(
            "no policy given: a command that reads or writes a live directory or tenant never "
            "falls back to the example policy",
            hint="name your policy with --policy FILE (or a folder); the example policy is for "
            "offline runs only (no --ldap-url, --graph-url or Graph credentials in the environment)",
        )
    return PolicyError(
        f"no policy found: --policy was not given, and {cwd} is not a wbplan checkout (looked "
        f"for {cwd / 'pyproject.toml'} naming wbplan next to {cwd / DEFAULT_POLICY})",
        hint="name your policy with --policy FILE (or a folder), or use --example for the "
        "bundled example (offline)",
    )


def resolve_policy_paths(
    paths: tuple[Path, ...], *, example: bool = False, live: bool = False
) -> list[Path]:
    """The policy files a command works on.

    The given paths; else, with ``--example``, the example policy (see :func:`example_paths`);
    else the checkout's ``policies/example.yaml`` when the working directory is a wbplan
    checkout and nothing is read live. Otherwise :class:`PolicyError` saying where wbplan
    looked. ``live``: connection options (or their environment variables) are in effect — the
    example is then never used, not even with ``--example``.
    """
    if paths and example:
        raise UsageError("--example and --policy exclude each other", hint="drop one of them")
    if paths:
        return list(paths)
    if example:
        if live:
            raise UsageError(
                "--example is offline (the example policy against its bundled snapshot), but "
                "live connection options or credentials are in effect",
                hint="drop --ldap-url / --graph-url (and unset WBPLAN_LDAP_URL, WBPLAN_GRAPH_URL, "
                "WBPLAN_GRAPH_TOKEN, AZURE_*), or name your own policy with --policy",
            )
        return [example_paths()[0]]
    if live or checkout_root() is None:
        raise _no_policy_error(live)
    return [DEFAULT_POLICY]


def load_valid_policies(
    paths: tuple[Path, ...], *, example: bool = False, live: bool = False
) -> Any:
    """Load policies (see :func:`resolve_policy_paths`) or raise PolicyError carrying every
    diagnostic; warnings go to stderr."""
    from planner.policy.loader import load_policies

    result = load_policies(resolve_policy_paths(paths, example=example, live=live))
    if result.errors:
        raise PolicyError(
            f"{len(result.errors)} error(s) in the policy; nothing was read or planned",
            hint="run `wbplan validate` for the full list",
            diagnostics=result.diagnostics,
        )
    for d in result.diagnostics:
        click.echo(d.format(), err=True)
    return result.policies


def not_yet(command: str, issue: str) -> NoReturn:
    """Refuse clearly: the command is part of the interface but a later release builds it."""
    raise NotImplementedYetError(
        f"`wbplan {command}` is not implemented in wbplan {__version__} yet ({issue})",
        hint="see CHANGELOG.md for what this release can do",
    )
