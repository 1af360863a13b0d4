"""Measurements of one benchmark run: the ldapsearch floor and wbplan's real CLI, each a child
process timed by wall clock, with its own peak RSS from ``wait4`` (the kernel's ``ru_maxrss``
of exactly that child) and, for wbplan, the LDAP request count from its debug log line
(``LdapSession.close``).

Secrets: the bind password reaches ldapsearch through a 0600 file (``-y``) and wbplan through
``WBPLAN_LDAP_PASSWORD``; neither is on a command line, in the results or printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.dc import RunningDC
from bench.population import DEVICES_DN, GROUPS_DN, SCOPE_DN
from planner.observe.ad_common import BASE_ATTRIBUTES
from planner.observe.ad_scan import CONTAINERS_FILTER, SCAN_ATTRIBUTES, USERS_FILTER
from tests.support.samba import ADMIN_PASSWORD, ADMIN_USER, CONNECTOR_SAM, DOMAIN

SD_FLAGS_DACL = "1.2.840.113556.1.4.801=::MAMCAQQ="
"""SD-flags control, BER SEQUENCE { INTEGER 4 } = DACL only (what wbplan sends)."""
REQUESTS_LINE = re.compile(r"LDAP session to \S+: (\d+) requests, (\d+) entries")


@dataclass
class Measured:
    """One child process."""

    name: str
    wall_s: float
    max_rss_mb: float
    exit_code: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_s": round(self.wall_s, 3),
            "max_rss_mb": round(self.max_rss_mb, 1),
            "exit_code": self.exit_code,
            **self.extra,
        }


def run_child(
    name: str, cmd: list[str], *, env: dict[str, str], stdout: Path, stderr: Path
) -> Measured:
    """Run ``cmd`` to completion; wall time and that child's own peak RSS."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    return Measured(name, wall, usage.ru_maxrss / 1024, proc.returncode)


def policy_yaml(name: str) -> str:
    """The benchmark policy: password writeback on ``OU=Corp`` (the whole generated tree),
    device and group writeback on the generated containers."""
    return f"""apiVersion: wbplan.dev/v1
kind: WritebackPolicy
metadata:
  name: {name}
forest: contoso.test
tenant:
  id: 7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b
  domain: contoso.onmicrosoft.com
connector:
  account: {DOMAIN}\\{CONNECTOR_SAM}
writeback:
  password:
    enabled: true
    scope: ["{SCOPE_DN}"]
  device:
    enabled: true
    domain: contoso.test
  group:
    enabled: true
    version: v1
    container: {GROUPS_DN}
    new_group_default: false
"""


def floor_searches() -> list[tuple[str, str, str, str, list[str], bool]]:
    """(name, base, scope, filter, attributes, SD flags) of wbplan's bulk reads — the same
    filters and attribute lists ``planner.observe.ad_scan`` sends."""
    return [
        ("ous", SCOPE_DN, "sub", CONTAINERS_FILTER, list(BASE_ATTRIBUTES), True),
        # every user's DACL too (per-object verdicts, issue 12), under the same SD-flags control
        ("users", SCOPE_DN, "sub", USERS_FILTER, list(SCAN_ATTRIBUTES), True),
        ("groups", GROUPS_DN, "sub", "(objectClass=group)", ["1.1"], False),
        ("devices", DEVICES_DN, "one", "(objectClass=msDS-Device)", ["msDS-DeviceID"], False),
    ]


