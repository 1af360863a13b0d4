"""Report renderers on reports built by hand (``samples.py``) for what real rule output may not
produce: every status at once, a rule error, markup in every field, hundreds of findings. Also
the check command's helpers (exit codes, policy lines)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from planner.cli.check_cmd import exit_code, policy_lines
from planner.policy.loader import load_policies
from planner.render.report_common import summary_line
from planner.render.report_html import render_html
from planner.render.report_json import render_json
from planner.render.report_junit import render_junit
from planner.render.report_markdown import render_markdown
from planner.render.report_sarif import (
    FINGERPRINT_KEY,
    LINE_HASH_KEY,
    SRCROOT,
    WaivedMode,
    artifact_location,
    fingerprint,
    line_hash,
    render_sarif,
)
from planner.render.report_text import render_text
from planner.schemas import validate_document
from tests.report.samples import NASTY, every_status, many_findings, report_of
from tests.report.test_goldens import junit_schema, sarif_validator

REPO = Path(__file__).resolve().parent.parent.parent


# --------------------------------------------------------------------------------------------
# JSON


def test_json_of_every_status_is_schema_valid() -> None:
    doc = json.loads(render_json(every_status()))
    assert validate_document("report", doc) == []
    assert doc["summary"]["pass"] == 1  # the alias, as the schema names it
    assert [f["status"] for f in doc["findings"]] == ["error", "fail", "waived", "unknown", "pass"]


# --------------------------------------------------------------------------------------------
# SARIF


def sarif_of_every_status(waived: WaivedMode = "omit") -> dict[str, object]:
    doc: dict[str, object] = json.loads(render_sarif(every_status(), waived=waived))
    assert not list(sarif_validator().iter_errors(doc))
    return doc


def test_sarif_results_levels_and_rule_errors() -> None:
    run = sarif_of_every_status()["runs"][0]  # type: ignore[index]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"WB-PWD-001", "WB-PWD-005"}  # no pass, no error, no waived
    assert by_rule["WB-PWD-001"]["level"] == "error"  # SHALL
    unknown = by_rule["WB-PWD-005"]
    assert unknown["level"] == "note"
    assert "Verify at: Entra admin center" in unknown["message"]["text"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["associatedRule"]["id"] == "WB-GRP-001"
    assert note["level"] == "error"


def test_sarif_omits_waived_findings_by_default() -> None:
    """GitHub ignores ``suppressions``: a waived result would be an open alert."""
    run = sarif_of_every_status()["runs"][0]  # type: ignore[index]
    assert every_status().summary.waived == 1  # the report has one
    assert all(r["properties"]["status"] != "waived" for r in run["results"])
    assert all("suppressions" not in r for r in run["results"])
    assert run["properties"]["waivedResults"] == "omitted"
    assert run["properties"]["waivedFindings"] == 1


def test_sarif_includes_waived_findings_as_suppressed_results_on_request() -> None:
    run = sarif_of_every_status("include")["runs"][0]  # type: ignore[index]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"WB-PWD-001", "WB-PWD-003", "WB-PWD-005"}
    waived = by_rule["WB-PWD-003"]
    assert waived["level"] == "warning"  # SHOULD
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "Tier-0 administrators reset passwords on-premises only. "
            "(approved by ciso@contoso.test, expires 2099-12-31; scope "
            "OU=Admins,OU=Staff,DC=contoso,DC=test)",
        }
    ]
    # SARIF: suppressions on every result of the run or on none
    assert by_rule["WB-PWD-001"]["suppressions"] == []
    assert by_rule["WB-PWD-005"]["suppressions"] == []
    assert run["properties"]["waivedResults"] == "included"


def test_sarif_refuses_an_unknown_waived_mode() -> None:
    with pytest.raises(ValueError, match="waived must be one of"):
        render_sarif(every_status(), waived="hide")  # type: ignore[arg-type]


def test_sarif_rules_carry_help_and_default_levels() -> None:
    driver = sarif_of_every_status()["runs"][0]["tool"]["driver"]  # type: ignore[index]
    assert driver["name"] == "wbplan"
    rules = {r["id"]: r for r in driver["rules"]}
    assert rules["WB-PWD-001"]["defaultConfiguration"]["level"] == "error"
    assert rules["WB-PWD-003"]["defaultConfiguration"]["level"] == "warning"
    assert rules["WB-PWD-001"]["name"] == "ConnectorCanResetPasswordsUnderEachScopeRoot"
    assert "Remediation: Grant Reset Password" in rules["WB-PWD-001"]["help"]["text"]
    assert "**Remediation:**" in rules["WB-PWD-001"]["help"]["markdown"]
    for result in sarif_of_every_status()["runs"][0]["results"]:  # type: ignore[index]
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_locations_use_policy_lines_and_stable_fingerprints() -> None:
    run = sarif_of_every_status()["runs"][0]  # type: ignore[index]
    fail = next(r for r in run["results"] if r["ruleId"] == "WB-PWD-001")
    location = fail["locations"][0]
    assert location["physicalLocation"]["region"] == {"startLine": 20}  # policy_lines["password"]
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "ad.object[OU=Staff,DC=contoso,DC=test]"
    )
    expected = fingerprint("WB-PWD-001", "ad.object[OU=Staff,DC=contoso,DC=test]")
    assert fail["partialFingerprints"] == {
        FINGERPRINT_KEY: expected,
        LINE_HASH_KEY: f"{expected}:1",
    }
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert expected != fingerprint("WB-PWD-001", "ad.object[OU=Other,DC=contoso,DC=test]")
    assert expected != fingerprint("WB-PWD-002", "ad.object[OU=Staff,DC=contoso,DC=test]")


def test_sarif_uri_of_a_policy_outside_the_checkout_is_absolute() -> None:
    report = every_status().model_copy(update={"policy_file": "/opt/wbplan/example policy.yaml"})
    doc = json.loads(render_sarif(report))
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "file:///opt/wbplan/example%20policy.yaml"}
    assert not list(sarif_validator().iter_errors(doc))


def test_sarif_uri_never_climbs_out_with_dot_dot() -> None:
    """A report naming its policy ``../…`` (``--policy ../p.yaml``) gets an absolute URI."""
    report = every_status().model_copy(update={"policy_file": "../elsewhere/policy.yaml"})
    doc = json.loads(render_sarif(report))
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    expected = (Path.cwd().parent / "elsewhere" / "policy.yaml").as_uri()
    assert loc == {"uri": expected}
    assert not list(sarif_validator().iter_errors(doc))


def test_artifact_location_is_relative_to_the_root_or_absolute(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "policies").mkdir(parents=True)
    inside = root / "policies" / "prod policy.yaml"
    assert artifact_location(inside, root) == {
        "uri": "policies/prod%20policy.yaml",
        "uriBaseId": SRCROOT,
    }
    # named through "..", still inside the root once normalised
    assert artifact_location(root / "policies" / ".." / "policies" / "p.yaml", root) == {
        "uri": "policies/p.yaml",
        "uriBaseId": SRCROOT,
    }
    outside = tmp_path / "other" / "p.yaml"
    assert artifact_location(outside, root) == {"uri": outside.as_uri()}
    # the root as git prints it (symlinks resolved) while the policy is named through a link
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    assert artifact_location(link / "policies" / "p.yaml", root.resolve()) == {
        "uri": "policies/p.yaml",
        "uriBaseId": SRCROOT,
    }


def test_sarif_line_hash_differs_per_finding_on_one_policy_line() -> None:
    """GitHub builds alerts from ``primaryLocationLineHash``; computed from the line's text it
    would be one value for all three findings, and they would collapse into one alert."""
    report = many_findings(3)
    results = json.loads(render_sarif(report))["runs"][0]["results"]
    assert len(results) == 3
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results}
    assert lines == {20}  # one rule, one policy line
    hashes = [r["partialFingerprints"][LINE_HASH_KEY] for r in results]
    assert len(set(hashes)) == 3
    for result, finding in zip(results, report.findings, strict=True):
        assert (
            result["partialFingerprints"][LINE_HASH_KEY]
            == f"{fingerprint(finding.rule_id, finding.address)}:1"
        )
        assert re.fullmatch(r"[0-9a-f]{64}:1", result["partialFingerprints"][LINE_HASH_KEY])


def test_sarif_line_hash_counts_a_repeated_rule_and_address() -> None:
    one = many_findings(1).findings[0]
    report = report_of((one, one), compliant=False)
    results = json.loads(render_sarif(report))["runs"][0]["results"]
    hashes = [r["partialFingerprints"][LINE_HASH_KEY] for r in results]
    assert hashes == [
        line_hash(one.rule_id, one.address, 1),
        line_hash(one.rule_id, one.address, 2),
    ]
    assert hashes[0] != hashes[1]


def test_sarif_information_uri_only_from_the_declared_project_urls() -> None:
    """No link that points nowhere: ``informationUri`` only if pyproject declares a URL."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    urls = set(project.get("urls", {}).values())
    driver = sarif_of_every_status()["runs"][0]["tool"]["driver"]  # type: ignore[index]
    if urls:
        assert driver["informationUri"] in urls
    else:
        assert "informationUri" not in driver
    assert "wbplan.dev/" not in render_sarif(every_status())


