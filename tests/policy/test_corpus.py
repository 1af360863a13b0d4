"""Golden tests of ``wbplan validate`` over the policy corpus (issue #2, "Done when").

Every case under ``invalid/`` must exit 1 with exactly its ``expected.txt`` on stdout, nothing on
stderr, no traceback, and diagnostics whose file:line:column point inside the file. ``CODES``
says which mistake each case is about, so a regenerated golden cannot quietly stop testing it.
Every case under ``valid/`` must exit 0 with a ``Valid:`` line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policy.corpus import (
    DIAGNOSTIC_LINE,
    GOLDEN,
    INVALID,
    REPO,
    VALID,
    Run,
    cases,
    policy_files,
    run_case,
    run_wbplan,
)

CODES: dict[str, set[str]] = {
    # YAML syntax and document shape
    "yaml-bad-indentation": {"WBP001"},
    "yaml-unclosed-quote": {"WBP001"},
    "yaml-tab-indentation": {"WBP001"},
    "yaml-unclosed-flow-sequence": {"WBP001"},
    "non-utf8-bytes": {"WBP001"},
    "duplicate-key-top-level": {"WBP002"},
    "duplicate-key-nested": {"WBP002"},
    "empty-file": {"WBP003"},
    "comments-only": {"WBP003"},
    "multiple-documents": {"WBP003"},
    "list-at-top-level": {"WBP003"},
    "scalar-at-top-level": {"WBP003"},
    "non-string-key": {"WBP003"},
    # shape (JSON Schema)
    "unknown-key-top-level": {"WBP010"},
    "unknown-key-nested": {"WBP010"},
    "unknown-key-typo": {"WBP010"},
    "wrong-type-string-for-bool": {"WBP011"},
    "wrong-type-mapping-for-list": {"WBP011"},
    "wrong-type-int-for-string": {"WBP011"},
    "wrong-type-null-for-mapping": {"WBP011"},
    "missing-tenant": {"WBP012"},
    "missing-connector-account": {"WBP012"},
    "missing-metadata-name": {"WBP012"},
    "missing-feature-enabled": {"WBP012"},
    "waiver-missing-reason": {"WBP012"},
    "wrong-api-version": {"WBP013"},
    "wrong-kind": {"WBP013"},
    "invalid-licence-name": {"WBP013"},
    "invalid-group-version-v3": {"WBP013"},
    "dn-not-a-dn": {"WBP014"},
    "invalid-tenant-guid": {"WBP014"},
    "invalid-dns-names": {"WBP014"},
    "invalid-connector-account": {"WBP014"},
    "invalid-waiver-rule-id": {"WBP014"},
    "invalid-waiver-date": {"WBP014"},
    "invalid-waiver-date-format": {"WBP014"},
    "duplicate-scope-entries": {"WBP015"},
    "empty-licence-list": {"WBP015"},
    # semantics
    "dn-no-equals": {"WBP020"},
    "dn-empty-value": {"WBP020"},
    "dn-dangling-escape": {"WBP020"},
    "waiver-scope-invalid-dn": {"WBP020"},
    "dn-outside-forest": {"WBP021"},
    "user-writeback-enabled": {"WBP030"},
    "group-v2": {"WBP031"},
    "device-writeback-other-forests": {"WBP032"},
    "device-writeback-two-files": {"WBP032"},
    "group-without-container": {"WBP033"},
    "remove-preparation-while-enabled": {"WBP034"},
    "waiver-unknown-rule": {"WBP042"},
    "device-domain-outside-forest": {"WBP035"},
    "same-forest-two-files": {"WBP050"},
    # Cloud Sync (cloud_sync)
    "cloud-sync-duplicate-domain": {"WBP060"},
    "cloud-sync-too-many-domains": {"WBP061"},
    "cloud-sync-too-many-domains-two-files": {"WBP061"},
    "cloud-sync-group-v2": {"WBP031", "WBP062"},
    "cloud-sync-password-both-engines": {"WBP063"},
    "cloud-sync-password-both-engines-default-scope": {"WBP063"},
    "cloud-sync-exchange-both-engines": {"WBP063"},
    "cloud-sync-target-ou-other-domain": {"WBP064"},
    "cloud-sync-target-ou-invalid-dn": {"WBP020"},
    "cloud-sync-migration-ou-other-domain": {"WBP067"},
    "cloud-sync-migration-ou-invalid-dn": {"WBP020"},
    "cloud-sync-migration-without-ou": {"WBP012"},
    "connect-feature-without-connector": {"WBP036"},
    "cloud-sync-gmsa-without-dollar": {"WBP065"},
    "cloud-sync-gmsa-without-domain": {"WBP065"},
    "cloud-sync-domain-outside-forest": {"WBP066"},
    "cloud-sync-unknown-key": {"WBP010"},
    "cloud-sync-invalid-group-scope": {"WBP013"},
    "cloud-sync-missing-target-ous": {"WBP012"},
    "cloud-sync-empty-domains": {"WBP015"},
    # everything at once: every check must still report
    "many-mistakes": {
        "WBP010",
        "WBP011",
        "WBP012",
        "WBP013",
        "WBP014",
        "WBP021",
        "WBP030",
        "WBP031",
        "WBP032",
        "WBP035",
        "WBP060",
        "WBP062",
        "WBP064",
        "WBP065",
    },
}

INVALID_CASES = cases(INVALID)
VALID_CASES = cases(VALID)


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _diagnostic_heads(stdout: str) -> list[dict[str, str]]:
    """The ``file:line:col: severity[CODE]`` head of every diagnostic, parsed."""
    heads = []
    for line in stdout.splitlines():
        m = DIAGNOSTIC_LINE.match(line)
        if m:
            heads.append(m.groupdict())
    return heads


def _assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stdout
    assert "Traceback" not in run.stderr


def _assert_positions_inside_files(case: Path, run: Run) -> None:
    """Every diagnostic names a policy file of the case and a line/column that exists in it
    (column ≤ line length + 1: a position just past the text is where a missing thing goes)."""
    for head in _diagnostic_heads(run.stdout):
        assert head["file"] in policy_files(case), head
        lines = (case / head["file"]).read_bytes().split(b"\n")
        line, column = int(head["line"]), int(head["column"])
        assert 1 <= line <= len(lines), head
        text = lines[line - 1].decode("utf-8", errors="replace")
        assert 1 <= column <= len(text) + 1, head


def test_corpus_is_large_enough_and_every_case_is_classified() -> None:
    assert len(INVALID_CASES) >= 30
    assert set(_ids(INVALID_CASES)) == set(CODES)
    for case in [*INVALID_CASES, *VALID_CASES]:
        assert policy_files(case), f"{case.name} holds no policy file"
        assert (case / GOLDEN).is_file(), (
            f"{case.name} has no {GOLDEN}; run python -m tests.policy.regen"
        )


@pytest.mark.parametrize("case", INVALID_CASES, ids=_ids(INVALID_CASES))
def test_invalid_policy_matches_golden(case: Path) -> None:
    run = run_case(case)
    _assert_no_traceback(run)
    assert run.stderr == ""
    assert run.exit_code == 1
    assert run.stdout == (case / GOLDEN).read_text(encoding="utf-8")
    heads = _diagnostic_heads(run.stdout)
    assert heads, "an invalid policy must print at least one diagnostic"
    assert {h["code"] for h in heads if h["severity"] == "error"} == CODES[case.name]
    _assert_positions_inside_files(case, run)
    n_errors = sum(h["severity"] == "error" for h in heads)
    assert run.stdout.rstrip("\n").endswith(
        f"{n_errors} error(s), {len(heads) - n_errors} warning(s). The policy is not valid."
    )


@pytest.mark.parametrize("case", VALID_CASES, ids=_ids(VALID_CASES))
def test_valid_policy_matches_golden(case: Path) -> None:
    run = run_case(case)
    _assert_no_traceback(run)
    assert run.stderr == ""
    assert run.exit_code == 0
    assert run.stdout == (case / GOLDEN).read_text(encoding="utf-8")
    assert run.stdout.splitlines()[-1].startswith(f"Valid: {', '.join(policy_files(case))}")
    assert all(h["severity"] == "warning" for h in _diagnostic_heads(run.stdout))
    _assert_positions_inside_files(case, run)


def test_waiver_expiring_soon_is_a_warning_not_an_error() -> None:
    run = run_case(VALID / "waiver-expiring-soon")
    assert run.exit_code == 0
    heads = _diagnostic_heads(run.stdout)
    assert [(h["severity"], h["code"]) for h in heads] == [("warning", "WBP041")]
    assert "expires in 9 day(s)" in run.stdout
    assert run.stdout.splitlines()[-1] == "Valid: policy.yaml (1 warning(s))."


def test_expired_waiver_is_a_warning_so_check_can_report_it() -> None:
    run = run_case(VALID / "waiver-expired")
    assert run.exit_code == 0
    heads = _diagnostic_heads(run.stdout)
    assert [(h["severity"], h["code"]) for h in heads] == [("warning", "WBP040")]
    assert "expired on 2026-10-31" in run.stdout
    assert "WB-WVR-001" in run.stdout
    assert run.stdout.splitlines()[-1] == "Valid: policy.yaml (1 warning(s))."


def test_waiver_for_a_rule_that_does_not_exist_is_an_error_at_the_rule() -> None:
    run = run_case(INVALID / "waiver-unknown-rule")
    assert run.exit_code == 1
    assert run.stdout.startswith(
        "policy.yaml:18:11: error[WBP042] waivers[0].rule: waiver for WB-PWD-999, which is not "
        "a wbplan rule: it would waive nothing\n"
    )
    assert "found:    'WB-PWD-999'" in run.stdout


def test_waiver_for_a_rule_of_a_disabled_feature_is_a_warning() -> None:
    run = run_case(VALID / "waiver-disabled-feature")
    assert run.exit_code == 0
    heads = _diagnostic_heads(run.stdout)
    assert [(h["severity"], h["code"], h["line"]) for h in heads] == [("warning", "WBP043", "20")]
    assert (
        "waiver for WB-GRP-001 has no effect: it is a group rule and writeback.group is not "
        "enabled in this policy" in run.stdout
    )
    assert run.stdout.splitlines()[-1] == "Valid: policy.yaml (1 warning(s))."


def test_shipped_example_is_valid() -> None:
    run = run_wbplan(["validate", "policies/example.yaml"], cwd=REPO)
    _assert_no_traceback(run)
    assert (run.exit_code, run.stdout, run.stderr) == (0, "Valid: policies/example.yaml.\n", "")
