"""Every bad file a user can hand wbplan gives one clear line, never an internal error (issue 14 §6).

A corpus of corrupt files — saved plans, snapshots, apply journals, CA files, LDAP password files
and policies — is generated from the shipped example (a good plan file, the example snapshot, a
journal with a real security descriptor, the example policy) and each one is run through the real
CLI (click's ``CliRunner``; a subprocess where stderr logging matters). Each must exit 1 with a
line that names the file and says what is wrong with it, with no "internal error", no traceback
and no secret. A 20 MB policy is refused by the size limit, before it is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.apply.journal import load_journal
from planner.cli import cli
from planner.fileio import MAX_JSON_BYTES, MAX_POLICY_BYTES
from planner.model.state import ObservedState
from planner.observe.ldapopts import MAX_PASSWORD_FILE_BYTES
from planner.observe.ldaptls import MAX_CA_FILE_BYTES
from planner.observe.sd import descriptor_bytes

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = REPO / "policies" / "example.yaml"
EXAMPLE_STATE = REPO / "state" / "example.json"
SECRET = "Tr0ub4dor&3-never-printed"  # a test password that must never be echoed
UNREACHABLE = "ldaps://127.0.0.1:1"
"""Nothing listens there: a case that got past reading its file would fail to connect."""


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def wbplan(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """``wbplan ARGS`` through the click command group (as the console script runs it)."""
    base = {"NO_COLOR": "1", "WBPLAN_LDAP_USER": "CONTOSO\\reader", "WBPLAN_LDAP_PASSWORD": ""}
    result = CliRunner().invoke(cli, list(args), prog_name="wbplan", env={**base, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an exception click did not turn into an exit code: a bug
    return Outcome(result.exit_code, result.stdout, result.stderr)


def wbplan_process(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """``python -m planner ARGS`` in a child process (stderr logging included)."""
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- good originals


@pytest.fixture(scope="module")
def good_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A saved plan of the example (policy + snapshot), as parsed JSON."""
    path = tmp_path_factory.mktemp("plan") / "good.wbplan"
    made = wbplan("plan", "--example", "-out", str(path))
    assert made.exit_code == 0, made.text
    assert wbplan("show", str(path)).exit_code == 0
    doc: dict[str, object] = json.loads(path.read_text("utf-8"))
    return doc


def _checksum(body: dict[str, object]) -> str:
    """A plan file's checksum, recomputed as a tamperer would (see planner.planfile)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rechecksummed(doc: dict[str, object], **parts: object) -> dict[str, object]:
    """``doc`` with ``parts`` replaced (None: removed) and a matching checksum."""
    out = {k: v for k, v in doc.items() if k != "checksum"}
    for key, value in parts.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    body = {k: v for k, v in out.items() if k != "format"}
    body.setdefault("plan", None)
    body.setdefault("policy", None)
    return {**out, "checksum": _checksum(body)}


def _example_descriptor() -> bytes:
    """A real DACL-only descriptor: the first one of the example snapshot that has ACEs."""
    state = ObservedState.model_validate_json(EXAMPLE_STATE.read_text("utf-8"))
    assert state.ad is not None
    return descriptor_bytes(next(sd for sd in state.ad.dacls.values() if sd.aces))


def good_journal() -> dict[str, object]:
    """An apply journal with one done ACE change whose images are a real descriptor."""
    sd = base64.b64encode(_example_descriptor()).decode("ascii")
    image = {"kind": "security_descriptor", "sd_base64": sd, "sddl": "D:(A;;GA;;;SY)"}
    return {
        "format": "wbplan-journal",
        "format_version": 1,
        "operation": "apply",
        "wbplan_version": "0",
        "started": "2026-11-22T18:00:00Z",
        "finished": "2026-11-22T18:00:05Z",
        "outcome": "complete",
        "lineage": {"forest": "contoso.test", "tenant_id": "x"},
        "entries": [
            {
                "seq": 1,
                "address": "ad.ace[OU=Staff,DC=contoso,DC=test]",
                "type": "ad.ace",
                "action": "create",
                "dn": "OU=Staff,DC=contoso,DC=test",
                "status": "done",
                "before_image": image,
                "after_image": image,
            }
        ],
    }


def test_the_originals_are_good(tmp_path: Path, good_plan: dict[str, object]) -> None:
    """The corpus below corrupts files that load: each refusal is the corruption's doing."""
    journal = tmp_path / "j.json"
    journal.write_text(json.dumps(good_journal()), encoding="utf-8")
    assert load_journal(journal).entries[0].status == "done"
    plan = tmp_path / "p.wbplan"
    plan.write_text(json.dumps(good_plan), encoding="utf-8")
    assert wbplan("show", str(plan)).exit_code == 0
    assert (
        wbplan("show", str(_write(tmp_path, "q.wbplan", _rechecksummed(good_plan)))).exit_code == 0
    )