def measure_floor(dc: RunningDC, work: Path) -> Measured:
    """Paged ldapsearch (OpenLDAP client, 1,000 a page) of every bulk read, one after the other.
    TLS: LDAPS; the certificate check is off here (LDAPTLS_REQCERT=never) because the URL is an
    address and ldapsearch has no server-name override — the handshake costs the same."""
    password_file = work / "bind.pw"
    password_file.write_text(ADMIN_PASSWORD)
    password_file.chmod(0o600)
    env = {**os.environ, "LDAPTLS_REQCERT": "never"}
    parts: dict[str, Any] = {}
    total_wall = 0.0
    peak = 0.0
    try:
        for name, base, scope, search, attributes, sd in floor_searches():
            cmd = ["ldapsearch", "-LLL", "-H", dc.url, "-x", "-D", ADMIN_USER]
            cmd += ["-y", str(password_file), "-b", base, "-s", scope, "-E", "pr=1000/noprompt"]
            cmd += ["-E", SD_FLAGS_DACL] if sd else []
            out = work / f"floor-{name}.ldif"
            run = run_child(
                f"floor-{name}",
                [*cmd, search, *attributes],
                env=env,
                stdout=out,
                stderr=work / f"floor-{name}.err",
            )
            if run.exit_code != 0:
                err = (work / f"floor-{name}.err").read_text(errors="replace")
                raise RuntimeError(f"ldapsearch {name} failed ({run.exit_code}): {err[-1000:]}")
            rows = count_entries(out)
            parts[name] = {"wall_s": round(run.wall_s, 3), "rows": rows}
            total_wall += run.wall_s
            peak = max(peak, run.max_rss_mb)
            out.unlink()
    finally:
        password_file.unlink(missing_ok=True)
    pages = sum(-(-p["rows"] // 1000) or 1 for p in parts.values())
    return Measured("floor (ldapsearch)", total_wall, peak, 0, {"searches": parts, "pages": pages})


def count_entries(ldif: Path) -> int:
    """Entries in an LDIF file, read in chunks: reading the users' DACLs whole would grow this
    process by hundreds of MB, and every child forked afterwards would report that as its own
    peak RSS."""
    count, tail = 0, b"\n"
    with ldif.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += (tail + chunk).count(b"\ndn: ")
            tail = chunk[-4:]  # a match split across chunks, never one counted twice
    return count


def use_bytecode_cache(cache: Path) -> None:
    """Make every child of this process run with compiled bytecode, as an installed wheel does
    (pip compiles at install). This machine's environment sets ``PYTHONDONTWRITEBYTECODE``, so
    without this each ``wbplan`` start compiled the whole ``planner`` package again (≈ 0.4 s
    of ``compile`` in a profile of ``check``). The bytecode goes to ``cache``
    (``PYTHONPYCACHEPREFIX``), never into the working tree, and is compiled here, before any
    measure, for wbplan, its dependencies and the standard library (up-to-date files are
    skipped: ≈ 15 s the first time)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    paths = sysconfig.get_paths()
    roots = dict.fromkeys([str(Path(__file__).resolve().parent.parent / "planner"),
                           paths["stdlib"], paths["purelib"], paths["platlib"]])  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *roots],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def wbplan_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WBPLAN_", "AZURE_"))}
    env["WBPLAN_LDAP_USER"] = ADMIN_USER
    env["WBPLAN_LDAP_PASSWORD"] = ADMIN_PASSWORD
    return env


def ldap_args(dc: RunningDC) -> list[str]:
    """How wbplan reaches the DC. ``--ldap-timeout 120`` (as ``bench.incremental`` reads): on a
    shared 2-core machine a page of 1,000 users with their DACLs once took more than the default
    10 s to come back at 100,000 users (2026-12-01, load average 5–6)."""
    return [
        *("--ldap-url", dc.url, "--ca-file", str(dc.ca_file)),
        *("--tls-server-name", dc.tls_server_name, "--ldap-timeout", "120"),
    ]


def wbplan(*args: str) -> list[str]:
    return [sys.executable, "-m", "planner", "--debug", *args]


def _requests(stderr: Path) -> dict[str, int]:
    text = stderr.read_text(errors="replace")
    found = REQUESTS_LINE.findall(text)
    if not found:
        return {}
    return {
        "ldap_requests": sum(int(r) for r, _ in found),
        "entries": sum(int(e) for _, e in found),
    }


def measure_refresh(dc: RunningDC, work: Path, policy: Path, snapshot: Path) -> Measured:
    """``wbplan refresh`` live, snapshot written to ``snapshot``."""
    err = work / "refresh.err"
    run = run_child(
        "wbplan refresh (live)",
        wbplan("refresh", "--policy", str(policy), *ldap_args(dc), "--out", str(snapshot)),
        env=wbplan_env(),
        stdout=work / "refresh.out",
        stderr=err,
    )
    _check_exit(run, err, ok=(0,))
    run.extra.update(_requests(err))
    return run


def check_available() -> bool:
    """Whether ``wbplan check`` is built yet (issue #7 lands separately)."""
    out = subprocess.run(
        wbplan("check", "--help"), capture_output=True, text=True, check=False, env=wbplan_env()
    )
    return out.returncode == 0 and "--ldap-url" in out.stdout


def measure_check(dc: RunningDC, work: Path, policy: Path) -> Measured:
    """``wbplan check`` live (JSON report); exit 2 (non-compliant) is expected: the tree has
    protected OUs, adminCount users and a deny on purpose."""
    err = work / "check.err"
    report = work / "report.json"
    run = run_child(
        "wbplan check (live)",
        wbplan(
            "check", "--policy", str(policy), *ldap_args(dc), "--format", "json", "-o", str(report)
        ),
        env=wbplan_env(),
        stdout=work / "check.out",
        stderr=err,
    )
    _check_exit(run, err, ok=(0, 2))
    run.extra.update(_requests(err))
    if report.exists():
        run.extra["findings"] = _finding_counts(json.loads(report.read_text()))
    return run


INCREMENTAL_LINE = re.compile(
    r"AD read incrementally: (\d+) change\(s\) since USN (\d+)(?:, (\d+) subtree)?"
)
FULL_READ_LINE = re.compile(r"read AD in full, not incrementally: (.*)")
UNCHANGED_LINE = "nothing observed changed, so only the snapshot's marks were updated"
REUSED_LINE = "Reused the findings of the last check of this snapshot"


def measure_check_incremental(
    name: str, dc: RunningDC, work: Path, policy: Path, state: Path, *extra: str
) -> Measured:
    """``wbplan check --incremental --state STATE`` (what a user runs hourly): the snapshot
    brought up to date from the DC's changes and written back, then checked (JSON report).
    Records how AD was read, from the CLI's own lines on stderr."""
    err = work / "check-incremental.err"
    report = work / "report-incremental.json"
    run = run_child(
        name,
        wbplan(
            "check", "--policy", str(policy), *ldap_args(dc), "--incremental",
            "--state", str(state), "--format", "json", "-o", str(report), *extra,
        ),
        env=wbplan_env(),
        stdout=work / "check-incremental.out",
        stderr=err,
    )  # fmt: skip
    _check_exit(run, err, ok=(0, 2))
    run.extra.update(_requests(err))
    text = err.read_text(errors="replace")
    if found := INCREMENTAL_LINE.search(text):
        run.extra["ad_read"] = "incremental"
        run.extra["changes_read"] = int(found.group(1))
        run.extra["subtrees_read_again"] = int(found.group(3) or 0)
    elif found := FULL_READ_LINE.search(text):
        run.extra["ad_read"] = "full"
        run.extra["full_read_reason"] = found.group(1)
    # Which path the CLI took (planner/cli/incremental_run.py, check_cmd._reuse_report).
    run.extra["unchanged_path"] = UNCHANGED_LINE in text
    run.extra["report_reused"] = REUSED_LINE in text
    if report.exists():
        run.extra["findings"] = _finding_counts(json.loads(report.read_text()))
    return run


def _finding_counts(report: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in report.get("findings", []) if isinstance(report, dict) else []:
        status = str(finding.get("status"))
        counts[status] = counts.get(status, 0) + 1
    return counts


def measure_plan(name: str, work: Path, args: list[str], repeat: int = 3) -> Measured:
    """``wbplan plan`` offline, as a user runs it (interpreter start and imports included):
    best wall time of ``repeat`` runs, highest peak RSS."""
    err = work / "plan.err"
    runs = []
    for _ in range(repeat):
        run = run_child(
            name, wbplan("plan", *args), env=wbplan_env(), stdout=work / "plan.out", stderr=err
        )
        _check_exit(run, err, ok=(0,))
        runs.append(run)
    best = min(runs, key=lambda r: r.wall_s)
    best.max_rss_mb = max(r.max_rss_mb for r in runs)
    best.extra["runs_s"] = [round(r.wall_s, 3) for r in runs]
    return best


def _check_exit(run: Measured, err: Path, ok: tuple[int, ...]) -> None:
    if run.exit_code not in ok:
        text = err.read_text(errors="replace")
        raise RuntimeError(f"{run.name} exited {run.exit_code}:\n{text[-3000:]}")


def scan_counts(snapshot: Path) -> dict[str, int]:
    """Result counts from the snapshot wbplan wrote (what the benchmark checks against the
    generated tree)."""
    state = json.loads(snapshot.read_text())
    ad = state.get("ad") or {}
    scopes = ad.get("scopes") or []
    groups = ad.get("groups") or []
    devices = ad.get("devices") or {}
    dacls = ad.get("dacls") or {}

    def protected(key: str | None) -> bool:
        return bool(key and (dacls.get(key) or {}).get("dacl_protected"))

    return {
        "ous": sum(s.get("ous_total", 0) for s in scopes),
        "protected_ous": sum(
            protected(c.get("dacl")) for s in scopes for c in s.get("containers", ())
        ),
        "admin_count_users": sum(
            bool(o.get("admin_count")) for s in scopes for o in s.get("objects", ())
        ),
        "users": sum(
            o.get("object_class") in ("user", "inetOrgPerson")
            for s in scopes
            for o in s.get("objects", ())
        ),
        "groups": sum(g.get("count", 0) for g in groups),
        "devices": int(devices.get("count", 0)),
        "objects": len(ad.get("objects") or ()),
        "distinct_dacls": len(dacls),
    }


def measure_evaluation(snapshot: Path) -> dict[str, float | int]:
    """In-process: load the snapshot and time the per-object verdicts of every scope (what
    check and plan add on top of the read), and the distinct DACLs they were computed from."""
    from planner.observe.snapshot import load_state
    from planner.scope_rights import analyse

    state = load_state(snapshot)
    assert state.ad is not None
    start = time.perf_counter()
    objects = 0
    for scan in state.ad.scopes:
        analysis = analyse(state, scan.root)
        objects += len(analysis.verdicts) if analysis else 0
    return {
        "evaluate_s": round(time.perf_counter() - start, 3),
        "objects_evaluated": objects,
        "distinct_dacls": len(state.ad.dacls),
    }
