"""Plan rendering and plan mechanics beyond the scenario goldens: Markdown truncation, Mermaid and
DOT graphs, DAG cycles and determinism, saved plans (round trip, tampering), exit codes, colour.
"""

from __future__ import annotations

import json
import os
import pty
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planner import dag, planning
from planner.model.plan import ChangeDetail, Plan, ResourceChange
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.snapshot import load_state
from planner.planfile import plan_document
from planner.planning import make_plan
from planner.policy.loader import load_policies
from planner.render.graph import node_id, render_dot, render_mermaid, short_address
from planner.render.plan_markdown import GRAPH_OMITTED, code, render_markdown
from planner.render.plan_text import render_text, summary_line
from tests.plan.harness import MARKDOWN, REPO, SCENARIOS_DIR, wbplan

POLICY = "policies/example.yaml"
STATE = "state/example.json"
EXAMPLE = ["--policy", POLICY, "--state", STATE]


def example_inputs() -> tuple[Policy, ObservedState]:
    loaded = load_policies([REPO / POLICY]).policies[0]
    return loaded.policy, load_state(REPO / STATE)


def plan_of(policy: Policy, state: ObservedState) -> Plan:
    return make_plan(
        policy,
        state,
        policy_file=POLICY,
        policy_digest="sha256:test",
        state_source=STATE,
        timestamp="2026-11-22T18:00:00Z",
    )


def example_doc() -> dict[str, Any]:
    return plan_document(plan_of(*example_inputs()))


def scenario_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SCENARIOS_DIR / name / "plan.json").read_text("utf-8"))
    return doc


def acting_addresses(doc: dict[str, Any]) -> set[str]:
    """Addresses the Markdown lists (everything but plain no-ops)."""
    return {
        c["address"] for c in doc["resource_changes"] if c["change"]["actions"] != ["no-op"]
    } | {c["address"] for c in doc["deferred_changes"]}


def hand_change(address: str, *depends_on: str, action: str = "create") -> ResourceChange:
    return ResourceChange(
        address=address,
        type="ad.object",
        provider="ad",
        features=("device",),
        action_reason="missing_object",
        change=ChangeDetail(actions=(action,)),
        depends_on=depends_on,
        why="built by hand for a test",
    )


# --------------------------------------------------------------------------------------------
# Markdown


def test_markdown_has_summary_first_details_graph_and_closing_line() -> None:
    doc = example_doc()
    md = render_markdown(doc)
    table = md.index("| to add | to change | to destroy | manual | deferred | unverifiable |")
    assert table < md.index("<details>")
    assert "| 16 | 2 | 0 | 1 | 0 | 4 | yes | yes |" in md
    assert "```mermaid\nflowchart LR\n" in md
    assert md.endswith("\n" + summary_line(doc) + "\n")
    assert "Output truncated" not in md
    for address in acting_addresses(doc):
        assert code(address) in md
    for feature in ("password", "device", "group"):
        assert f"(<code>{feature}</code>)" in md
    assert "**Nothing to change:** Shared prerequisites (" in md
    assert "[!CAUTION]" not in md  # nothing destructive


def test_markdown_truncates_under_a_small_limit() -> None:
    doc = example_doc()
    limit = 2_500
    md = render_markdown(doc, limit=limit)
    assert len(md) <= limit
    assert "| 16 | 2 | 0 | 1 | 0 | 4 | yes | yes |" in md
    assert md.endswith("\n" + summary_line(doc) + "\n")
    assert "```mermaid" not in md and GRAPH_OMITTED in md
    match = re.search(r"Output truncated:\*\* (\d+) change\(s\) not shown", md)
    assert match, md
    shown = {a for a in acting_addresses(doc) if code(a) in md}
    assert shown, "the budget should leave room for some changes"
    assert int(match.group(1)) == len(acting_addresses(doc) - shown) > 0
    assert "`wbplan plan --format json`" in md
    assert md.count("<details") == md.count("</details>")


