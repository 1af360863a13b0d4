"""The ``cloud_sync`` section (issue 18 §1): semantic corners the golden corpus does not pin, the
catalogue of diagnostic codes, and random mutations of a Cloud Sync policy.

The corpus (``invalid/cloud-sync-*``, ``valid/cloud-sync-*``) pins the messages; here each rule's
boundary is checked in-process through ``load_policies``: which Connect scopes serve which
domain, exactly 20 configurations, the case of domain names and DNs, and that every code
wbplan can report is catalogued with sources that exist.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from ruamel.yaml import YAML

from planner.policy.codes import CODE_INFO, CODES
from planner.policy.loader import load_policies
from planner.references import CATALOGUE
from tests.policy.corpus import GOLDEN, INVALID, REPO, VALID, cases, run_wbplan
from tests.policy.test_properties import PROFILE, _check, _dump, mutated_documents

TODAY = dt.date(2026, 11, 22)
BASE = """\
apiVersion: wbplan.dev/v1
kind: WritebackPolicy
metadata: {name: fabrikam-prod}
forest: fabrikam.test
tenant: {id: 3d7f1c2b-9a4e-4b8f-a1c6-5e2d0f9b7a13, domain: fabrikam.onmicrosoft.com}
connector: {account: "FABRIKAM\\\\MSOL_0a1b2c3d4e5f"}
"""


def _codes(text: str) -> list[str]:
    """Error codes of one policy text, in file order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(BASE + text, encoding="utf-8")
        result = load_policies([path], today=TODAY)
    return [d.code for d in result.errors]


def _domains(*names: str, feature: str = "password_writeback: true") -> str:
    lines = "".join(f"    - {{domain: {n}, {feature}}}\n" for n in names)
    return f"cloud_sync:\n  domains:\n{lines}"


# -- Connect and Cloud Sync for one domain -----------------------------------------------------


@pytest.mark.parametrize(
    ("writeback", "cloud_domain", "codes"),
    [
        # a scope root in the parent domain does not reach the child domain (and back)
        ("password: {enabled: true, scope: ['OU=Staff,DC=fabrikam,DC=test']}", "emea.fabrikam.test", []),
        ("password: {enabled: true, scope: ['OU=Staff,DC=emea,DC=fabrikam,DC=test']}", "fabrikam.test", []),
        ("password: {enabled: true, scope: ['OU=Staff,DC=emea,DC=fabrikam,DC=test']}", "emea.fabrikam.test", ["WBP063"]),
        # DNs and domain names compare without regard to case
        ("password: {enabled: true, scope: ['ou=Staff,dc=EMEA,dc=Fabrikam,dc=TEST']}", "emea.fabrikam.test", ["WBP063"]),
        # the domain root itself as a scope
        ("password: {enabled: true, scope: ['DC=emea,DC=fabrikam,DC=test']}", "Emea.Fabrikam.Test", ["WBP063"]),
        # no scope: every domain of the forest; an empty list is the same default
        ("password: {enabled: true}", "emea.fabrikam.test", ["WBP063"]),
        ("password: {enabled: true, scope: []}", "fabrikam.test", ["WBP063"]),
        # Connect's feature off (or only declared) serves nothing
        ("password: {enabled: false}", "emea.fabrikam.test", []),
        ("password: {enabled: false, remove_preparation: true}", "emea.fabrikam.test", []),
        # an invalid scope DN is reported as such, not as a conflict
        ("password: {enabled: true, scope: ['OU=Staff,emea,DC=test']}", "emea.fabrikam.test", ["WBP020"]),
    ],
)  # fmt: skip
def test_password_writeback_by_both_engines(
    writeback: str, cloud_domain: str, codes: list[str]
) -> None:
    assert _codes(f"writeback:\n  {writeback}\n" + _domains(cloud_domain)) == codes


@pytest.mark.parametrize(
    ("writeback", "codes"),
    [
        ("exchange_hybrid: {enabled: true}", ["WBP063"]),
        ("exchange_hybrid: {enabled: true, scope: ['OU=Mail,DC=emea,DC=fabrikam,DC=test']}", ["WBP063"]),
        ("exchange_hybrid: {enabled: true, scope: ['OU=Mail,DC=fabrikam,DC=test']}", []),
        ("exchange_hybrid: {enabled: false}", []),
        # Connect's password writeback does not conflict with Cloud Sync's Exchange hybrid
        ("password: {enabled: true}", []),
    ],
)  # fmt: skip
def test_exchange_hybrid_by_both_engines(writeback: str, codes: list[str]) -> None:
    text = f"writeback:\n  {writeback}\n" + _domains(
        "emea.fabrikam.test", feature="exchange_hybrid: true"
    )
    assert _codes(text) == codes


