"""The Samba harness itself: a DC starts on its own address, serves LDAPS with a certificate
issued to DC1.contoso.test, and is gone (by PID) after stop."""

from __future__ import annotations

import shutil
import socket
import ssl
from pathlib import Path

import pytest

from tests.support.samba import SambaFactory, samba_unavailable
from tests.support.samba_tools import descendants

pytestmark = pytest.mark.samba


def test_dc_serves_ldaps_with_certificate_for_dc_name(samba_factory: SambaFactory) -> None:
    with samba_factory.running("2012_R2") as dc:
        ctx = ssl.create_default_context(cafile=str(dc.ca_file))
        with (
            socket.create_connection((dc.ip, 636), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=dc.tls_server_name) as tls,
        ):
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
        assert subject["commonName"] == "DC1.contoso.test"
        conn = dc.admin_connection()
        conn.search(dc.base_dn, "(objectClass=domain)", "BASE", attributes=["objectSid"])
        assert len(conn.response) == 1
        pid = dc.process.pid
    assert dc.process.poll() is not None
    assert not Path(f"/proc/{pid}").exists() or descendants(pid) == []


def test_missing_samba_is_a_clear_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(Path, "exists", lambda self: False)
    reason = samba_unavailable()
    assert reason is not None and "samba-tool/samba not found: install them with `apt-get" in reason
