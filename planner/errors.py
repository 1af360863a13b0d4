"""The exception tree, and the exit codes ``cli.py`` turns it into.

User mistakes in *files* (policy, snapshot, plan) are collected as ``Diagnostic`` values and
reported all at once; exceptions are for conditions that stop a command (an unreachable DC, a
rejected token, a stale plan) and for bugs. Only ``cli.py`` catches them and exits::

    WbplanError                      exit 1 — every expected failure; message = cause + next step
    ├── UsageError                   a command was called with inconsistent options
    ├── PolicyError                  policy files failed validation (carries diagnostics)
    ├── StateFileError               a snapshot file is unreadable or does not match its schema
    ├── ConnectEvidenceError         a Connect evidence file or export folder cannot be used
    ├── PlanFileError                a saved plan is unreadable, tampered with, or of another version
    ├── StalePlanError               apply: the world changed since the plan was made
    ├── LockedError                  apply/rollback: another run holds the forest/tenant lock
    ├── JournalError                 an apply journal is unreadable or of another format
    ├── RollbackRefusedError         rollback: an object no longer looks as apply left it
    ├── NotImplementedYetError       a command a later release fills in
    ├── LdapError                    any LDAP failure (connection, TLS, bind, rights, not found)
    │   ├── LdapConnectError         host unreachable, TLS failure
    │   ├── LdapAuthError            invalid credentials
    │   └── LdapAccessError          insufficient rights to read or write something
    └── GraphError                   any Microsoft Graph failure
        ├── GraphAuthError           401/403, or no credential configured
        └── GraphThrottledError      429/503 still returned after the retry bound

Exit codes (also in README): 0 success / no changes / compliant; 1 any error; 2 ``plan
--detailed-exitcode`` found changes, or ``check`` found a failing SHALL rule. 1 is used for every
error, as Terraform does, so that 2 keeps one meaning in CI scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_NONCOMPLIANT = 2


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a user's file, with its location.

    ``line`` and ``column`` are 1-based, as editors show them. ``path`` is the key path inside
    the document (``writeback.password.scope[0]``), or empty for the document itself.
    """

    severity: Literal["error", "warning"]
    code: str
    file: str
    line: int
    column: int
    path: str
    message: str
    expected: str | None = None
    found: str | None = None
    hint: str | None = None

    def format(self) -> str:
        """``file:line:col: error[CODE] path: message`` plus indented detail lines."""
        where = f"{self.file}:{self.line}:{self.column}"
        subject = f" {self.path}:" if self.path else ""
        lines = [f"{where}: {self.severity}[{self.code}]{subject} {self.message}"]
        if self.expected is not None:
            lines.append(f"    expected: {self.expected}")
        if self.found is not None:
            lines.append(f"    found:    {self.found}")
        if self.hint is not None:
            lines.append(f"    hint:     {self.hint}")
        return "\n".join(lines)


@dataclass
class WbplanError(Exception):
    """An expected failure. ``message`` names the cause; ``hint`` the next step."""

    message: str
    hint: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class UsageError(WbplanError):
    """Options that contradict each other or name missing files."""


class PolicyError(WbplanError):
    """Policy validation failed; ``diagnostics`` holds every problem found."""


class StateFileError(WbplanError):
    """A snapshot file cannot be used."""


class ConnectEvidenceError(WbplanError):
    """A Connect evidence file (the collector's JSON) or ``Get-ADSyncServerConfiguration`` export
    folder cannot be used: unreadable, too large, not well-formed, hostile (a DTD, entities), of
    another format, or holding a value of the wrong type. The message names the file."""


class PlanFileError(WbplanError):
    """A saved plan cannot be used."""


class StalePlanError(WbplanError):
    """The observed world changed since the plan was computed."""


class LockedError(WbplanError):
    """Another apply or rollback holds the lock of this forest and tenant."""


class JournalError(WbplanError):
    """An apply journal cannot be used for rollback."""


class RollbackRefusedError(WbplanError):
    """Rollback stopped: restoring a before-image would overwrite a change made after apply."""


class NotImplementedYetError(WbplanError):
    """The command exists in the interface but a later release implements it."""


class LdapError(WbplanError):
    """An LDAP operation failed."""


class LdapConnectError(LdapError):
    """The DC could not be reached, or TLS failed."""


class LdapAuthError(LdapError):
    """The bind was rejected."""


class LdapAccessError(LdapError):
    """The bind account lacks a right it needs."""


class GraphError(WbplanError):
    """A Microsoft Graph request failed."""


class GraphAuthError(GraphError):
    """Graph rejected the credential or a permission is missing."""


class GraphThrottledError(GraphError):
    """Graph kept throttling after the retry bound."""
