"""``wbplan check`` end to end: every report format compared with its golden file, the JSON and
SARIF validated against their schemas, the JUnit against a JUnit XSD, and the exit codes.

Goldens come from real reports: the shipped example (``wbplan check`` with no options) and plan
scenario inputs (``harness.py``). Regenerate with ``python -m tests.report.regen`` and review
the diff. The tests after the goldens state what the cases are about, so a regenerated golden
that silently changed the meaning still fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from planner.schemas import generated_schemas, render_schema, validate_document
from tests.report.harness import (
    CASES,
    FILES,
    GOLDEN_DIR,
    PLAN_SCENARIOS,
    REPO,
    case_folder,
    check_args,
    outputs,
    wbplan,
)

SCHEMAS = Path(__file__).resolve().parent / "schemas"
REGEN = "python -m tests.report.regen"


def golden(case: str, name: str) -> str:
    return (GOLDEN_DIR / case / name).read_text(encoding="utf-8")


def golden_json(case: str, name: str = "report.json") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(golden(case, name))
    return doc


def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    v: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return v


def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "junit-10.xsd")))


# --------------------------------------------------------------------------------------------
# goldens


@pytest.mark.parametrize("case", CASES)
def test_every_format_matches_its_golden(case: str) -> None:
    expected = outputs(case)
    for name, text in expected.items():
        path = GOLDEN_DIR / case / name
        assert path.is_file(), f"{path} is missing; run {REGEN}"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale; run {REGEN}"


def test_golden_folders_are_exactly_the_cases() -> None:
    assert sorted(p.name for p in GOLDEN_DIR.iterdir() if p.is_dir()) == sorted(CASES)
    for case in CASES:
        names = {p.name for p in (GOLDEN_DIR / case).iterdir()}
        assert names == {*FILES.values(), "exit.txt"}, case


def test_report_schema_is_generated_from_the_model() -> None:
    text = render_schema(generated_schemas()["report.schema.json"])
    assert (REPO / "schemas" / "report.schema.json").read_text("utf-8") == text, (
        "schemas/report.schema.json is stale; run python -m planner.schemas --write"
    )


@pytest.mark.parametrize("case", CASES)
def test_json_report_is_schema_valid_and_carries_every_finding_field(case: str) -> None:
    doc = golden_json(case)
    assert validate_document("report", doc) == []
    assert doc["findings"], case
    for finding in doc["findings"]:
        for key in ("rule_id", "criticality", "status", "address", "message", "evidence"):
            assert key in finding, (case, key)
        assert "remediation" in finding


def test_json_schema_rejects_a_broken_report() -> None:
    doc = golden_json("example")
    doc["findings"][0]["status"] = "maybe"
    del doc["summary"]
    errors = validate_document("report", doc)
    assert any(e.startswith("findings[0].status") for e in errors), errors
    assert any("'summary' is a required property" in e for e in errors), errors


@pytest.mark.parametrize("case", CASES)
def test_sarif_is_valid_sarif_2_1_0(case: str) -> None:
    doc = golden_json(case, "report.sarif")
    errors = sorted(sarif_validator().iter_errors(doc), key=str)
    assert not errors, errors[0]


def test_sarif_validation_catches_a_malformed_log() -> None:
    """The vendored schema really constrains (a negative control for the test above)."""
    doc = golden_json("example", "report.sarif")
    doc["runs"][0]["results"][0]["level"] = "fatal"
    doc["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] = "severe"
    assert len(list(sarif_validator().iter_errors(doc))) >= 2


@pytest.mark.parametrize("case", CASES)
def test_junit_is_valid_against_the_jenkins_xsd(case: str) -> None:
    schema = junit_schema()
    doc = etree.fromstring(golden(case, "report.junit.xml").encode("utf-8"))
    assert schema.validate(doc), schema.error_log


def test_junit_validation_catches_a_malformed_document() -> None:
    schema = junit_schema()
    doc = etree.fromstring(golden("example", "report.junit.xml").encode("utf-8"))
    suite = doc.find("testsuite")
    assert suite is not None
    del suite.attrib["tests"]  # required by the XSD
    etree.SubElement(suite.find("testcase"), "verdict")  # not a JUnit element
    assert not schema.validate(doc)


# --------------------------------------------------------------------------------------------
# what the cases are about


def statuses(case: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in golden_json(case)["findings"]:
        out.setdefault(f["rule_id"], set()).add(f["status"])
    return out


def test_example_has_shall_failures_and_a_waiver() -> None:
    doc = golden_json("example")
    assert doc["compliant"] is False
    assert doc["summary"]["shall_failed"] > 0
    assert doc["policy_file"] == "policies/example.yaml"
    assert doc["state_source"] == "state/example.json"
    assert "waived" in statuses("example")["WB-PWD-003"]
    assert golden("example", "exit.txt") == "2\n"


def test_fully_prepared_is_compliant_despite_unknowns() -> None:
    doc = golden_json("fully-prepared")
    assert doc["compliant"] is True
    assert doc["summary"]["fail"] == 0
    assert doc["summary"]["unknown"] > 0  # the SSPR toggle is never verifiable
    assert golden("fully-prepared", "exit.txt") == "0\n"


def test_schema_too_old_fails_the_device_schema_rule() -> None:
    assert statuses("schema-too-old")["WB-DEV-001"] == {"fail"}
    assert golden("schema-too-old", "exit.txt") == "2\n"


def test_tenant_not_observed_is_unknown_not_failed() -> None:
    doc = golden_json("tenant-not-observed")
    assert doc["summary"]["fail"] == 0 and doc["summary"]["unknown"] > 0
    assert "unknown" in statuses("tenant-not-observed")["WB-TEN-001"]
    assert golden("tenant-not-observed", "exit.txt") == "0\n"


def test_sarif_locates_results_on_the_declaring_policy_line() -> None:
    doc = golden_json("example", "report.sarif")
    policy = (REPO / "policies" / "example.yaml").read_text("utf-8").splitlines()
    results = doc["runs"][0]["results"]
    assert results
    for result in results:
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {
            "uri": "policies/example.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        line = policy[loc["region"]["startLine"] - 1]
        feature = result["properties"]["feature"]
        key = {"licence": "licences", "policy": "waivers"}.get(feature, feature)
        assert line.lstrip().startswith(f"{key}:"), (result["ruleId"], line)


@pytest.mark.parametrize("case", CASES)
def test_sarif_goldens_omit_waived_findings(case: str) -> None:
    """Waived findings are not SARIF results by default (GitHub ignores ``suppressions``)."""
    findings = golden_json(case)["findings"]
    run = golden_json(case, "report.sarif")["runs"][0]
    expected = [
        (f["rule_id"], f["address"]) for f in findings if f["status"] in ("fail", "unknown")
    ]
    got = [(r["ruleId"], r["properties"]["address"]) for r in run["results"]]
    assert got == expected
    assert all("suppressions" not in r for r in run["results"])
    assert run["properties"]["waivedResults"] == "omitted"
    waived = sum(1 for f in findings if f["status"] == "waived")
    assert run["properties"]["waivedFindings"] == waived
    if case == "example":
        assert waived > 0  # the example does have a waiver to leave out


@pytest.mark.parametrize("case", CASES)
def test_sarif_golden_line_hashes_are_unique_per_finding(case: str) -> None:
    results = golden_json(case, "report.sarif")["runs"][0]["results"]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert len(set(hashes)) == len(hashes)
    if case == "example":  # it has findings of one rule on one line, which GitHub would merge
        lines = Counter(
            (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
            for r in results
        )
        assert max(lines.values()) > 1


def test_text_ends_with_the_check_line() -> None:
    doc = golden_json("example")
    s = doc["summary"]
    last = golden("example", "report.txt").splitlines()[-1]
    assert last == (
        f"Check: {s['pass']} passed, {s['fail']} failed ({s['shall_failed']} SHALL), "
        f"{s['unknown']} unknown, {s['waived']} waived."
    )


# --------------------------------------------------------------------------------------------
# exit codes and options


FULLY = PLAN_SCENARIOS / "fully-prepared"


def scenario_copy(tmp_path: Path, waiver_expires: str | None) -> Path:
    """The fully-prepared inputs, optionally with one waiver expiring on ``waiver_expires``."""
    policy = (FULLY / "policy.yaml").read_text("utf-8")
    if waiver_expires is not None:
        policy += (
            "waivers:\n"
            "  - rule: WB-PWD-003\n"
            "    scope: OU=Staff,DC=contoso,DC=test\n"
            "    reason: test waiver\n"
            "    approved_by: ciso@contoso.test\n"
            f"    expires: {waiver_expires}\n"
        )
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "state.json").write_text((FULLY / "state.json").read_text("utf-8"), "utf-8")
    return tmp_path


def test_a_failing_should_rule_fails_only_with_fail_on_should(tmp_path: Path) -> None:
    folder = scenario_copy(tmp_path, "2026-12-01")  # within 30 days of TODAY: WB-WVR-002
    args = check_args("x", "json")
    default = wbplan(folder, *args)
    assert default.exit_code == 0, default.stderr
    doc = json.loads(default.stdout)
    failing = {(f["rule_id"], f["criticality"]) for f in doc["findings"] if f["status"] == "fail"}
    assert failing == {("WB-WVR-002", "SHOULD")}
    assert doc["compliant"] is True
    strict = wbplan(folder, *args, "--fail-on", "should")
    assert strict.exit_code == 2
    assert json.loads(strict.stdout)["compliant"] is False
    assert json.loads(strict.stdout)["fail_on"] == "should"


def test_an_expired_waiver_is_a_shall_failure(tmp_path: Path) -> None:
    folder = scenario_copy(tmp_path, "2026-01-31")
    run = wbplan(folder, *check_args("x", "json"))
    assert run.exit_code == 2
    doc = json.loads(run.stdout)
    assert {f["rule_id"] for f in doc["findings"] if f["status"] == "fail"} == {"WB-WVR-001"}


def test_waived_failures_do_not_fail_the_check(tmp_path: Path) -> None:
    """The example with every failing rule waived: compliant, exit 0, unknowns still shown."""
    first = json.loads(wbplan(REPO, *check_args("example", "json")).stdout)
    failing = sorted({f["rule_id"] for f in first["findings"] if f["status"] == "fail"})
    assert failing
    policy = (REPO / "policies" / "example.yaml").read_text("utf-8")
    assert policy.rstrip().endswith("the embedded default must not expire")  # waivers: last
    policy += "".join(
        f'  - rule: {rule}\n    scope: "*"\n    reason: accepted for the test\n'
        "    approved_by: ciso@contoso.test\n    expires: 2099-12-31\n"
        for rule in failing
    )
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    shutil.copyfile(REPO / "state" / "example.json", tmp_path / "state.json")
    run = wbplan(tmp_path, *check_args("x", "json"))
    doc = json.loads(run.stdout)
    assert run.exit_code == 0, [f for f in doc["findings"] if f["status"] == "fail"]
    assert doc["compliant"] is True
    assert doc["summary"]["fail"] == 0
    assert doc["summary"]["waived"] > len(failing)  # several addresses per rule
    assert doc["summary"]["unknown"] > 0


def test_output_writes_the_file_and_prints_the_check_line(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.sarif"
    target.parent.mkdir()
    run = wbplan(REPO, "check", "--format", "sarif", "-o", str(target))
    assert run.exit_code == 2
    assert run.stdout == ""
    assert f"Wrote {target}." in run.stderr
    assert golden("example", "report.txt").splitlines()[-1] in run.stderr
    doc = json.loads(target.read_text("utf-8"))
    assert doc["version"] == "2.1.0"
    assert not list(sarif_validator().iter_errors(doc))


def test_state_and_live_options_exclude_each_other() -> None:
    folder = case_folder("fully-prepared")
    run = wbplan(
        folder,
        *check_args("fully-prepared", "text"),
        "--ldap-url",
        "ldaps://127.0.0.1:1",
    )
    assert run.exit_code == 1
    assert "--state and live connection options exclude each other" in run.stderr


def test_an_explicit_policy_without_state_is_refused() -> None:
    run = wbplan(FULLY, "check", "--policy", "policy.yaml")
    assert run.exit_code == 1
    assert "no observed state" in run.stderr


# --------------------------------------------------------------------------------------------
# SARIF options: --sarif-waived, --sarif-root


def sarif_run(run: Any) -> dict[str, Any]:
    doc = json.loads(run.stdout)
    errors = sorted(sarif_validator().iter_errors(doc), key=str)
    assert not errors, errors[0]
    result: dict[str, Any] = doc["runs"][0]
    return result


def uris(run: dict[str, Any]) -> set[tuple[str, str | None]]:
    out = set()
    for result in run["results"]:
        loc = result["locations"][0]["physicalLocation"]["artifactLocation"]
        out.add((loc["uri"], loc.get("uriBaseId")))
    assert run["results"]
    return out


def test_sarif_waived_include_keeps_waivers_as_suppressed_results() -> None:
    default = sarif_run(wbplan(REPO, "check", "--format", "sarif"))
    assert [r for r in default["results"] if r["properties"]["status"] == "waived"] == []
    run = sarif_run(wbplan(REPO, "check", "--format", "sarif", "--sarif-waived", "include"))
    waived = [r for r in run["results"] if r["properties"]["status"] == "waived"]
    assert waived
    for result in waived:
        [suppression] = result["suppressions"]
        assert suppression["kind"] == "external" and suppression["status"] == "accepted"
        assert "approved by" in suppression["justification"]
    others = [r for r in run["results"] if r["properties"]["status"] != "waived"]
    assert others and all(r["suppressions"] == [] for r in others)
    assert len(run["results"]) == len(default["results"]) + len(waived)


def test_sarif_waived_refuses_an_unknown_mode() -> None:
    run = wbplan(REPO, "check", "--format", "sarif", "--sarif-waived", "hide")
    assert run.exit_code != 0
    assert "--sarif-waived" in run.stderr


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


@pytest.fixture
def no_outer_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """git does not look above ``tmp_path`` for a repository (in case the temp folder lies in
    one)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return tmp_path


