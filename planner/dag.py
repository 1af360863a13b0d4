"""The dependency DAG of a plan (networkx): build it, refuse cycles naming the cycle, order it
deterministically, compute levels, and propagate "blocked by a manual (or unobserved)
prerequisite".

Edges point from a prerequisite to what depends on it. A dependency on an address that is not a
resource of this plan is ignored (nothing to wait for).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from planner.model.plan import ResourceChange

_PROVIDER_ORDER = {"ad": 0, "tenant": 1, "connect": 2}


class CycleError(AssertionError):
    """The requirements form a cycle: a bug in a requirement module, never a user error."""


def build(changes: Sequence[ResourceChange]) -> nx.DiGraph:
    """The DAG over change addresses."""
    graph = nx.DiGraph()
    known = {c.address for c in changes}
    for c in changes:
        graph.add_node(c.address)
    for c in changes:
        for dep in c.depends_on:
            if dep in known:
                graph.add_edge(dep, c.address)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    path = " -> ".join(str(edge[0]) for edge in cycle) + f" -> {cycle[0][0]}"
    raise CycleError(f"dependency cycle in requirements: {path}")


def levels(graph: nx.DiGraph) -> dict[str, int]:
    """Longest-path depth of every node (0 = no prerequisites)."""
    out: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        preds = list(graph.predecessors(node))
        out[str(node)] = 1 + max(out[str(p)] for p in preds) if preds else 0
    return out


def order(graph: nx.DiGraph, changes: Sequence[ResourceChange]) -> list[str]:
    """Deterministic topological order: among ready nodes, AD before tenant before Connect, then
    by address."""
    provider = {c.address: c.provider for c in changes}
    return [
        str(n)
        for n in nx.lexicographical_topological_sort(
            graph, key=lambda n: f"{_PROVIDER_ORDER[provider[n]]}{n}"
        )
    ]


def blocks(change: ResourceChange) -> bool:
    """Does ``change`` hold back what depends on it? A manual step does, and so does an unknown
    prerequisite that was not observed (nothing may be built on a state nobody read). An
    unverifiable one (no API exposes it: a Connect wizard tick box) does not: a person checks it
    by hand and nothing waits for that."""
    action = change.change.actions[0]
    return action == "manual" or (action == "read" and change.action_reason == "not_observed")


def blockers(graph: nx.DiGraph, changes: Sequence[ResourceChange]) -> dict[str, tuple[str, ...]]:
    """For each address, the unmet prerequisites (transitively) it waits for (see ``blocks``)."""
    manual = {c.address for c in changes if blocks(c)}
    out: dict[str, set[str]] = {}
    for node in nx.topological_sort(graph):
        acc: set[str] = set()
        for pred in graph.predecessors(node):
            if pred in manual:
                acc.add(str(pred))
            acc |= out.get(str(pred), set())
        out[str(node)] = acc
    return {k: tuple(sorted(v)) for k, v in out.items()}


def descendants(graph: nx.DiGraph, address: str) -> set[str]:
    """Everything that (transitively) depends on ``address``."""
    return {str(n) for n in nx.descendants(graph, address)}
