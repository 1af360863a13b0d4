"""The benchmark's Samba AD DC: built once per tree size into ``bench/.cache/<params-hash>/``,
then started from a copy for every run (the cached directory itself is never started again,
so each run begins from the same bytes).

Build (:func:`build`): provision a 2012 R2 DC with the mdb backend (samba.md: 1.7× faster to
populate than tdb), create the connector account with ``samba-tool``, add the connector's ACEs
to the domain root with ``ldbmodify`` *before* the tree exists (children then inherit them at
creation, no propagation pass), add the whole tree with one ``ldbadd -o batch_mode:1``
(:mod:`bench.population`), start the DC once (generates its TLS key pair), check the counts over
LDAPS, stop it, and rename the build directory into place.

Process plumbing (loopback leases, stopping by PID, readiness, smb.conf edits) is the test
harness's own (``tests/support/samba_tools.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.population import BASE_DN, TreeParams, password_aces, tree_ldif
from tests.support.samba import (
    ADMIN_PASSWORD,
    CONNECTOR_PASSWORD,
    CONNECTOR_SAM,
    DOMAIN,
    REALM,
    samba_binaries,
    samba_unavailable,
)
from tests.support.samba_tools import (
    TLS_SERVER_NAME,
    IpLease,
    lease_ip,
    run_logged,
    set_option,
    stop_process_tree,
    tls_ready,
)

CACHE = Path(__file__).resolve().parent / ".cache"
_START_TIMEOUT = 120.0


def samba_version() -> str:
    out = subprocess.run(["samba", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def cache_key(params: TreeParams) -> str:
    """Hash of the tree parameters and the Samba version (a new Samba rebuilds)."""
    blob = json.dumps({"params": params.as_dict(), "samba": samba_version()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class RunningDC:
    """A started copy of a cached DC."""

    directory: Path
    lease: IpLease
    process: subprocess.Popen[bytes]

    @property
    def ip(self) -> str:
        return self.lease.ip

    @property
    def url(self) -> str:
        return f"ldaps://{self.lease.ip}"

    @property
    def ca_file(self) -> Path:
        return self.directory / "private" / "tls" / "ca.pem"

    tls_server_name: str = TLS_SERVER_NAME


def _provision(target: Path, log_dir: Path) -> None:
    tool, _ = _binaries()
    d = str(target)
    options = [
        "interfaces=127.0.0.10/8",
        "bind interfaces only=yes",
        f"pid directory={d}/run",
        f"ncalrpc dir={d}/run/ncalrpc",
        f"winbindd socket directory={d}/run/winbindd",
        f"ntp signd socket directory={d}/run/ntp_signd",
        f"log file={d}/logs/log.%m",
    ]
    run_logged(
        [
            tool,
            *["domain", "provision", "--server-role=dc", "--dns-backend=NONE", "--host-name=dc1"],
            f"--targetdir={d}",
            f"--realm={REALM}",
            f"--domain={DOMAIN}",
            f"--adminpass={ADMIN_PASSWORD}",
            "--base-schema=2012_R2",
            "--backend-store=mdb",
            "--host-ip=127.0.0.10",
            *(f"--option={o}" for o in options),
        ],
        log_dir / "provision.log",
    )
    conf = target / "etc" / "smb.conf"
    set_option(conf, "server services", "ldap, kdc")
    sam = f"{d}/private/sam.ldb"
    pwd = ["domain", "passwordsettings", "set", "--max-pwd-age=0", "-H", sam, "-s", str(conf)]
    run_logged([tool, *pwd], log_dir / "passwordsettings.log")
    create = ["user", "create", CONNECTOR_SAM, CONNECTOR_PASSWORD, "-H", sam, "-s", str(conf)]
    run_logged([tool, *create], log_dir / "connector.log")


def _binaries() -> tuple[str, str]:
    reason = samba_unavailable()
    found = samba_binaries()
    if reason is not None or found is None:
        raise SystemExit(f"cannot build the benchmark DC: {reason}")
    return found


def _ldb(tool: str, target: Path, *args: str, data: str | None = None) -> str:
    conf = target / "etc" / "smb.conf"
    cmd = [tool, "-H", str(target / "private" / "sam.ldb"), f"--configfile={conf}", *args]
    result = subprocess.run(cmd, input=data, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{tool} failed: {(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def _unfold(ldif: str) -> str:
    return ldif.replace("\n ", "")


def _connector_sid(target: Path) -> str:
    out = _unfold(_ldb("ldbsearch", target, f"(sAMAccountName={CONNECTOR_SAM})", "objectSid"))
    match = re.search(r"^objectSid: (S-1-5-21-[0-9-]+)$", out, re.M)
    if match is None:
        raise RuntimeError(f"connector SID not found in:\n{out[-2000:]}")
    return match.group(1)


def _grant_on_domain_root(target: Path, connector_sid: str) -> None:
    out = _unfold(_ldb("ldbsearch", target, "-b", BASE_DN, "-s", "base", "nTSecurityDescriptor"))
    match = re.search(r"^nTSecurityDescriptor: (.*)$", out, re.M)
    if match is None:
        raise RuntimeError("domain root security descriptor not readable")
    sddl = match.group(1)
    head, dacl = sddl.split("D:", 1)
    sacl = ""
    if "S:" in dacl:
        dacl, sacl = dacl.split("S:", 1)
        sacl = "S:" + sacl
    flags, aces = re.match(r"^([A-Z]*)(.*)$", dacl).groups()  # type: ignore[union-attr]
    # Explicit allows go after the explicit denies (canonical order).
    ace_list = re.findall(r"\([^)]*\)", aces)
    denies = [a for a in ace_list if a.startswith(("(D;", "(OD;"))]
    rest = [a for a in ace_list if a not in denies]
    new = f"{head}D:{flags}{''.join(denies)}{password_aces(connector_sid)}{''.join(rest)}{sacl}"
    _ldb(
        "ldbmodify",
        target,
        data=f"dn: {BASE_DN}\nchangetype: modify\nreplace: nTSecurityDescriptor\n"
        f"nTSecurityDescriptor: {new}\n",
    )


def build(params: TreeParams, key: str, say: Any = print) -> dict[str, Any]:
    """Build the cached DC for ``params`` under ``CACHE/key``; returns its metadata."""
    final = CACHE / key
    work = CACHE / f"{key}.building"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    target = work / "dc"
    timings: dict[str, float] = {}

    start = time.perf_counter()
    _provision(target, work)
    timings["provision_s"] = time.perf_counter() - start
    say(f"  provisioned (mdb, 2012 R2) in {timings['provision_s']:.1f} s")

    connector_sid = _connector_sid(target)
    _grant_on_domain_root(target, connector_sid)

    start = time.perf_counter()
    ldif = work / "tree.ldif"
    with ldif.open("w", encoding="utf-8") as handle:
        for record in tree_ldif(params, connector_sid):
            handle.write(record)
    timings["ldif_s"] = time.perf_counter() - start
    say(f"  generated {ldif.stat().st_size / 1e6:.0f} MB of LDIF in {timings['ldif_s']:.1f} s")

    start = time.perf_counter()
    _ldb("ldbadd", target, "-o", "batch_mode:1", str(ldif))
    timings["ldbadd_s"] = time.perf_counter() - start
    ldif.unlink()
    say(f"  ldbadd (one transaction, batch_mode) in {timings['ldbadd_s']:.1f} s")

    start = time.perf_counter()
    with running(target):  # the first start writes the TLS key pair into the template
        pass
    timings["first_start_s"] = time.perf_counter() - start
    meta = {
        "params": params.as_dict(),
        "samba": samba_version(),
        "connector_sid": connector_sid,
        "build_timings": timings,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (work / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)
    conf = final / "dc" / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace(str(target), str(final / "dc")))
    return meta


def _start(directory: Path) -> RunningDC:
    _, daemon = _binaries()
    lease = lease_ip()
    conf = directory / "etc" / "smb.conf"
    set_option(conf, "interfaces", f"{lease.ip}/8")
    with (directory / "samba.out").open("ab") as log:
        proc = subprocess.Popen(
            [daemon, "-s", str(conf), "-i", "-M", "single"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    dc = RunningDC(directory, lease, proc)
    deadline = time.monotonic() + _START_TIMEOUT
    while not tls_ready(lease.ip):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(dc)
            tail = (directory / "samba.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"benchmark DC did not start on {lease.ip}:\n{tail}")
        time.sleep(0.1)
    return dc


def _stop(dc: RunningDC) -> None:
    stop_process_tree(dc.process)
    dc.lease.release()


@contextlib.contextmanager
def running(directory: Path) -> Iterator[RunningDC]:
    """Start the DC in ``directory`` (in place) and stop it afterwards."""
    dc = _start(directory)
    try:
        yield dc
    finally:
        _stop(dc)


@contextlib.contextmanager
def running_copy(cached: Path) -> Iterator[RunningDC]:
    """Copy the cached DC (``cp -a``, paths in smb.conf rewritten), start the copy, and remove
    it afterwards: runs never change the cache."""
    copy = cached.parent / f"run-{int(time.time() * 1000)}"
    subprocess.run(["cp", "-a", str(cached / "dc"), str(copy)], check=True)
    conf = copy / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace(str(cached / "dc"), str(copy)))
    try:
        with running(copy) as dc:
            yield dc
    finally:
        shutil.rmtree(copy, ignore_errors=True)