def policy_in_subfolder(top: Path, *, git: bool) -> Path:
    """``top/config/prod/{policy,state}`` (the fully-prepared inputs) and an empty ``top/tools``;
    ``git init`` in ``top`` when ``git``. Returns ``top/tools``, where the check runs."""
    folder = top / "config" / "prod"
    folder.mkdir(parents=True)
    (top / "tools").mkdir()
    scenario_copy(folder, None)
    if git:
        subprocess.run(["git", "init", "-q", str(top)], check=True, capture_output=True)
    return top / "tools"


SUBFOLDER_ARGS = (
    "check",
    "--policy",
    "../config/prod/policy.yaml",
    "--state",
    "../config/prod/state.json",
    "--format",
    "sarif",
)


@needs_git
def test_sarif_uris_are_relative_to_the_git_top_level_from_another_subfolder(
    no_outer_repo: Path,
) -> None:
    tools = policy_in_subfolder(no_outer_repo / "repo", git=True)
    run = sarif_run(wbplan(tools, *SUBFOLDER_ARGS))
    assert uris(run) == {("config/prod/policy.yaml", "%SRCROOT%")}
    absolute = str(no_outer_repo / "repo" / "config" / "prod" / "policy.yaml")
    args = list(SUBFOLDER_ARGS)
    args[2] = absolute
    assert uris(sarif_run(wbplan(tools, *args))) == {("config/prod/policy.yaml", "%SRCROOT%")}
    for uri, _ in uris(run):
        assert not uri.startswith("../") and "/../" not in uri


