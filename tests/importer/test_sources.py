"""``wbplan import --state-tenant FILE`` and ``--connect-evidence FILE|DIR``, accepted as ``plan``
and ``check`` accept them: the tenant (licences, flags, settings, Cloud Sync) comes from a tenant
snapshot while AD comes from ``--state``, and the Connect server's evidence settles its version
and its optional features. The comments name where each fact came from, and the imported policy
plans no change against the same sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.model.policy import Policy
from planner.policy.yamlmarks import parse_yaml
from tests.plan.harness import REPO, SCENARIOS_DIR, Run, wbplan

FULL = SCENARIOS_DIR / "fully-prepared" / "state.json"
EVIDENCE = REPO / "tests" / "connect" / "fixtures"
ALL = {"password", "device", "group", "exchange_hybrid", "ngc_keys", "hybrid_join"}


@pytest.fixture
def split(tmp_path: Path) -> Path:
    """The fully prepared snapshot as two files: ``ad.json`` (AD only) and ``tenant.json``
    (tenant only, as `wbplan refresh --tenant-only` writes it)."""
    doc = json.loads(FULL.read_text(encoding="utf-8"))
    (tmp_path / "ad.json").write_text(json.dumps({**doc, "tenant": None}), encoding="utf-8")
    (tmp_path / "tenant.json").write_text(json.dumps({**doc, "ad": None}), encoding="utf-8")
    return tmp_path


def _import(folder: Path, *args: str) -> Run:
    return wbplan(folder, "import", "--quiet", *args)


def _policy(run: Run) -> Policy:
    assert run.exit_code == 0, run.stderr
    parsed = parse_yaml(run.stdout, "imported.yaml")
    assert not parsed.diagnostics
    return Policy.model_validate(parsed.data)


def _features(policy: Policy) -> set[str]:
    return {f for f, v in policy.writeback if v is not None and f != "user"}


def _plans_no_change(folder: Path, text: str, *sources: str) -> None:
    (folder / "imported.yaml").write_text(text, encoding="utf-8")
    run = wbplan(folder, "plan", "--policy", "imported.yaml", *sources, "--detailed-exitcode")
    assert run.exit_code == 0, run.stdout + run.stderr


# ----------------------------------------------------------------------------- --state-tenant


def test_the_tenant_comes_from_the_tenant_snapshot(split: Path) -> None:
    both = _import(split, "--state", "ad.json", "--state-tenant", "tenant.json")
    policy = _policy(both)
    assert _features(policy) == ALL
    assert policy.tenant.id == "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    assert policy.tenant.domain == "contoso.onmicrosoft.com"
    text = both.stdout
    assert (
        "# id: the tenant Microsoft Graph answered for, in the tenant snapshot tenant.json" in text
    )
    licences = text.split("licences:", 1)[1].split("require:", 1)[0]
    assert "/subscribedSkus, in the tenant snapshot tenant.json" in " ".join(
        line.strip("# ") for line in licences.splitlines()
    )
    assert "as observed in ad.json + tenant tenant.json at" in " ".join(
        line.strip("# ") for line in text.splitlines()[:2]
    )
    _plans_no_change(split, text, "--state", "ad.json", "--state-tenant", "tenant.json")
    # what the tenant part decides: group writeback's new-group default is the tenant's
    # Group.Unified setting, which AD alone cannot show
    alone = _import(split, "--state", "ad.json").stdout
    assert "Group.Unified setting was not read" in alone
    assert "Group.Unified setting was not read" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--state", "ad.json", "--state-tenant", "tenant.json", "--graph-url", "https://g"],
            "--state-tenant and --graph-url exclude each other",
        ),
        (["--state", "ad.json", "--state-tenant", "ad.json"], "holds no tenant observation"),
        (["--state", "tenant.json", "--state-tenant", "tenant.json"], "holds no AD observation"),
        (
            ["--state", "ad.json", "--state-tenant", "tenant.json", "--max-state-age", "1d"],
            "older than --max-state-age 1d",
        ),
        (["--state", "ad.json", "--state-tenant", "missing.json"], "missing.json"),
    ],
)
def test_state_tenant_refusals(split: Path, args: list[str], message: str) -> None:
    run = _import(split, *args)
    assert run.exit_code == 1
    assert message in run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr


# ----------------------------------------------------------------------------- --connect-evidence


def test_the_connect_evidence_gives_the_version_and_checks_the_options(tmp_path: Path) -> None:
    evidence = str(EVIDENCE / "v2-collector.json")
    run = _import(FULL.parent, "--state", "state.json", "--connect-evidence", evidence)
    policy = _policy(run)
    assert _features(policy) == ALL
    assert policy.connect.version == "2.4.27.0"
    head, _, body = run.stdout.partition("apiVersion:")
    assert "connect.option[...]" not in head and "connect.version" not in head
    connect = body.split("\nconnect:\n", 1)[1].split("\nlicences:", 1)[0]
    assert "version: the installed build, from the Connect server SYNC01's evidence" in connect
    assert "v2-collector.json" in connect
    assert body.count(": enabled, per the Connect server's evidence") >= 4
    assert "connect.option[password-writeback]: enabled" in body
    # without the evidence the options stay unverifiable, and no version is written
    plain = _import(FULL.parent, "--state", "state.json").stdout
    assert "\nconnect:" not in plain and "connect.option[...]: whether" in plain
    target = tmp_path / "imported.yaml"
    target.write_text(run.stdout, encoding="utf-8")
    plan = wbplan(
        FULL.parent, "plan", "--policy", str(target), "--state", "state.json",
        "--connect-evidence", evidence, "--detailed-exitcode",
    )  # fmt: skip
    assert plan.exit_code == 0, plan.stdout + plan.stderr


def test_evidence_that_contradicts_the_forest_stops_the_features_it_concerns() -> None:
    """The same forest with evidence whose server signs in as another account: as for the
    snapshot that carries that evidence, nothing is imported."""
    mismatch = str(EVIDENCE / "v2-collector-mismatch.json")
    run = _import(FULL.parent, "--state", "state.json", "--connect-evidence", mismatch)
    assert _features(_policy(run)) == set()
    carried = _import(SCENARIOS_DIR / "connect-evidence-mismatch", "--state", "state.json")
    assert _features(_policy(carried)) == set()


def test_stale_evidence_is_named_and_not_used_unless_its_age_is_allowed() -> None:
    stale = str(EVIDENCE / "v2-collector-stale.json")
    run = _import(FULL.parent, "--state", "state.json", "--connect-evidence", stale)
    policy = _policy(run)
    assert policy.connect.version is None
    assert "# connect: the Connect server's evidence does not count (stale:" in run.stdout
    allowed = _import(
        FULL.parent, "--state", "state.json", "--connect-evidence", stale,
        "--max-evidence-age", "60d",
    )  # fmt: skip
    assert _policy(allowed).connect.version == "2.4.27.0"
