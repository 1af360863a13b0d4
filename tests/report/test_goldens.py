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