@needs_git
def test_sarif_root_option_overrides_the_git_top_level(no_outer_repo: Path) -> None:
    top = no_outer_repo / "repo"
    tools = policy_in_subfolder(top, git=True)
    run = sarif_run(wbplan(tools, *SUBFOLDER_ARGS, "--sarif-root", "../config"))
    assert uris(run) == {("prod/policy.yaml", "%SRCROOT%")}
    # a policy outside the root: an absolute file URI, no base id, never "../config/…"
    outside = sarif_run(wbplan(tools, *SUBFOLDER_ARGS, "--sarif-root", "."))
    policy = (top / "config" / "prod" / "policy.yaml").resolve()
    assert uris(outside) == {(policy.as_uri(), None)}


def test_sarif_root_is_the_working_directory_outside_a_git_checkout(
    no_outer_repo: Path,
) -> None:
    top = no_outer_repo / "plain"
    tools = policy_in_subfolder(top, git=False)
    inside = sarif_run(
        wbplan(
            top,
            "check",
            "--policy",
            "config/prod/policy.yaml",
            "--state",
            "config/prod/state.json",
            "--format",
            "sarif",
        )
    )
    assert uris(inside) == {("config/prod/policy.yaml", "%SRCROOT%")}
    outside = sarif_run(wbplan(tools, *SUBFOLDER_ARGS))  # the policy is above the cwd
    policy = (top / "config" / "prod" / "policy.yaml").resolve()
    assert uris(outside) == {(policy.as_uri(), None)}
