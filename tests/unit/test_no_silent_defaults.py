"""No silent defaults (issue 15 §2): the example policy and snapshot are used only inside a
wbplan checkout (offline) or with ``--example``; elsewhere a missing policy is an error naming
where wbplan looked, and nothing that reads or writes live ever falls back to the example."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.cli.app import checkout_root
from tests.support.offline import REPO, go_offline, wbplan


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("command", ["validate", "plan", "check", "graph", "permissions"])
def test_from_an_empty_folder_no_policy_is_an_error_naming_where_wbplan_looked(
    empty: Path, command: str
) -> None:
    result = wbplan(command)
    assert result.exit_code == 1, result.output
    assert "Error: no policy found: --policy was not given" in result.output
    assert f"{empty} is not a wbplan checkout" in result.output
    assert str(empty / "pyproject.toml") in result.output
    assert str(empty / "policies" / "example.yaml") in result.output
    assert "--example" in result.output
    assert "contoso" not in result.output  # nothing was planned or validated


def test_a_folder_holding_its_own_policies_is_not_mistaken_for_the_example(empty: Path) -> None:
    """The issue's report: `wbplan validate` in a folder with policies/prod.yaml said
    "Valid: …/_bundled/policies/example.yaml"."""
    (empty / "policies").mkdir()
    (empty / "policies" / "prod.yaml").write_text(
        (REPO / "policies" / "example.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = wbplan("validate")
    assert result.exit_code == 1
    assert "no policy found" in result.output
    named = wbplan("validate", "policies/")
    assert named.exit_code == 0, named.output
    assert named.output == "Valid: policies/prod.yaml.\n"


def test_a_pyproject_of_another_project_is_no_checkout(empty: Path) -> None:
    (empty / "policies").mkdir()
    (empty / "policies" / "example.yaml").write_text("apiVersion: x\n", encoding="utf-8")
    (empty / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    assert checkout_root() is None
    assert wbplan("plan").exit_code == 1
    (empty / "pyproject.toml").write_text("not toml [", encoding="utf-8")
    assert checkout_root() is None


def test_the_checkout_root_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert checkout_root() == REPO
    result = wbplan("plan")
    assert result.exit_code == 0, result.output
    assert "Plan: " in result.output
    monkeypatch.chdir(REPO / "policies")  # a subfolder is not the root
    assert checkout_root() is None
    assert wbplan("plan").exit_code == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["validate", "--example"], "Valid: "),
        (["plan", "--example"], "Plan: "),
        (["check", "--example"], "Check: "),
        (["graph", "--example"], "flowchart"),
        (["permissions", "--example"], "Graph"),
    ],
)
def test_example_works_from_anywhere(empty: Path, args: list[str], expected: str) -> None:
    result = wbplan(*args)
    assert result.exit_code in (0, 2), result.output  # check: 2 = the example is non-compliant
    assert expected in result.output


def test_example_uses_the_bundled_snapshot_and_says_so(empty: Path) -> None:
    result = wbplan("plan", "--example")
    assert result.exit_code == 0, result.output
    assert "Snapshot bundled example state: observed " in result.output


def test_example_and_policy_exclude_each_other(empty: Path) -> None:
    result = wbplan("plan", "--example", "--policy", str(REPO / "policies" / "example.yaml"))
    assert result.exit_code == 1
    assert "--example and --policy exclude each other" in result.output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["plan", "--ldap-url", "ldaps://dc1.contoso.com"], {}),
        (["check", "--graph-url", "https://graph.example.test/v1.0"], {}),
        (["plan"], {"WBPLAN_LDAP_URL": "ldaps://dc1.contoso.com"}),
        (["plan"], {"AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001"}),
        (["check"], {"WBPLAN_GRAPH_TOKEN": "not-a-real-token"}),
        (["graph", "--ldap-url", "ldaps://dc1.contoso.com"], {}),
        (["refresh", "--ldap-url", "ldaps://dc1.contoso.com"], {}),
        (["apply", "--ldap-url", "ldaps://dc1.contoso.com", "--auto-approve"], {}),
    ],
)
def test_live_commands_never_fall_back_to_the_example_even_in_the_checkout(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    monkeypatch.chdir(REPO)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = wbplan(*args)
    assert result.exit_code == 1, result.output
    assert "Error: no policy given: a command that reads or writes a live directory" in (
        result.output
    )


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--example", "--ldap-url", "ldaps://dc1.contoso.com"],
        ["check", "--example", "--graph-url", "https://graph.example.test/v1.0"],
    ],
)
def test_example_is_offline_only(empty: Path, args: list[str]) -> None:
    result = wbplan(*args)
    assert result.exit_code == 1
    assert "--example is offline" in result.output


def test_live_only_commands_do_not_offer_example() -> None:
    for command in ("refresh", "apply"):
        result = wbplan(command, "--help")
        assert "--example" not in result.output