# --------------------------------------------------------------------------- the corpus


Maker = Callable[[Path, dict[str, object]], Path]
"""Writes one bad file into the folder (given the good plan's JSON) and returns its path."""


def _write(
    folder: Path, name: str, content: bytes | str | dict[str, object] | list[object]
) -> Path:
    path = folder / name
    if isinstance(content, dict | list):
        content = json.dumps(content)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _sparse(folder: Path, name: str, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (only a size check can refuse it
    this fast)."""
    path = folder / name
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def _state() -> dict[str, object]:
    data: dict[str, object] = json.loads(EXAMPLE_STATE.read_text("utf-8"))
    return data


def _example_yaml() -> str:
    return EXAMPLE_POLICY.read_text("utf-8")


DEEP = "[" * 100_000 + "]" * 100_000
SHALLOW_BUT_TOO_DEEP = "[" * 70 + "]" * 70
HUGE = "9" * 50_000


@dataclass(frozen=True)
class Case:
    """A bad file, the command that reads it (``{}`` stands for its path) and what the line
    naming it must say."""

    kind: str
    make: Maker
    command: tuple[str, ...]
    says: str
    env: tuple[tuple[str, str], ...] = ()


SHOW = ("show", "{}")
ROLLBACK = ("rollback", "{}", "--auto-approve", "--ldap-url", UNREACHABLE)
PLAN_STATE = ("plan", "--policy", str(EXAMPLE_POLICY), "--state", "{}")
STATE_TENANT = (
    "plan",
    "--policy",
    str(EXAMPLE_POLICY),
    "--state",
    str(EXAMPLE_STATE),
    "--state-tenant",
    "{}",
)
CHECK_STATE = ("check", "--policy", str(EXAMPLE_POLICY), "--state", "{}")
VALIDATE = ("validate", "{}")
PLAN_POLICY = ("plan", "--policy", "{}", "--state", str(EXAMPLE_STATE))
REFRESH = ("refresh", "--policy", str(EXAMPLE_POLICY), "--out", "never-written.json")
CA = (*REFRESH, "--ldap-url", UNREACHABLE, "--ca-file", "{}")
GRAPH_CA = (*REFRESH, "--graph-url", "https://127.0.0.1:1/v1.0", "--graph-ca-file", "{}")
PASSWORD = (*REFRESH, "--ldap-url", UNREACHABLE, "--ldap-password-file", "{}")
GRAPH_ENV = (("WBPLAN_GRAPH_TOKEN", "not-a-token"),)


def _journal_with(**entry: object) -> Maker:
    def make(folder: Path, _plan: dict[str, object]) -> Path:
        doc = good_journal()
        entries = doc["entries"]
        assert isinstance(entries, list)
        entries[0] = {**entries[0], **entry}
        return _write(folder, "journal.json", doc)

    return make


def _sd_image(value: object) -> dict[str, object]:
    return {"kind": "security_descriptor", "sd_base64": value, "sddl": "D:"}


# fmt: off
CASES: dict[str, Case] = {
    # ---- saved plans
    "plan-not-utf8": Case("plan", lambda d, p: _write(d, "p.wbplan", b'{"format": "\xff\xfe"}'), SHOW, "not UTF-8 text: byte 0xFF at offset 12"),
    "plan-latin1": Case("plan", lambda d, p: _write(d, "p.wbplan", json.dumps(p).replace("contoso", "contosö").encode("latin-1")), SHOW, "not UTF-8 text"),
    "plan-deep": Case("plan", lambda d, p: _write(d, "p.wbplan", DEEP), SHOW, "nest deeper than 64 levels"),
    "plan-deep-70": Case("plan", lambda d, p: _write(d, "p.wbplan", SHALLOW_BUT_TOO_DEEP), SHOW, "nest deeper than 64 levels"),
    "plan-huge-int": Case("plan", lambda d, p: _write(d, "p.wbplan", f'{{"format": {HUGE}}}'), SHOW, "a number with 50,000 digits"),
    "plan-truncated": Case("plan", lambda d, p: _write(d, "p.wbplan", json.dumps(p)[:700]), SHOW, "not JSON"),
    "plan-empty": Case("plan", lambda d, p: _write(d, "p.wbplan", b""), SHOW, "not JSON"),
    "plan-json-list": Case("plan", lambda d, p: _write(d, "p.wbplan", [p]), SHOW, "is not a wbplan plan file"),
    "plan-missing-plan": Case("plan", lambda d, p: _write(d, "p.wbplan", _rechecksummed(p, plan=None)), SHOW, "its plan is missing"),
    "plan-plan-is-list": Case("plan", lambda d, p: _write(d, "p.wbplan", _rechecksummed(p, plan=[1, 2])), SHOW, "its plan is a JSON list"),
    "plan-policy-is-string": Case("plan", lambda d, p: _write(d, "p.wbplan", _rechecksummed(p, policy="x")), SHOW, "its policy is a JSON str"),
    "plan-missing-key": Case("plan", lambda d, p: _write(d, "p.wbplan", _rechecksummed(p, plan={k: v for k, v in p["plan"].items() if k != "resource_changes"})), SHOW, "resource_changes"),  # type: ignore[attr-defined]
    "plan-too-large": Case("plan", lambda d, p: _sparse(d, "p.wbplan", MAX_JSON_BYTES + 1), SHOW, "too large"),
    "plan-lone-surrogate": Case("plan", lambda d, p: _write(d, "p.wbplan", _rechecksummed(p, policy={**p["policy"], "metadata": {"name": "x\ud800"}})), SHOW, "lone UTF-16 surrogate"),  # type: ignore[dict-item]
    "plan-directory": Case("plan", lambda d, p: d, SHOW, "cannot read plan file"),
    "plan-via-apply": Case("plan", lambda d, p: _write(d, "p.wbplan", DEEP), ("apply", "{}"), "nest deeper than 64 levels"),
    # ---- snapshots
    "state-not-utf8": Case("snapshot", lambda d, p: _write(d, "s.json", b'{"ad":\n "\xc3\x28"}'), PLAN_STATE, ":2:3: not UTF-8 text: byte 0xC3"),
    "state-utf16": Case("snapshot", lambda d, p: _write(d, "s.json", json.dumps(_state()).encode("utf-16")), PLAN_STATE, "not UTF-8 text: byte 0xFF at offset 0"),
    "state-deep": Case("snapshot", lambda d, p: _write(d, "s.json", DEEP), PLAN_STATE, "nest deeper than 64 levels"),
    "state-deep-in-object": Case("snapshot", lambda d, p: _write(d, "s.json", {**_state(), "ad": json.loads(SHALLOW_BUT_TOO_DEEP)}), PLAN_STATE, "nest deeper than 64 levels"),
    "state-huge-int": Case("snapshot", lambda d, p: _write(d, "s.json", json.dumps(_state()).replace('"format_version": 2', f'"format_version": {HUGE}')), PLAN_STATE, "a number with 50,000 digits"),
    "state-negative-huge-int": Case("snapshot", lambda d, p: _write(d, "s.json", f'{{"format_version": -{HUGE}}}'), CHECK_STATE, "a number with 50,000 digits"),
    "state-missing-key": Case("snapshot", lambda d, p: _write(d, "s.json", {"format_version": 2, "wbplan_version": "0"}), PLAN_STATE, "is not a valid wbplan snapshot: (document): 'observed_at' is a required property"),
    "state-wrong-type": Case("snapshot", lambda d, p: _write(d, "s.json", {"format_version": 2, "wbplan_version": "0", "observed_at": [1]}), PLAN_STATE, "is not a valid wbplan snapshot: observed_at: [1] is not of type 'string'"),
    "state-not-object": Case("snapshot", lambda d, p: _write(d, "s.json", "[]"), PLAN_STATE, "is not a valid wbplan snapshot"),
    "state-empty": Case("snapshot", lambda d, p: _write(d, "s.json", ""), PLAN_STATE, "not JSON"),
    "state-too-large": Case("snapshot", lambda d, p: _sparse(d, "s.json", MAX_JSON_BYTES + 1), PLAN_STATE, "too large"),
    "state-lone-surrogate": Case("snapshot", lambda d, p: _write(d, "s.json", {**_state(), "observed_at": "2026-11-22T18:00:00Z\udfff"}), PLAN_STATE, "lone UTF-16 surrogate"),
    "state-tenant-not-utf8": Case("snapshot", lambda d, p: _write(d, "t.json", b"\x80"), STATE_TENANT, "not UTF-8 text"),
    # ---- apply journals
    "journal-not-utf8": Case("journal", lambda d, p: _write(d, "journal.json", b"\xfe\xff{}"), ROLLBACK, "not UTF-8 text"),
    "journal-deep": Case("journal", lambda d, p: _write(d, "journal.json", DEEP), ROLLBACK, "nest deeper than 64 levels"),
    "journal-deep-image": Case("journal", _journal_with(before_image={"kind": "x", "a": json.loads(SHALLOW_BUT_TOO_DEEP)}), ROLLBACK, "nest deeper than 64 levels"),
    "journal-huge-int": Case("journal", lambda d, p: _write(d, "journal.json", json.dumps(good_journal()).replace('"seq": 1', f'"seq": {HUGE}')), ROLLBACK, "a number with 50,000 digits"),
    "journal-bad-base64": Case("journal", _journal_with(before_image=_sd_image("not base64!")), ROLLBACK, "sd_base64 that is not valid base64"),
    "journal-bad-base64-padding": Case("journal", _journal_with(after_image=_sd_image("AQAEgA")), ROLLBACK, "sd_base64 that is not valid base64"),
    "journal-base64-not-sd": Case("journal", _journal_with(before_image=_sd_image(base64.b64encode(b"hello").decode())), ROLLBACK, "sd_base64 that is not a security descriptor"),
    "journal-sd-not-string": Case("journal", _journal_with(before_image=_sd_image(12)), ROLLBACK, "lacks sd_base64"),
    "journal-sd-missing": Case("journal", _journal_with(before_image={"kind": "security_descriptor"}), ROLLBACK, "lacks sd_base64"),
    "journal-membership-missing": Case("journal", _journal_with(before_image={"kind": "membership", "group_dn": "CN=G"}), ROLLBACK, "lacks member_dn"),
    "journal-missing-key": Case("journal", lambda d, p: _write(d, "journal.json", {k: v for k, v in good_journal().items() if k != "operation"}), ROLLBACK, "the first at operation"),
    "journal-entry-missing-seq": Case("journal", _journal_with(seq=None), ROLLBACK, "the first at entries.0.seq"),
    "journal-lone-surrogate": Case("journal", _journal_with(dn="OU=\ud800,DC=contoso,DC=test"), ROLLBACK, "lone UTF-16 surrogate"),
    "journal-truncated": Case("journal", lambda d, p: _write(d, "journal.json", json.dumps(good_journal())[:300]), ROLLBACK, "not JSON"),
    "journal-too-large": Case("journal", lambda d, p: _sparse(d, "journal.json", MAX_JSON_BYTES + 1), ROLLBACK, "too large"),
    # ---- CA files
    "ca-text": Case("ca", lambda d, p: _write(d, "ca.pem", "this is not a certificate\n"), CA, "without a PEM certificate"),
    "ca-empty": Case("ca", lambda d, p: _write(d, "ca.pem", ""), CA, "is empty"),
    "ca-binary": Case("ca", lambda d, p: _write(d, "ca.der", bytes(range(256)) * 4), CA, "binary, not a PEM certificate file"),
    "ca-broken-pem": Case("ca", lambda d, p: _write(d, "ca.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), CA, "holds no usable CA certificate"),
    "ca-private-key": Case("ca", lambda d, p: _write(d, "ca.pem", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"), CA, "holds no usable CA certificate"),
    "ca-missing": Case("ca", lambda d, p: d / "none.pem", CA, "does not exist"),
    "ca-directory": Case("ca", lambda d, p: d, CA, "cannot read the CA file"),
    "ca-too-large": Case("ca", lambda d, p: _sparse(d, "ca.pem", MAX_CA_FILE_BYTES + 1), CA, "too large"),
    "graph-ca-text": Case("ca", lambda d, p: _write(d, "ca.pem", "not a certificate\n"), GRAPH_CA, "cannot load the CA file", GRAPH_ENV),
    # ---- LDAP password files
    "password-not-utf8": Case("password", lambda d, p: _write(d, "pw", SECRET.encode() + b"\xff\n"), PASSWORD, "is not UTF-8 text"),
    "password-latin1": Case("password", lambda d, p: _write(d, "pw", "pässwörd\n".encode("latin-1")), PASSWORD, "is not UTF-8 text"),
    "password-empty": Case("password", lambda d, p: _write(d, "pw", ""), PASSWORD, "is empty"),
    "password-blank-first-line": Case("password", lambda d, p: _write(d, "pw", "\n" + SECRET + "\n"), PASSWORD, "the first line of"),
    "password-too-large": Case("password", lambda d, p: _sparse(d, "pw", MAX_PASSWORD_FILE_BYTES + 1), PASSWORD, "too large"),
    "password-directory": Case("password", lambda d, p: d, PASSWORD, "cannot read the LDAP password file"),
    # ---- policies
    "policy-not-utf8": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml().encode() + b"# \xff\n"), VALIDATE, "not UTF-8 text"),
    "policy-huge-int": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml().replace("version: 2.4.27.0", f"version: {HUGE}")), VALIDATE, "a number 50,000 characters long"),
    "policy-huge-hex": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml().replace("enabled: false ", "enabled: 0x" + "f" * 50_000 + " ", 1)), PLAN_POLICY, "a number 50,002 characters long"),
    "policy-huge-extra-key": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml() + f"extra: {HUGE}\n"), VALIDATE, "a number 50,000 characters long"),
    "policy-lone-surrogate": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml().replace("owner: identity-team@contoso.test", 'owner: "team\\ud800"')), VALIDATE, "UTF-16 surrogate"),
    "policy-deep": Case("policy", lambda d, p: _write(d, "p.yaml", "a: " + DEEP + "\n"), VALIDATE, "nests lists or mappings too deeply"),
    "policy-over-limit": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml() + "#" * MAX_POLICY_BYTES), PLAN_POLICY, "the file is too large"),
    "policy-long-string": Case("policy", lambda d, p: _write(d, "p.yaml", _example_yaml().replace("forest: contoso.test", "forest: " + "x" * 500_000)), VALIDATE, "forest: invalid value"),
}
# fmt: on

SECRETS = (SECRET, HUGE[:100], "x" * 300, "f" * 300)
"""Nothing of these may be echoed: the password, and a bad value longer than a message needs."""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run inside an empty folder (a refresh that got through would write there)."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "files"
    folder.mkdir()
    yield folder


def test_the_corpus_covers_every_kind_of_file() -> None:
    kinds = {c.kind for c in CASES.values()}
    assert kinds == {"plan", "snapshot", "journal", "ca", "password", "policy"}
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_file_gets_one_line_naming_it_and_the_problem(
    name: str, in_tmp: Path, good_plan: dict[str, object]
) -> None:
    case = CASES[name]
    path = case.make(in_tmp, good_plan)
    args = [str(path) if a == "{}" else a for a in case.command]
    env = {**dict(case.env)}
    if case.kind == "ca":
        env["WBPLAN_LDAP_PASSWORD"] = SECRET
    started = time.monotonic()
    out = wbplan(*args, env=env)
    assert out.exit_code == 1, out.text
    assert "internal error" not in out.text
    assert "Traceback" not in out.text
    for secret in SECRETS:
        assert secret not in out.text, f"{name} echoed {secret[:20]}…"
    naming = [line for line in out.text.splitlines() if str(path) in line and case.says in line]
    assert naming, f"no line names {path} and says {case.says!r}:\n{out.text}"
    line = naming[0]
    assert line.startswith(("Error: ", f"{path}:")), line
    assert len(line) < 400, line
    assert not Path("never-written.json").exists()
    assert time.monotonic() - started < 30


def test_a_20_mb_policy_is_refused_by_the_size_limit_before_it_is_parsed(in_tmp: Path) -> None:
    """20 MB of comments took 150 s to parse before the limit; now only its size is read."""
    policy = in_tmp / "huge.yaml"
    comment = "# " + "x" * 77 + "\n"
    policy.write_text(_example_yaml() + comment * (20_000_000 // len(comment)), encoding="utf-8")
    started = time.monotonic()
    out = wbplan("validate", str(policy))
    elapsed = time.monotonic() - started
    assert out.exit_code == 1
    first = out.stdout.splitlines()[0]
    assert re.fullmatch(
        rf"{re.escape(str(policy))}:1:1: error\[WBP000\] the file is too large: 19\.1 MiB "
        r"\(20,0\d\d,\d{3} bytes\); a policy is at most 1 MiB",
        first,
    ), first
    assert elapsed < 10, f"refusing a 20 MB policy took {elapsed:.1f} s"
    planned = wbplan("plan", "--policy", str(policy), "--state", str(EXAMPLE_STATE))
    assert planned.exit_code == 1 and "a policy is at most 1 MiB" in planned.stderr


def test_a_policy_just_under_the_limit_is_read_and_comments_are_linear(in_tmp: Path) -> None:
    """A policy of 1 MiB of comment lines still validates (the YAML reader no longer gathers
    comments, which was quadratic in their number)."""
    policy = in_tmp / "big.yaml"
    text = _example_yaml()
    policy.write_text(text + "#\n" * ((MAX_POLICY_BYTES - len(text.encode())) // 2), "utf-8")
    assert policy.stat().st_size <= MAX_POLICY_BYTES
    started = time.monotonic()
    out = wbplan("validate", str(policy))
    assert out.exit_code == 0, out.text
    assert time.monotonic() - started < 20


def test_a_world_readable_password_file_is_used_with_a_warning(tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o644)
    out = wbplan_process(
        "refresh", "--policy", str(EXAMPLE_POLICY), "--out", str(tmp_path / "s.json"),
        "--ldap-url", UNREACHABLE, "--ldap-password-file", str(secret_file),
        env={"WBPLAN_LDAP_USER": "CONTOSO\\reader"},
    )  # fmt: skip
    assert out.exit_code == 1  # nothing listens at UNREACHABLE
    warning = f"{secret_file} is readable by every user of this machine (mode 0644): chmod 600 it"
    assert warning in out.stderr
    assert "cannot reach the DC" in out.stderr
    assert SECRET not in out.text and "Traceback" not in out.text
    secret_file.chmod(0o600)
    quiet = wbplan_process(
        "refresh", "--policy", str(EXAMPLE_POLICY), "--out", str(tmp_path / "s.json"),
        "--ldap-url", UNREACHABLE, "--ldap-password-file", str(secret_file),
        env={"WBPLAN_LDAP_USER": "CONTOSO\\reader"},
    )  # fmt: skip
    assert "readable by every user" not in quiet.stderr


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        (("--ldap-url", f"ldaps://admin:{SECRET}@dc1.contoso.test"), {}, "--ldap-url must not carry credentials: ldaps://***@dc1.contoso.test"),
        ((), {"WBPLAN_LDAP_URL": f"ldap://CONTOSO%5Cadmin:{SECRET}@10.0.0.1:389"}, "WBPLAN_LDAP_URL must not carry credentials: ldap://***@10.0.0.1:389"),
        (("--ldap-url", f"ldaps://admin:{SECRET}/x@dc1:bad-port"), {}, "--ldap-url must not carry credentials: ldaps://***@dc1:bad-port"),
        (("--graph-url", f"https://admin:{SECRET}@graph.contoso.test/v1.0"), {}, "--graph-url must not carry credentials: https://***@graph.contoso.test/v1.0"),
        ((), {"WBPLAN_GRAPH_URL": f"http://admin:{SECRET}@graph.contoso.test"}, "WBPLAN_GRAPH_URL must not carry credentials: http://***@graph.contoso.test"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["plan", "check", "refresh"])
def test_credentials_in_a_url_are_refused_and_never_echoed(
    command: str, args: tuple[str, ...], env: dict[str, str], shown: str, tmp_path: Path
) -> None:
    out = wbplan(command, "--policy", str(EXAMPLE_POLICY), *args, env=env)
    assert out.exit_code == 1, out.text
    assert f"Error: {shown}" in out.stderr
    assert SECRET not in out.text
    assert "internal error" not in out.text


def test_a_url_that_is_not_an_ldap_url_is_named_without_its_credentials() -> None:
    from planner.errors import LdapConnectError
    from planner.observe.ldapopts import parse_ldap_url

    with pytest.raises(LdapConnectError) as info:
        parse_ldap_url(f"ftp://admin:{SECRET}@dc1")
    assert SECRET not in str(info.value) and "ftp://***@dc1" in str(info.value)