def test_truncation_keeps_the_destructive_banner() -> None:
    doc = scenario_doc("group-disable-blast-radius")
    full = render_markdown(doc)
    limit = full.index("<details open>") + 450  # the change itself is longer
    md = render_markdown(doc, limit=limit)
    assert len(md) <= limit
    assert "[!CAUTION]" in md and "**37** group(s)" in md
    assert "Output truncated:** 1 change(s) not shown" in md
    assert md.endswith("\n" + summary_line(doc) + "\n")


def test_a_large_plan_fits_a_github_comment() -> None:
    doc = example_doc()
    template = next(c for c in doc["resource_changes"] if c["type"] == "ad.ace")
    template = {**template, "change": {**template["change"], "actions": ["create"]}}
    many = [
        {
            **template,
            "address": f"ad.ace[OU=Site{i:05d},DC=contoso,DC=test/password-writeback/reset-password]",
        }
        for i in range(5_000)
    ]
    big = {**doc, "resource_changes": many, "deferred_changes": []}
    md = render_markdown(big)
    assert len(md) <= 65_000 < 65_536
    assert "Output truncated:**" in md
    assert md.endswith("\n" + summary_line(big) + "\n")


def test_markdown_escapes_html_and_backticks() -> None:
    doc = scenario_doc("connector-not-found")
    change = dict(doc["resource_changes"][0])
    change["instructions"] = "Grant it to <connector SID> & retry; run `dsacls <DN>`"
    change["address"] = "ad.connector[odd`name]"
    md = render_markdown({**doc, "resource_changes": [change]})
    assert "Grant it to &lt;connector SID&gt; &amp; retry; run `dsacls <DN>`" in md
    assert "``ad.connector[odd`name]``" in md


def test_markdown_opens_changed_features_and_folds_unchanged_ones_into_a_line() -> None:
    md = (SCENARIOS_DIR / "half-prepared" / "plan.md").read_text("utf-8")
    summaries = re.findall(r"^<details( open)?><summary>(.*)</summary>$", md, re.M)
    features = [text for is_open, text in summaries if is_open]
    assert [re.match(r"<b>(.*?)</b>", f).group(1) for f in features] == [  # type: ignore[union-attr]
        "Password writeback",
        "Device writeback",
        "Group writeback (v1)",
    ]
    assert [text for is_open, text in summaries if not is_open] == [
        "Dependency graph (29 resource(s))"
    ]
    assert (
        "**Nothing to change:** Shared prerequisites (5 matching), "
        "User writeback (withdrawn) (1 matching).\n" in md
    )
    assert md.index("**Nothing to change:**") > md.rindex("<details open>")


def test_markdown_keeps_why_and_shows_short_before_after() -> None:
    doc = scenario_doc("half-prepared")
    md = render_markdown(doc)
    assert "{" not in md.split("```mermaid")[0]  # no JSON blobs
    assert "  - value: `false` → `true`\n" in md
    assert "  - value: `true` → `false`\n" in md
    assert (
        "  - ACE: (none) → `allow WP pwdLastSet on descendant user objects to "
        "CONTOSO\\MSOL_1a2b3c4d5e6f" in md
    )
    assert "    - msDS-DeviceLocation: (none) → `CN=RegisteredDevices,DC=contoso,DC=test`\n" in md
    items = md.count("\n- `")
    assert items == len(acting_addresses(doc))
    assert md.count("\n  - why: ") == items


def test_markdown_shortens_drifted_values() -> None:
    doc = scenario_doc("drs-location-drift")
    change = next(c for c in doc["resource_changes"] if c["change"]["actions"] == ["manual"])
    line = next(ln for ln in render_markdown(doc).splitlines() if "msDS-DeviceLocation: " in ln)
    assert line == (
        "  - msDS-DeviceLocation: `CN=Devices,DC=contoso,DC=test` → "
        "`CN=RegisteredDevices,DC=contoso,DC=test`"
    )
    long_dn = "CN=" + "x" * 300 + ",DC=contoso,DC=test"
    change = {**change, "change": {**change["change"], "before": {"msDS-DeviceLocation": long_dn}}}
    md = render_markdown({**doc, "resource_changes": [change], "deferred_changes": []})
    line = next(ln for ln in md.splitlines() if "msDS-DeviceLocation: " in ln)
    assert "x" * 300 not in line and "…` → `CN=" in line


