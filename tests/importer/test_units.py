"""The pieces of ``wbplan import`` on their own: YAML scalars and comments that read back as
written whatever an observed value holds, the connector inferred from the ACEs (and refused when
two principals hold them equally), scans cut for a root below a scanned one, and the CLI's
options (stdout or ``-o``, no overwrite without ``--force``, a snapshot's own connector)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.adopt import Options, adopt, choose_connector, rank_connectors, render
from planner.adopt.candidates import cut_scan, principals, with_scans
from planner.adopt.render import comment, scalar
from planner.adopt.words import describe
from planner.errors import WbplanError
from planner.model.state import Ace, ObservedState, ScopedObject, ScopeScan
from planner.observe.snapshot import load_state
from planner.policy.yamlmarks import parse_yaml
from tests.plan.harness import SCENARIOS_DIR, wbplan

CONNECTOR_SID = "S-1-5-21-1004336348-1177238915-682003330-1105"
OTHER_SID = "S-1-5-21-1004336348-1177238915-682003330-1300"


def scenario(name: str) -> ObservedState:
    return load_state(SCENARIOS_DIR / name / "state.json")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_value_reads_back_as_written(value: str) -> None:
    parsed = parse_yaml(f"key: {scalar(value)}\n", "t.yaml")
    assert not parsed.diagnostics, scalar(value)
    assert parsed.data == {"key": value}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_a_comment_never_breaks_the_document(value: str) -> None:
    lines = comment(f"note about {value}", 2, bullet=True)
    parsed = parse_yaml("a: 1\n" + "\n".join(lines) + "\nb: 2\n", "t.yaml")
    assert not parsed.diagnostics
    assert parsed.data == {"a": 1, "b": 2}
    assert all(line.startswith("  # ") for line in lines)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("OU=Staff,DC=contoso,DC=test", "OU=Staff,DC=contoso,DC=test"),
        ("OU=Sales\\, EMEA,DC=contoso,DC=test", "OU=Sales\\, EMEA,DC=contoso,DC=test"),
        ("CONTOSO\\MSOL_1a2b3c4d5e6f", "CONTOSO\\MSOL_1a2b3c4d5e6f"),
        ("7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b", '"7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"'),
        ("yes", '"yes"'),
        ("OU=a: b,DC=x", '"OU=a: b,DC=x"'),
        ("OU=#1,DC=x", '"OU=#1,DC=x"'),
    ],
)
def test_plain_where_yaml_reads_it_back_else_quoted(value: str, shown: str) -> None:
    assert scalar(value) == shown


def test_describe_names_items_in_few_words() -> None:
    assert (
        describe("ad.ace[OU=a/b,DC=x/password-writeback/reset-password]")
        == "reset-password on OU=a/b,DC=x"
    )
    assert (
        describe("tenant.feature[deviceWritebackEnabled]") == "tenant flag deviceWritebackEnabled"
    )
    assert describe("ad.object[CN=x,DC=y]") == "CN=x,DC=y"


def test_a_root_below_a_scanned_root_is_judged_on_its_part_of_the_scan() -> None:
    scan = ScopeScan(
        root="DC=x",
        containers=(
            ScopedObject(dn="OU=A,DC=x", object_class="organizationalUnit"),
            ScopedObject(dn="OU=B,OU=A,DC=x", object_class="organizationalUnit"),
            ScopedObject(dn="OU=AB,DC=x", object_class="organizationalUnit"),
        ),
        objects=(
            ScopedObject(dn="CN=u1,OU=A,DC=x", object_class="user"),
            ScopedObject(dn="CN=u2,OU=AB,DC=x", object_class="user"),
        ),
    )
    cut = cut_scan(scan, "ou=a, dc=X")
    assert [c.dn for c in cut.containers] == ["OU=B,OU=A,DC=x"]
    assert [o.dn for o in cut.objects] == ["CN=u1,OU=A,DC=x"]
    assert cut.ous_total == 1


def test_scans_are_cut_only_where_none_exists() -> None:
    state = scenario("password-per-object")
    assert state.ad is not None
    staff = "OU=Staff,DC=contoso,DC=test"
    assert with_scans(state, [staff]) is state
    sub = state.ad.scopes[0].containers[0].dn
    cut = with_scans(state, [sub, "OU=Elsewhere,DC=contoso,DC=test"])
    assert cut.ad is not None
    assert [s.root for s in cut.ad.scopes] == [staff, sub]


def _without_connector(state: ObservedState, names: dict[str, str]) -> ObservedState:
    assert state.ad is not None
    ad = state.ad.model_copy(update={"connector": None, "principals": names})
    return state.model_copy(update={"ad": ad})


def _copy_grants(state: ObservedState, source: str, target: str) -> ObservedState:
    """Every explicit ACE of ``source`` granted to ``target`` as well, on every object."""
    assert state.ad is not None
    objects = []
    for obj in state.ad.objects:
        if obj.security is None:
            objects.append(obj)
            continue
        extra = [
            a.model_copy(update={"trustee": target})
            for a in obj.security.aces
            if a.trustee == source and not a.inherited
        ]
        security = obj.security.model_copy(update={"aces": (*obj.security.aces, *extra)})
        objects.append(obj.model_copy(update={"security": security}))
    ad = state.ad.model_copy(update={"objects": tuple(objects)})
    return state.model_copy(update={"ad": ad})


def test_the_connector_is_inferred_from_the_grants_it_holds() -> None:
    names = {CONNECTOR_SID: "CONTOSO\\MSOL_1a2b3c4d5e6f", OTHER_SID: "CONTOSO\\helpdesk"}
    state = _without_connector(scenario("fully-prepared"), names)
    assert state.ad is not None
    # someone else holds read and write of every property on everything below the domain root:
    # Exchange hybrid would import for them too, but the connector holds more
    root = next(o for o in state.ad.objects if o.dn == "DC=contoso,DC=test")
    assert root.security is not None
    extra = Ace(qualifier="allow", trustee=OTHER_SID, mask=0x30, flags=0x0A)
    security = root.security.model_copy(update={"aces": (*root.security.aces, extra)})
    objects = tuple(
        o.model_copy(update={"security": security}) if o is root else o for o in state.ad.objects
    )
    state = state.model_copy(update={"ad": state.ad.model_copy(update={"objects": objects})})
    options = Options("state.json")
    ranked = rank_connectors(state, options)
    assert [r.principal.name for r in ranked] == ["CONTOSO\\MSOL_1a2b3c4d5e6f", "CONTOSO\\helpdesk"]
    best = choose_connector(ranked, state)
    assert set(best.imported) == {"password", "device", "group", "exchange_hybrid", "hybrid_join"}
    assert ranked[1].imported == ("exchange_hybrid",)


def test_two_principals_holding_the_same_grants_are_refused_naming_both() -> None:
    names = {CONNECTOR_SID: "CONTOSO\\MSOL_1a2b3c4d5e6f", OTHER_SID: "CONTOSO\\MSOL_ffffffffffff"}
    state = _copy_grants(
        _without_connector(scenario("fully-prepared"), names), CONNECTOR_SID, OTHER_SID
    )
    ranked = rank_connectors(state, Options("state.json"))
    with pytest.raises(WbplanError) as caught:
        choose_connector(ranked, state)
    assert "ambiguous" in caught.value.message
    assert "CONTOSO\\MSOL_1a2b3c4d5e6f" in caught.value.message
    assert "CONTOSO\\MSOL_ffffffffffff" in caught.value.message
    assert "--connector" in (caught.value.hint or "")


def test_no_principal_with_grants_is_refused() -> None:
    state = _without_connector(scenario("password-from-nothing"), {})
    assert principals(state) == [] or all(p.name is None for p in principals(state))
    with pytest.raises(WbplanError, match="cannot be inferred"):
        choose_connector(rank_connectors(state, Options("state.json")), state)


def test_a_snapshot_is_imported_for_the_connector_it_was_read_for() -> None:
    state = scenario("fully-prepared")
    with pytest.raises(WbplanError, match="was read for the connector"):
        adopt(state, Options("state.json", connector="CONTOSO\\someone-else"))
    same = adopt(state, Options("state.json", connector="contoso\\msol_1a2b3c4d5e6f"))
    assert same.connector == "CONTOSO\\MSOL_1a2b3c4d5e6f"


def test_the_tenant_is_taken_from_options_when_it_was_not_read() -> None:
    state = scenario("tenant-not-observed")
    plain = adopt(state, Options("state.json"))
    assert plain.tenant_id == "00000000-0000-0000-0000-000000000000"
    assert "NOT INFERRED" in plain.tenant_notes[0]
    given_ = adopt(
        state,
        Options(
            "state.json",
            tenant_id="7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
            tenant_domain="contoso.onmicrosoft.com",
            name="prod",
        ),
    )
    text = render(given_)
    assert 'id: "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"' in text
    assert "  name: prod" in text


def test_stdout_or_output_file_and_no_overwrite_without_force(tmp_path: Path) -> None:
    folder = SCENARIOS_DIR / "fully-prepared"
    out = tmp_path / "imported.yaml"
    first = wbplan(folder, "import", "--state", "state.json", "-o", str(out))
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    assert f"Wrote {out}." in first.stderr
    assert (
        "Imported: password, device, group, exchange_hybrid, user, ngc_keys, hybrid_join."
        in first.stderr
    )
    again = wbplan(folder, "import", "--state", "state.json", "-o", str(out))
    assert again.exit_code == 1
    assert "does not overwrite" in again.stderr
    forced = wbplan(folder, "import", "--state", "state.json", "-o", str(out), "--force", "--quiet")
    assert forced.exit_code == 0 and forced.stderr == ""
    printed = wbplan(folder, "import", "--state", "state.json", "--quiet")
    assert printed.stdout == out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to import from"),
        (["--state", "state.json", "--name", "bad name"], "is not a policy name"),
        (["--state", "state.json", "--tenant-id", "x"], "is not a GUID"),
        (["--state", "state.json", "--ldap-url", "ldaps://dc1.example.com"], "exclude each other"),
        (["--state", "missing.json"], "missing.json"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    run = wbplan(SCENARIOS_DIR / "fully-prepared", "import", *args)
    assert run.exit_code == 1
    assert message in run.stderr
    assert "Traceback" not in run.stderr