# --------------------------------------------------------------------------------------------
# JUnit


def test_junit_testcases_per_finding_with_failure_skipped_error() -> None:
    text = render_junit(every_status())
    root = ET.fromstring(text)
    assert junit_schema().validate(__import__("lxml.etree").etree.fromstring(text.encode()))
    assert root.attrib["tests"] == "5"
    assert root.attrib["failures"] == "1" and root.attrib["errors"] == "1"
    cases = {c.attrib["name"]: c for c in root.iter("testcase")}
    fail = cases["WB-PWD-001 ad.object[OU=Staff,DC=contoso,DC=test]"]
    assert fail.attrib["classname"] == "WB-PWD-001"
    failure = fail.find("failure")
    assert failure is not None and failure.attrib["type"] == "SHALL"
    assert NASTY in failure.attrib["message"]  # escaped on the wire, intact when parsed
    assert '"missing"' in (failure.text or "")  # the evidence
    waived = cases["WB-PWD-003 ad.object[OU=Admins,OU=Staff,DC=contoso,DC=test]"].find("skipped")
    assert waived is not None and waived.attrib["message"].startswith("waived: Tier-0")
    assert "expires 2099-12-31" in waived.attrib["message"]
    unknown = cases["WB-PWD-005 tenant.feature[sspr-onprem-writeback]"].find("skipped")
    assert unknown is not None and "verify at: Entra admin center" in unknown.attrib["message"]
    assert cases["WB-GRP-001 ad.schema[contoso.test]"].find("error") is not None
    passed = cases["WB-TEN-001 tenant.organization[7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b]"]
    assert list(passed) == []
    suites = {s.attrib["name"].split(" ")[0]: s.attrib for s in root.iter("testsuite")}
    assert suites["password"]["tests"] == "3"
    assert suites["password"]["failures"] == "1" and suites["password"]["skipped"] == "2"
    assert suites["group"]["errors"] == "1"