def test_each_feature_served_by_both_is_reported_at_its_own_key() -> None:
    text = (
        "writeback:\n  password: {enabled: true}\n  exchange_hybrid: {enabled: true}\n"
        + _domains("emea.fabrikam.test", feature="password_writeback: true, exchange_hybrid: true")
    )
    assert _codes(text) == ["WBP063", "WBP063"]


# -- group writeback v2, group v1 ---------------------------------------------------------------

GROUP_PROVISIONING = _domains(
    "fabrikam.test", feature="group_provisioning: {target_ous: ['OU=G,DC=fabrikam,DC=test']}"
)


@pytest.mark.parametrize(
    ("group", "codes"),
    [
        ("{enabled: true, version: v2}", ["WBP031", "WBP062"]),
        # v2 switched off is only the retired version (WBP031), not a conflict
        ("{enabled: false, version: v2}", ["WBP031"]),
        # v1 writes Microsoft 365 groups; Cloud Sync security groups: both may run
        ("{enabled: true, version: v1, container: 'OU=M365,DC=fabrikam,DC=test'}", []),
    ],
)
def test_group_provisioning_and_connect_group_writeback(group: str, codes: list[str]) -> None:
    assert _codes(f"writeback:\n  group: {group}\n" + GROUP_PROVISIONING) == codes


def test_v2_without_group_provisioning_is_only_the_retired_version() -> None:
    text = "writeback:\n  group: {enabled: true, version: v2}\n" + _domains("fabrikam.test")
    assert _codes(text) == ["WBP031"]


# -- domains, counts, target OUs, the gMSA ------------------------------------------------------


def test_twenty_configurations_are_the_most_a_tenant_holds() -> None:
    twenty = [f"s{n}.fabrikam.test" for n in range(20)]
    assert _codes(_domains(*twenty)) == []
    assert _codes(_domains(*twenty, "s20.fabrikam.test")) == ["WBP061"]


def test_the_limit_counts_every_policy_file_of_one_tenant(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    a.write_text(BASE + _domains(*[f"s{n}.fabrikam.test" for n in range(12)]))
    b.write_text(
        BASE.replace("fabrikam.test", "contoso.test", 1)
        + _domains(*[f"s{n}.contoso.test" for n in range(8)])
    )
    result = load_policies([a, b], today=TODAY)
    assert result.diagnostics == [] and len(result.policies) == 2
    # another tenant has 20 of its own
    c.write_text(
        BASE.replace("fabrikam.test", "tailspin.test", 1).replace("3d7f1c2b", "4e8f2d3c")
        + _domains(*[f"s{n}.tailspin.test" for n in range(20)])
    )
    assert load_policies([a, b, c], today=TODAY).diagnostics == []
    b.write_text(b.read_text() + "    - {domain: s8.contoso.test}\n")
    result = load_policies([a, b, c], today=TODAY)
    assert [(Path(d.file).name, d.code) for d in result.diagnostics] == [("b.yaml", "WBP061")]
    assert [p.path.name for p in result.policies] == ["a.yaml", "c.yaml"]


@pytest.mark.parametrize(
    ("names", "codes"),
    [
        (["emea.fabrikam.test", "EMEA.Fabrikam.Test"], ["WBP060"]),
        (["emea.fabrikam.test", "emea.fabrikam.test", "emea.fabrikam.test"], ["WBP060", "WBP060"]),
        (["emea.fabrikam.test", "apac.fabrikam.test"], []),
        (["fabrikam.test"], []),
        (["contoso.test"], ["WBP066"]),
        (["notfabrikam.test"], ["WBP066"]),
    ],
)
def test_one_entry_per_domain_of_the_forest(names: list[str], codes: list[str]) -> None:
    assert _codes(_domains(*names)) == codes


@pytest.mark.parametrize(
    ("domain", "target", "codes"),
    [
        ("emea.fabrikam.test", "OU=G,DC=emea,DC=fabrikam,DC=test", []),
        ("emea.fabrikam.test", "ou=G,dc=EMEA,dc=FABRIKAM,dc=test", []),
        ("emea.fabrikam.test", "CN=Users,DC=emea,DC=fabrikam,DC=test", []),
        ("emea.fabrikam.test", "OU=G,DC=fabrikam,DC=test", ["WBP064"]),
        ("fabrikam.test", "OU=G,DC=emea,DC=fabrikam,DC=test", ["WBP064"]),
        ("fabrikam.test", "OU=G,O=Fabrikam", ["WBP064"]),
        ("fabrikam.test", "OU=G,DC=fabrikam,DC=test\\", ["WBP020"]),
    ],
)
def test_target_ous_lie_in_the_entry_domain(domain: str, target: str, codes: list[str]) -> None:
    feature = f"group_provisioning: {{target_ous: ['{target}']}}"
    assert _codes(_domains(domain, feature=feature)) == codes


@pytest.mark.parametrize(
    ("account", "codes"),
    [
        ("FABRIKAM\\\\gmsa-cloudsync$", []),
        ("EMEA\\\\pGMSA_e6620264$", []),
        ("FABRIKAM\\\\gmsa-cloudsync", ["WBP065"]),
        ("gmsa-cloudsync$", ["WBP065"]),
        ("gmsa-cloudsync@fabrikam.test", ["WBP065"]),
        ("FABRIKAM/gmsa-cloudsync$", ["WBP065"]),
        ("FABRIKAM\\\\", ["WBP065"]),
        ("FABRIKAM\\\\a\\\\b$", ["WBP065"]),
        ("CN=gmsa,CN=Managed Service Accounts,DC=fabrikam,DC=test", ["WBP065"]),
    ],
)
def test_custom_gmsa_names(account: str, codes: list[str]) -> None:
    text = (
        f'cloud_sync:\n  gmsa: {{account: "{account}"}}\n  domains: [{{domain: fabrikam.test}}]\n'
    )
    assert _codes(text) == codes


def test_an_entry_with_no_feature_is_valid() -> None:
    """A configuration that only synchronises AD to Entra still counts as one of the 20 and
    takes its domain; it writes nothing back."""
    assert _codes("cloud_sync:\n  domains: [{domain: fabrikam.test}]\n") == []


# -- the code catalogue -------------------------------------------------------------------------


def test_every_code_wbplan_reports_is_catalogued_and_every_catalogued_code_is_reported() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "planner").rglob("*.py"))
    used = set(re.findall(r'"(WBP\d{3})"', source))
    assert used == set(CODE_INFO)
    assert [c.code for c in CODES] == sorted(CODE_INFO)


