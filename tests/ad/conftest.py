"""Fixtures for the Samba integration tests: connection options for a harness DC."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from planner.observe.ldapconn import LdapOptions, LdapSession, connect
from tests.support.samba import SambaDC


def options_for(
    dc: SambaDC, user: str | None = None, password: str | None = None, **kw: object
) -> LdapOptions:
    """Validating LDAPS options for ``dc`` (CA file + the DC's certificate name)."""
    values: dict[str, object] = {
        "url": dc.url,
        "ca_file": dc.ca_file,
        "tls_server_name": dc.tls_server_name,
        "user": user or dc.admin_user,
        "password": password or dc.admin_password,
    }
    values.update(kw)
    return LdapOptions(**values)  # type: ignore[arg-type]


@pytest.fixture
def open_session() -> Iterator[Callable[..., LdapSession]]:
    """``open_session(dc, ...)`` → a bound session, closed after the test."""
    sessions: list[LdapSession] = []

    def _open(
        dc: SambaDC, user: str | None = None, password: str | None = None, **kw: object
    ) -> LdapSession:
        session = connect(options_for(dc, user, password, **kw))
        sessions.append(session)
        return session

    yield _open
    for session in sessions:
        session.close()