# --------------------------------------------------------------------------------------------
# Markdown


def test_markdown_summary_table_first_then_details_per_feature() -> None:
    md = render_markdown(every_status())
    table = md.index("| passed | failed | SHALL failed | SHOULD failed |")
    assert table < md.index("<details")
    assert "| 1 | 1 | 1 | 0 | 1 | 1 | 1 | no |" in md
    assert "<details open><summary><b>Password writeback</b>" in md
    assert "<details><summary><b>Tenant and directory synchronisation</b>" in md  # passes only
    assert md.count("<details") == md.count("</details>")
    outside_code = re.sub(r"(`+)(.+?)\1", "", md)
    assert "<script>" in md and "<script>" not in outside_code  # inert: only in code spans
    assert "&lt;script&gt;" in outside_code  # prose escaped
    assert md.endswith(summary_line(every_status()) + "\n")


def test_markdown_stays_under_the_limit_with_a_pointer() -> None:
    report = many_findings(600)
    full = render_markdown(report, limit=10_000_000)
    assert len(full) > 65_000
    md = render_markdown(report)
    assert len(md) <= 65_000
    match = re.search(r"Output truncated:\*\* (\d+) finding\(s\) not shown", md)
    assert match, md[-500:]
    shown = md.count("- ❌ **fail**")
    assert shown > 0 and int(match.group(1)) == 600 - shown
    assert "| 0 | 600 | 600 | 0 |" in md
    assert md.endswith(summary_line(report) + "\n")
    assert md.count("<details") == md.count("</details>")


