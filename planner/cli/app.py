"""The ``wbplan`` command group, its shared options, and error → exit-code handling.

The ``planner.cli`` package is the only code that imports click, prints, or exits.

Every command turns ``WbplanError`` into one clear message on stderr and exit code 1; exit code 2
is reserved for "changes present" (``plan --detailed-exitcode``) and "non-compliant" (``check``).
``--debug`` shows the traceback for any failure. Heavy modules are imported inside commands so
``wbplan --help`` stays fast.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from planner import __version__
from planner.errors import (
    EXIT_ERROR,
    NotImplementedYetError,
    PolicyError,
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


class _Group(click.Group):
    """Turns exceptions into messages and exit codes."""

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


def policy_option(f: F) -> F:
    """``--policy PATH`` (repeatable); default ``policies/example.yaml``."""
    return click.option(
        "--policy",
        "policy_paths",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Policy file or folder (repeatable). Default: policies/example.yaml, else the bundled example.",
    )(f)


def ldap_options(f: F) -> F:
    """Options for reading live AD. The password never comes from argv."""
    opts = [
        click.option(
            "--ldap-url",
            envvar="WBPLAN_LDAP_URL",
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
            help="Graph base URL (default https://graph.microsoft.com/v1.0). Env WBPLAN_GRAPH_URL.",
        ),
        click.option(
            "--graph-ca-file",
            type=click.Path(path_type=Path),
            help="CA bundle for the Graph endpoint (proxies, tests).",
        ),
        click.option(
            "--graph-auth",
            type=click.Choice(["auto", "token", "environment", "workload-identity", "device-code"]),
            default="auto",
            show_default=True,
            help="auto: WBPLAN_GRAPH_TOKEN, else AZURE_* environment credentials.",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def resolve_policy_paths(paths: tuple[Path, ...]) -> list[Path]:
    """The given paths, or the example policy (working copy first, then the bundled one)."""
    if paths:
        return list(paths)
    if DEFAULT_POLICY.is_file():
        return [DEFAULT_POLICY]
    from planner.schemas import bundled_example

    return [bundled_example("policies/example.yaml")]


def load_valid_policies(paths: tuple[Path, ...]) -> Any:
    """Load policies or raise PolicyError carrying every diagnostic; warnings go to stderr."""
    from planner.policy.loader import load_policies

    result = load_policies(resolve_policy_paths(paths))
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
