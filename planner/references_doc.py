"""``docs/references.md``: every source of the catalogue (``planner/references.py``) with its title
and address, and the rules and plan items that cite it. ``python -m planner.references --write``
regenerates it (``--check``: exit 1 when the committed file is stale); a test fails when it is.

Rules come from the catalogue. Plan items come from expanding, in a source checkout, the shipped
example policy against its snapshot and every plan scenario's policy against its state
(``tests/plan/scenarios/``), so per-object items (grants on objects with inheritance disabled,
deny ACEs) are listed too. A plan item is named by its kind, its address with the policy's names
left out (``ad.ace[…/password-writeback/reset-password]``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.references import SOURCES, Source

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "references.md"
EXAMPLE = (REPO / "policies" / "example.yaml", REPO / "state" / "example.json")
SCENARIOS = REPO / "tests" / "plan" / "scenarios"
TODAY = dt.date(2026, 11, 22)
"""Waivers do not change what a policy requires; a fixed day keeps loading deterministic."""

KIND_WORDS = {
    "microsoft": "Microsoft (primary source)",
    "third-party": "third-party",
    "project": "wbplan documentation",
}

DOC_HEADER = """\
# Sources

<!-- Generated from planner/references.py by `python -m planner.references --write`; do not edit
     by hand. tests/references/test_references.py fails when this file is stale. -->

Every rule of [`rules.md`](rules.md) and every item of a plan names the public documents it rests
on. They are listed here by the id rules and plans carry in their `references` (the JSON of
`wbplan rules`, `wbplan check` and `wbplan plan`); `wbplan` prints their titles and addresses.
*Microsoft* sources are Microsoft's own documentation, reference or specifications (Microsoft
Learn, or Microsoft's documentation repositories on GitHub for pages Learn no longer serves);
*third-party* sources are public copies and reports that wbplan relies on where Microsoft
documents nothing, and the rules and plan items resting on them say so in their confidence
(`observed` or `inferred`).

Plan items are named by kind: the address with the policy's own names (DNs, tenant id, connector)
left out. Policy validation lists the diagnostic codes of `wbplan validate` whose checks rest on
the source (a refusal names it in its hint).
"""


def requirement_kind(r: Resource, policy: Policy) -> str:
    """A plan item's address without the names of one policy: ``ad.ace[…/purpose/name]``,
    ``ad.object[…] (msDS-DeviceContainer)``, ``tenant.feature[deviceWritebackEnabled]``."""
    address = r.address
    if r.dn:
        address = address.replace(r.dn, "…")
    for name in (policy.tenant.id, policy.connector_account, policy.forest.lower(), policy.forest):
        if name:  # no connector named: "" is nothing to replace
            address = address.replace(name, "…")
    if r.type == "ad.object":
        cls = r.desired.get("objectClass")
        return f"{address} ({cls})" if cls else f"{address} (existing object)"
    return address


def citations(
    rules: Sequence[RuleInfo], items: Iterable[tuple[Resource, Policy]]
) -> dict[str, tuple[list[str], list[str]]]:
    """Source id → (rule ids, plan item kinds) citing it, in catalogue order, sorted."""
    out: dict[str, tuple[set[str], set[str]]] = {s.id: (set(), set()) for s in SOURCES}
    for rule in rules:
        for ref in rule.references:
            out.setdefault(ref, (set(), set()))[0].add(rule.id)
    for resource, policy in items:
        for ref in resource.references:
            out.setdefault(ref, (set(), set()))[1].add(requirement_kind(resource, policy))
    return {k: (sorted(r), sorted(i)) for k, (r, i) in out.items()}


def validation_citations() -> dict[str, list[str]]:
    """Source id → the diagnostic codes of policy validation resting on it, sorted."""
    from planner.policy.codes import CODES

    out: dict[str, list[str]] = {}
    for code in CODES:
        for ref in code.references:
            out.setdefault(ref, []).append(code.code)
    return {k: sorted(v) for k, v in out.items()}


def corpus() -> list[tuple[str, Resource, Policy]]:
    """(case name, required resource, its policy) over the shipped example and every plan
    scenario that loads (a scenario wbplan refuses has no requirements)."""
    from planner.observe.snapshot import load_state
    from planner.policy.loader import load_file
    from planner.requirements import expand

    cases: list[tuple[str, Path, Path]] = [("example", *EXAMPLE)]
    if SCENARIOS.is_dir():
        cases += [
            (d.name, d / "policy.yaml", d / "state.json")
            for d in sorted(SCENARIOS.iterdir())
            if (d / "policy.yaml").is_file() and (d / "state.json").is_file()
        ]
    out: list[tuple[str, Resource, Policy]] = []
    for name, policy_file, state_file in cases:
        loaded, _diagnostics = load_file(policy_file, TODAY)
        if loaded is None:
            continue
        state = load_state(state_file)
        out += [(name, r, loaded.policy) for r in expand(loaded.policy, state)]
    return out


def _link(s: Source) -> str:
    label = s.label.replace("|", "\\|")
    if s.url is None:
        return label
    return f"[{label}](../{s.url})" if s.kind == "project" else f"[{label}]({s.url})"


def render_markdown(rules: Sequence[RuleInfo], items: Iterable[tuple[Resource, Policy]]) -> str:
    """``docs/references.md``."""
    cited = citations(rules, items)
    validation = validation_citations()
    lines = [DOC_HEADER, "| Id | Source | Kind |", "|---|---|---|"]
    lines += [f"| {s.id} | {_link(s)} | {s.kind} |" for s in SOURCES]
    for s in SOURCES:
        rule_ids, kinds = cited.get(s.id, ([], []))
        lines += ["", f"## {s.id}", "", f"**{s.label}**", ""]
        lines.append(f"- Address: {s.url if s.url is not None else '— (no single public page)'}")
        lines.append(f"- Kind: {KIND_WORDS[s.kind]}")
        if s.note:
            lines.append(f"- Note: {s.note}")
        rules_text = ", ".join(f"[{r}](rules.md#{r.lower()})" for r in rule_ids)
        lines.append(f"- Rules: {rules_text or '—'}")
        lines.append("- Plan items:" if kinds else "- Plan items: —")
        lines += [f"  - `{k}`" for k in kinds]
        if s.id in validation:
            lines.append(f"- Policy validation: {', '.join(validation[s.id])}")
    return "\n".join(lines) + "\n"


def current() -> str:
    """The document as the catalogue, the rules and the corpus make it now."""
    from planner.checking import catalogue

    return render_markdown(catalogue(), [(r, p) for _, r, p in corpus()])


def main(argv: list[str] | None = None) -> int:
    """Write or check the document."""
    parser = argparse.ArgumentParser(prog="python -m planner.references", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate docs/references.md")
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when docs/references.md is stale"
    )
    args = parser.parse_args(argv)
    text = current()
    if args.write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {DOC}\n")
        return 0
    on_disk = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if on_disk != text:
        sys.stderr.write(f"{DOC} is stale: run python -m planner.references --write\n")
        return 1
    return 0