def _rendered(md: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(md)


def _markdown_goldens() -> list[Path]:
    return sorted(SCENARIOS_DIR / name / "plan.md" for name in MARKDOWN)


@pytest.mark.parametrize("path", _markdown_goldens(), ids=lambda p: p.parent.name)
def test_markdown_golden_is_valid_commonmark_with_gfm_tables(path: Path) -> None:
    md = path.read_text("utf-8")
    rendered = _rendered(md)
    summaries = re.findall(r"<summary>(.*?)</summary>", rendered, re.S)
    assert summaries
    for text in summaries:
        assert "`" not in text, text
    assert rendered.index("<table>") < rendered.index("<details")
    assert "<th" in rendered and "<td" in rendered
    assert rendered.count("<details") == rendered.count("</details>")
    # a comment is one document: every <details> block is raw HTML, never escaped into text
    assert "&lt;details" not in rendered and "&lt;summary" not in rendered
    assert len(md) < 65_536


def test_markdown_keeps_escaped_commas_in_every_line() -> None:
    assert "escaped-dn" in MARKDOWN
    md = (SCENARIOS_DIR / "escaped-dn" / "plan.md").read_text("utf-8")
    rendered = _rendered(md)
    found = re.findall(r"Sales(..)", rendered)
    assert len(found) >= 8
    assert set(found) == {"\\,"}, found
    todo = next(ln for ln in rendered.splitlines() if "todo: A deny ACE on" in ln)
    assert "OU=Sales\\, EMEA,DC=contoso,DC=test" in todo


def test_markdown_summary_lines_escape_html() -> None:
    doc = scenario_doc("half-prepared")
    change = next(c for c in doc["resource_changes"] if c["change"]["actions"] == ["create"])
    odd = {**change, "features": ["a<b>`x`"]}
    md = render_markdown({**doc, "resource_changes": [odd], "deferred_changes": []})
    line = next(ln for ln in md.splitlines() if ln.startswith("<details open>"))
    assert "<code>a&lt;b&gt;`x`</code>" in line
    rendered = _rendered(md)
    summary = re.search(r"<summary>(.*?)</summary>", rendered)
    assert summary is not None and "<code>a&lt;b&gt;`x`</code>" in summary.group(1)


# --------------------------------------------------------------------------------------------
# Graphs


def test_mermaid_of_the_example() -> None:
    doc = example_doc()
    text = render_mermaid(doc)
    assert text == render_mermaid(doc)  # deterministic
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = [ln.strip().split("[", 1)[0] for ln in lines if re.match(r"^  n[0-9a-f]{10}\[", ln)]
    addresses = [c["address"] for c in (*doc["resource_changes"], *doc["deferred_changes"])]
    assert nodes == [node_id(a) for a in addresses]
    edges = [ln.split(" --> ") for ln in (x.strip() for x in lines) if " --> " in ln]
    present = set(addresses)
    expected = {
        (node_id(d), node_id(c["address"]))
        for c in doc["resource_changes"]
        for d in c["depends_on"]
        if d in present
    }
    assert {(a, b) for a, b in edges} == expected
    assert '"+ ad.object[CN=RegisteredDevices]"' in text
    assert "classDef create" in text and re.search(r"^  class .* create$", text, re.M)


def test_mermaid_escapes_labels() -> None:
    change = hand_change('ad.object[CN=Odd "#1" <x>,DC=contoso,DC=test]')
    text = render_mermaid({"resource_changes": [change.model_dump(mode="json")]})
    label = re.search(r'\["(.*)"\]', text)
    assert label is not None
    assert '"' not in label.group(1) and "<" not in label.group(1)
    assert "#quot;#35;1#quot; #lt;x#gt;" in label.group(1)


def test_short_address_keeps_domain_roots_whole() -> None:
    assert short_address("ad.object[DC=contoso,DC=test]") == "ad.object[DC=contoso,DC=test]"
    assert (
        short_address("ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password]")
        == "ad.ace[OU=Staff/password-writeback/reset-password]"
    )
    assert short_address("tenant.feature[deviceWritebackEnabled]") == (
        "tenant.feature[deviceWritebackEnabled]"
    )


def _dot_svg(text: str) -> str:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")
    run = subprocess.run(
        ["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=False, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    return run.stdout


def test_dot_of_the_example_is_valid_graphviz() -> None:
    doc = example_doc()
    text = render_dot(doc)
    assert text == render_dot(doc)
    assert text.startswith("digraph wbplan {\n") and text.endswith("}\n")
    svg = _dot_svg(text)
    assert svg.count('class="node"') == len(doc["resource_changes"])
    assert "ad.object[CN=RegisteredDevices]" in svg


def test_dot_escapes_quotes_and_backslashes() -> None:
    odd = hand_change('ad.connector[CONTOSO\\MSOL "x"]')
    dep = hand_change("ad.object[CN=Y,DC=contoso,DC=test]", odd.address, action="manual")
    doc = {
        "resource_changes": [odd.model_dump(mode="json")],
        "deferred_changes": [dep.model_dump(mode="json")],
    }
    text = render_dot(doc)
    assert 'label="+ ad.connector[CONTOSO\\\\MSOL \\"x\\"]"' in text
    assert "dashed" in text  # the deferred change
    svg = _dot_svg(text)
    assert "CONTOSO\\MSOL &quot;x&quot;" in svg


def test_graph_command_draws_the_plan() -> None:
    doc = example_doc()
    mermaid = wbplan(REPO, "graph", *EXAMPLE, "--format", "mermaid")
    dot = wbplan(REPO, "graph", *EXAMPLE, "--format", "dot")
    assert (mermaid.exit_code, dot.exit_code) == (0, 0)
    assert mermaid.stdout == render_mermaid(doc)
    assert dot.stdout == render_dot(doc)


# --------------------------------------------------------------------------------------------
# DAG


def test_a_cycle_is_refused_and_named() -> None:
    a, b, c = (f"ad.object[CN={n},DC=contoso,DC=test]" for n in "ABC")
    changes = [hand_change(a, c), hand_change(b, a), hand_change(c, b), hand_change("ad.x[free]")]
    with pytest.raises(dag.CycleError) as info:
        dag.build(changes)
    message = str(info.value)
    assert message.startswith("dependency cycle in requirements: ")
    path = message.removeprefix("dependency cycle in requirements: ").split(" -> ")
    assert path[0] == path[-1] and sorted(path[:-1]) == sorted([a, b, c])
    assert "ad.x[free]" not in message


def test_topological_order_does_not_depend_on_input_order() -> None:
    changes = [
        hand_change("ad.object[CN=Z]"),
        hand_change("ad.object[CN=A]", "ad.object[CN=Z]"),
        hand_change("ad.object[CN=M]"),
        hand_change("ad.object[CN=B]", "ad.object[CN=M]", "ad.object[CN=A]"),
        hand_change("ad.object[CN=C]"),
    ]
    expected = dag.order(dag.build(changes), changes)
    assert expected.index("ad.object[CN=Z]") < expected.index("ad.object[CN=A]")
    rng = random.Random(5)
    for _ in range(20):
        shuffled = changes[:]
        rng.shuffle(shuffled)
        assert dag.order(dag.build(shuffled), shuffled) == expected


def test_same_input_twice_gives_the_same_plan() -> None:
    policy, state = example_inputs()
    assert plan_document(plan_of(policy, state)) == plan_document(plan_of(policy, state))


def test_shuffled_resources_and_objects_give_the_same_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy, state = example_inputs()
    expected = plan_document(plan_of(policy, state))
    real_expand = planning.expand
    rng = random.Random(11)
    orders: set[tuple[str, ...]] = set()

    def shuffled_expand(p: Policy, s: ObservedState | None) -> list[Any]:
        resources = list(real_expand(p, s))
        rng.shuffle(resources)
        orders.add(tuple(r.address for r in resources))
        return resources

    monkeypatch.setattr(planning, "expand", shuffled_expand)
    assert state.ad is not None
    reordered = state.model_copy(
        update={"ad": state.ad.model_copy(update={"objects": tuple(reversed(state.ad.objects))})}
    )
    for _ in range(5):
        assert plan_document(plan_of(policy, reordered)) == expected
    assert len(orders) == 5  # five different resource orders were really planned


# --------------------------------------------------------------------------------------------
# Saved plans, exit codes, colour


def test_saved_plan_round_trips_through_show(tmp_path: Path) -> None:
    saved = tmp_path / "plan.wbplan"
    made = wbplan(REPO, "plan", *EXAMPLE, "--format", "json", "-out", str(saved))
    assert made.exit_code == 0, made.stderr
    assert f"wbplan apply {saved}" in made.stderr
    shown = wbplan(REPO, "show", str(saved), "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout) == json.loads(made.stdout)
    text = wbplan(REPO, "show", str(saved))
    assert text.stdout == render_text(json.loads(made.stdout))
    markdown = wbplan(REPO, "show", str(saved), "--format", "markdown")
    assert markdown.stdout == render_markdown(json.loads(made.stdout))


def test_tampered_plan_file_is_refused(tmp_path: Path) -> None:
    saved = tmp_path / "plan.wbplan"
    assert wbplan(REPO, "plan", *EXAMPLE, "-out", str(saved)).exit_code == 0
    data = json.loads(saved.read_text("utf-8"))
    data["plan"]["resource_changes"][0]["change"]["actions"] = ["delete"]
    saved.write_text(json.dumps(data), encoding="utf-8")
    shown = wbplan(REPO, "show", str(saved))
    assert shown.exit_code == 1
    assert "checksum mismatch" in shown.stderr
    assert "Traceback" not in shown.stderr and shown.stdout == ""


def test_truncated_plan_file_is_refused(tmp_path: Path) -> None:
    saved = tmp_path / "plan.wbplan"
    assert wbplan(REPO, "plan", *EXAMPLE, "-out", str(saved)).exit_code == 0
    saved.write_text(saved.read_text("utf-8")[:500], encoding="utf-8")
    shown = wbplan(REPO, "show", str(saved))
    assert shown.exit_code == 1 and "not a wbplan plan file" in shown.stderr


def test_detailed_exitcode_zero_and_two() -> None:
    changes = wbplan(REPO, "plan", *EXAMPLE, "--detailed-exitcode")
    assert changes.exit_code == 2
    fully = SCENARIOS_DIR / "fully-prepared"
    same = wbplan(
        fully, "plan", "--policy", "policy.yaml", "--state", "state.json", "--detailed-exitcode"
    )
    assert same.exit_code == 0
    plain = wbplan(REPO, "plan", *EXAMPLE)
    assert plain.exit_code == 0  # without the flag, changes are not an exit status


def test_colour_only_when_asked() -> None:
    doc = example_doc()
    assert "\x1b[" not in render_text(doc)
    coloured = render_text(doc, color=True)
    assert "\x1b[32m+\x1b[0m ad.ace[" in coloured
    piped = wbplan(REPO, "plan", *EXAMPLE)
    assert "\x1b[" not in piped.stdout


def _on_a_terminal(*args: str, **env: str) -> str:
    """Run wbplan with stdout on a pseudo-terminal; return what it printed there."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from planner.cli import main; main()", *args],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env={
            **{k: v for k, v in os.environ.items() if k != "NO_COLOR"},
            "PYTHONPATH": str(REPO),
            **env,
        },
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_colour_on_a_terminal_unless_disabled() -> None:
    assert "\x1b[32m" in _on_a_terminal("plan", *EXAMPLE)
    assert "\x1b[" not in _on_a_terminal("plan", *EXAMPLE, NO_COLOR="1")
    assert "\x1b[" not in _on_a_terminal("--no-color", "plan", *EXAMPLE)


def test_graph_too_big_for_github_is_left_out_but_the_plan_is_kept() -> None:
    doc = example_doc()
    template = next(c for c in doc["resource_changes"] if c["type"] == "ad.object")
    chain = [
        {
            **template,
            "address": f"ad.object[CN=N{i},DC=contoso,DC=test]",
            "depends_on": [f"ad.object[CN=N{i - 1},DC=contoso,DC=test]"] if i else [],
        }
        for i in range(600)
    ]
    md = render_markdown({**doc, "resource_changes": chain, "deferred_changes": []})
    assert "```mermaid" not in md and GRAPH_OMITTED in md
    assert "Output truncated" not in md  # only no-ops: the comment itself is short