def test_catalogued_sources_exist_and_every_code_of_the_corpus_is_catalogued() -> None:
    for c in CODES:
        assert all(ref in CATALOGUE for ref in c.references), c.code
        assert len(set(c.references)) == len(c.references), c.code
    for case in [*cases(INVALID), *cases(VALID)]:
        for code in re.findall(r"\[(WBP\d{3})\]", (case / GOLDEN).read_text(encoding="utf-8")):
            assert code in CODE_INFO, (case.name, code)


def test_refusals_of_cloud_sync_name_a_public_source() -> None:
    for case in cases(INVALID):
        text = (case / GOLDEN).read_text(encoding="utf-8")
        for code in ("WBP060", "WBP061", "WBP062", "WBP063", "WBP064", "WBP065"):
            if f"[{code}]" in text:
                assert "see https://learn.microsoft.com/en-us/" in text, (case.name, code)


# -- the shipped examples and random mutations --------------------------------------------------


def test_the_shipped_policies_folder_is_valid_together() -> None:
    """``wbplan validate policies/`` (the README's CI step) takes both shipped examples."""
    run = run_wbplan(["validate", "policies/"], cwd=REPO)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stdout == "Valid: policies/cloud-sync-example.yaml, policies/example.yaml.\n"


CLOUD_SYNC_POLICY = YAML(typ="safe").load(
    (VALID / "cloud-sync-coexistence" / "policy.yaml").read_text(encoding="utf-8")
)


@PROFILE
@given(mutated_documents(CLOUD_SYNC_POLICY))
def test_mutations_of_a_cloud_sync_policy_never_crash(doc: Any) -> None:
    _check(_dump(doc).encode("utf-8"))


def test_the_mutated_base_is_valid() -> None:
    _check(_dump(copy.deepcopy(CLOUD_SYNC_POLICY)).encode("utf-8"))


def test_the_readme_cloud_sync_example_is_valid(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Microsoft Entra Cloud Sync", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found, "the README's Cloud Sync section has no yaml block"
    path = tmp_path / "policy.yaml"
    path.write_text(found.group(1), encoding="utf-8")
    result = load_policies([path], today=TODAY)
    assert result.diagnostics == []
    (policy,) = result.policies
    assert policy.policy.cloud_sync is not None