def test_markdown_folds_passes_into_a_count_before_cutting_failures() -> None:
    fail = many_findings(1).findings[0]
    passes = tuple(
        fail.model_copy(update={"status": "pass", "address": f"ad.object[OU=P{i:04d}]"})
        for i in range(700)
    )
    report = report_of((fail, *passes), compliant=False)
    md = render_markdown(report)
    assert len(md) <= 65_000
    assert "Output truncated" not in md
    assert "- ✅ 700 passed (listed in the JSON report)" in md
    assert fail.address in md


# --------------------------------------------------------------------------------------------
# HTML


def test_html_is_self_contained_and_escapes_everything() -> None:
    html = render_html(every_status())
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count("<details") == html.count("</details>")


def test_html_orders_failures_first_and_shows_waiver_and_verify_at() -> None:
    html = render_html(every_status())
    password = html[html.index('id="feature-password"') :]
    order = [password.index(f'class="finding {s}"') for s in ("fail", "unknown", "waived")]
    assert order == sorted(order)
    assert "Approved by ciso@contoso.test · expires <time>2099-12-31</time>" in html
    assert "<b>Verify by hand</b>Entra admin center &gt; Protection" in html
    assert "<details><summary>Evidence</summary><pre>" in html
    assert '<details class="passed"><summary>1 passed</summary>' in html
    # features with a failure or an error come before features that only pass
    assert html.index('id="feature-group"') < html.index('id="feature-tenant"')


# --------------------------------------------------------------------------------------------
# text


def test_text_colours_only_when_asked() -> None:
    report = every_status()
    plain = render_text(report)
    assert "\x1b[" not in plain
    coloured = render_text(report, color=True)
    assert "\x1b[31mFAIL" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    assert plain.endswith("Check: 1 passed, 1 failed (1 SHALL), 1 unknown, 1 waived, 1 errored.\n")


# --------------------------------------------------------------------------------------------
# the check command's helpers


@pytest.mark.parametrize(
    ("compliant", "errors", "code"),
    [(True, 0, 0), (False, 0, 2), (False, 1, 1)],
)
def test_exit_code(compliant: bool, errors: int, code: int) -> None:
    report = every_status()
    summary = report.summary.model_copy(update={"error": errors})
    assert exit_code(report.model_copy(update={"compliant": compliant, "summary": summary})) == code


def test_policy_lines_point_at_the_declaring_keys() -> None:
    loaded = load_policies([REPO / "policies" / "example.yaml"]).policies[0]
    text = (REPO / "policies" / "example.yaml").read_text("utf-8").splitlines()
    lines = policy_lines(
        loaded.marks, ["password", "group", "licence", "tenant", "policy", "ngc_keys"]
    )

    def at(line: int) -> str:
        return text[line - 1].strip()

    assert at(lines["password"]).startswith("password:")
    assert at(lines["group"]).startswith("group:")
    assert at(lines["licence"]).startswith("licences:")
    assert at(lines["tenant"]).startswith("tenant:")
    assert at(lines["policy"]).startswith("waivers:")
    assert at(lines["ngc_keys"]).startswith("writeback:")  # not declared: the writeback block
