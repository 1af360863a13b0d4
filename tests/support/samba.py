"""pytest plugin: real Samba AD domain controllers for the integration tests.

The recipe is ``shared/samba.md``. Each *kind* of DC is provisioned once per test session into a
template directory (``2008_R2``: schema objectVersion 47, no device classes; ``2012_R2``: 69,
device writeback possible; ``exchange``: the 2012 R2 template plus a small Exchange-like schema
extension). A test module (or a test) then gets its own running copy: ``cp -a`` of the template,
paths and loopback address rewritten in ``etc/smb.conf``, ``samba -i -M single`` started in its own
session, and stopped by PID on teardown (descendants collected from /proc; never by name).

Fixtures: ``samba_factory`` (session), ``samba_2008r2`` / ``samba_2012r2`` / ``samba_exchange``
(module: one DC per test module, shared by its tests), ``fresh_samba_2012r2`` (function: a DC a
test may change freely). Each yields a :class:`SambaDC`.

Loopback addresses (127.0.0.10 and up) are leased through lock files in
``/tmp/wbplan-samba-ip`` so that two pytest sessions on one machine never collide.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1 names that pyasn1 0.6 deprecates (tagMap, typeMap); harmless.
    warnings.filterwarnings("ignore", "(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3

from tests.support.samba_tools import (
    TLS_SERVER_NAME,
    IpLease,
    extend_exchange_like_schema,
    lease_ip,
    run_logged,
    set_option,
    stop_process_tree,
    tls_ready,
)

REALM = "CONTOSO.TEST"
DOMAIN = "CONTOSO"
DNS_DOMAIN = "contoso.test"
BASE_DN = "DC=contoso,DC=test"
CONFIG_DN = f"CN=Configuration,{BASE_DN}"
SCHEMA_DN = f"CN=Schema,{CONFIG_DN}"
ADMIN_USER = f"Administrator@{DNS_DOMAIN}"
ADMIN_PASSWORD = "Passw0rd!Passw0rd"  # throw-away test DC on loopback
CONNECTOR_SAM = "MSOL_1a2b3c4d5e6f"
CONNECTOR_PASSWORD = "Conn3ctor!Secret#42"  # asserted absent from all output

KINDS = ("2008_R2", "2012_R2", "exchange")
_START_TIMEOUT = 60.0


def samba_binaries() -> tuple[str, str] | None:
    """(samba-tool, samba) paths, or None when Samba is not installed."""
    tool = shutil.which("samba-tool")
    daemon = shutil.which("samba") or (
        "/usr/sbin/samba" if Path("/usr/sbin/samba").exists() else None
    )
    return (tool, daemon) if tool and daemon else None


def samba_unavailable() -> str | None:
    """Why the Samba tests cannot run on this machine (None: they can)."""
    if samba_binaries() is None:
        return (
            "samba-tool/samba not found: install them with `apt-get install -y samba "
            "samba-ad-dc ldb-tools ldap-utils krb5-user` (CI does) to run the Samba tests"
        )
    if os.geteuid() != 0:
        return "a Samba AD DC must run as root (it binds the LDAP and Kerberos ports)"
    return None


# --------------------------------------------------------------------------- DCs


@dataclass
class SambaDC:
    """A running DC: where it listens, how to trust it, how to administer it."""

    kind: str
    directory: Path
    lease: IpLease
    process: subprocess.Popen[bytes]
    _connections: list[ldap3.Connection] = field(default_factory=list)

    tls_server_name: str = TLS_SERVER_NAME
    admin_user: str = ADMIN_USER
    admin_password: str = ADMIN_PASSWORD
    base_dn: str = BASE_DN
    config_dn: str = CONFIG_DN
    schema_dn: str = SCHEMA_DN
    realm: str = REALM
    dns_domain: str = DNS_DOMAIN
    netbios_domain: str = DOMAIN

    @property
    def ip(self) -> str:
        return self.lease.ip

    @property
    def url(self) -> str:
        return f"ldaps://{self.ip}"

    @property
    def starttls_url(self) -> str:
        return f"ldap://{self.ip}"

    @property
    def ca_file(self) -> Path:
        return self.directory / "private" / "tls" / "ca.pem"

    def connection(self, user: str, password: str) -> ldap3.Connection:
        """A bound LDAPS connection for test set-up (raises on any LDAP error). Certificate
        validation is off here: this is the harness talking to the DC it just started."""
        server = ldap3.Server(
            self.ip,
            port=636,
            use_ssl=True,
            tls=ldap3.Tls(validate=ssl.CERT_NONE),
            get_info=ldap3.NONE,
            connect_timeout=10,
        )
        conn = ldap3.Connection(
            server,
            user=user,
            password=password,
            authentication=ldap3.SIMPLE,
            raise_exceptions=True,
            receive_timeout=30,
            # No schema is loaded (get_info=NONE); also lets set-up write the rootDSE ("").
            check_names=False,
        )
        conn.bind()
        self._connections.append(conn)
        return conn

    def admin_connection(self) -> ldap3.Connection:
        """A bound connection as the domain Administrator; unbound when the DC stops."""
        return self.connection(self.admin_user, self.admin_password)

    def create_connector(
        self,
        password: str = CONNECTOR_PASSWORD,
        *,
        sam: str = CONNECTOR_SAM,
        parent: str | None = None,
    ) -> str:
        """Create the AD DS connector account (an ordinary user) and return its DN."""
        return self.create_user(sam, password, parent=parent)

    def create_user(
        self,
        sam: str,
        password: str | None = None,
        *,
        parent: str | None = None,
        attributes: dict[str, object] | None = None,
    ) -> str:
        """Create an enabled user (or a disabled one without a password) and return its DN."""
        dn = f"CN={sam},{parent or 'CN=Users,' + self.base_dn}"
        attrs: dict[str, object] = {
            "sAMAccountName": sam,
            "userPrincipalName": f"{sam}@{self.dns_domain}",
        }
        if password is not None:
            attrs["unicodePwd"] = f'"{password}"'.encode("utf-16-le")
            attrs["userAccountControl"] = "512"
        attrs.update(attributes or {})
        conn = self.admin_connection()
        conn.add(dn, ["top", "person", "organizationalPerson", "user"], attrs)
        conn.unbind()
        self._connections.remove(conn)
        return dn

    def ldb_add(self, ldif: str) -> None:
        """Add records straight into the running DC's sam.ldb with the *relax* control — for
        what LDAP refuses, e.g. a group with a chosen RID (Key Admins, 526), which Samba 4.17
        does not create at its 2008 R2 functional level."""
        tool = shutil.which("ldbadd")
        if tool is None:
            pytest.skip("ldbadd not found: install ldb-tools")
        result = subprocess.run(
            [tool, "-H", str(self.directory / "private" / "sam.ldb"), "--controls=relax:0"],
            input=ldif,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ldbadd failed: {result.stdout}{result.stderr}")

    def stop(self) -> None:
        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.unbind()
        self._connections.clear()
        stop_process_tree(self.process)
        self.lease.release()


class SambaFactory:
    """Provisions templates lazily (once per kind per session) and starts copies of them."""

    def __init__(self, root: Path, tool: str, daemon: str) -> None:
        self.root = root
        self.tool = tool
        self.daemon = daemon
        self._templates: dict[str, Path] = {}
        self._running: list[SambaDC] = []
        self._serial = 0

    # -- templates

    def template(self, kind: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown Samba DC kind {kind!r}; expected one of {KINDS}")
        if kind not in self._templates:
            self._templates[kind] = self._build_template(kind)
        return self._templates[kind]

    def _build_template(self, kind: str) -> Path:
        if kind == "exchange":
            # The 2012 R2 template, started once to extend its schema over LDAP, then stopped.
            target = self._copy(self.template("2012_R2"), "tpl-exchange")
            dc = self._start(target, kind)
            try:
                extend_exchange_like_schema(dc.admin_connection(), dc.schema_dn)
            finally:
                dc.stop()
                self._running.remove(dc)
            return target
        target = self.root / f"tpl-{kind}"
        self._provision(target, kind)
        # First start generates the TLS key pair (2-3 s); copies then reuse it and start fast.
        dc = self._start(target, kind)
        dc.stop()
        self._running.remove(dc)
        return target

    def _provision(self, target: Path, base_schema: str) -> None:
        d = str(target)
        options = [
            "interfaces=127.0.0.10/8",
            "bind interfaces only=yes",
            "dsdb:schema update allowed=true",
            f"pid directory={d}/run",
            f"ncalrpc dir={d}/run/ncalrpc",
            f"winbindd socket directory={d}/run/winbindd",
            f"ntp signd socket directory={d}/run/ntp_signd",
            f"log file={d}/logs/log.%m",
        ]
        cmd = [
            self.tool,
            *["domain", "provision", "--server-role=dc", "--dns-backend=NONE", "--host-name=dc1"],
            f"--targetdir={d}",
            f"--realm={REALM}",
            f"--domain={DOMAIN}",
            f"--adminpass={ADMIN_PASSWORD}",
            f"--base-schema={base_schema}",
            "--host-ip=127.0.0.10",
            *(f"--option={o}" for o in options),  # no spaces around "=" or Samba drops it
        ]
        run_logged(cmd, target.parent / f"provision-{base_schema}.log")
        conf = target / "etc" / "smb.conf"
        # One ≈50 MB process instead of eight: LDAP, LDAPS and Kerberos are all the tests use.
        set_option(conf, "server services", "ldap, kdc")
        # Passwords in the templates must not expire, or binds break 42 days after provisioning.
        pwd = ["domain", "passwordsettings", "set", "--max-pwd-age=0", "-H", f"{d}/private/sam.ldb"]
        run_logged([self.tool, *pwd, "-s", str(conf)], target.parent / f"pwd-{base_schema}.log")

    # -- running copies

    def _copy(self, template: Path, name: str) -> Path:
        self._serial += 1
        target = self.root / f"{name}-{self._serial}"
        subprocess.run(["cp", "-a", str(template), str(target)], check=True)
        conf = target / "etc" / "smb.conf"
        conf.write_text(conf.read_text().replace(str(template), str(target)))
        return target

    def _start(self, directory: Path, kind: str) -> SambaDC:
        lease = lease_ip()
        conf = directory / "etc" / "smb.conf"
        set_option(conf, "interfaces", f"{lease.ip}/8")
        log = (directory / "samba.out").open("ab")
        try:
            proc = subprocess.Popen(
                [self.daemon, "-s", str(conf), "-i", "-M", "single"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        dc = SambaDC(kind=kind, directory=directory, lease=lease, process=proc)
        self._running.append(dc)
        deadline = time.monotonic() + _START_TIMEOUT
        while not tls_ready(lease.ip):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (directory / "samba.out").read_text(errors="replace")[-2000:]
                dc.stop()
                self._running.remove(dc)
                raise RuntimeError(f"Samba DC ({kind}) did not start on {lease.ip}:\n{tail}")
            time.sleep(0.1)
        return dc

    def start(self, kind: str) -> SambaDC:
        """A running copy of the ``kind`` template; stop it with :meth:`stop`."""
        directory = self._copy(self.template(kind), f"dc-{kind}")
        return self._start(directory, kind)

    def stop(self, dc: SambaDC) -> None:
        dc.stop()
        if dc in self._running:
            self._running.remove(dc)
        shutil.rmtree(dc.directory, ignore_errors=True)

    @contextlib.contextmanager
    def running(self, kind: str) -> Iterator[SambaDC]:
        dc = self.start(kind)
        try:
            yield dc
        finally:
            self.stop(dc)

    def close(self) -> None:
        for dc in list(self._running):
            dc.stop()
        self._running.clear()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def samba_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaFactory]:
    """Session-wide provisioner of Samba DC templates; skips when Samba cannot run here."""
    reason = samba_unavailable()
    if reason is not None:
        pytest.skip(reason)
    binaries = samba_binaries()
    assert binaries is not None
    factory = SambaFactory(tmp_path_factory.mktemp("samba"), *binaries)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def samba_2008r2(samba_factory: SambaFactory) -> Iterator[SambaDC]:
    """A DC with the Windows Server 2008 R2 schema (objectVersion 47, no msDS-Device*)."""
    with samba_factory.running("2008_R2") as dc:
        yield dc


@pytest.fixture(scope="module")
def samba_2012r2(samba_factory: SambaFactory) -> Iterator[SambaDC]:
    """A DC with the Windows Server 2012 R2 schema (objectVersion 69), shared by a module."""
    with samba_factory.running("2012_R2") as dc:
        yield dc


@pytest.fixture(scope="module")
def samba_exchange(samba_factory: SambaFactory) -> Iterator[SambaDC]:
    """A 2012 R2 DC with the Exchange-like schema extension (rangeUpper 15312)."""
    with samba_factory.running("exchange") as dc:
        yield dc


@pytest.fixture
def fresh_samba_2012r2(samba_factory: SambaFactory) -> Iterator[SambaDC]:
    """A 2012 R2 DC of the test's own (≈1 s): change it freely."""
    with samba_factory.running("2012_R2") as dc:
        yield dc
