"""Plan items in the few words a YAML comment can hold (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from planner.adopt.verify import Item

SHOWN = 4
"""Items listed per kind before ``and N more``."""

WORDS = {
    "create": "missing",
    "update": "differs",
    "delete": "to remove",
    "manual": "needs a person",
    "read": "not observed",
    "no-op": "held",
}


def describe(address: str) -> str:
    """``ad.ace[OU=Staff,DC=x/password-writeback/reset-password]`` → ``reset-password on
    OU=Staff,DC=x``; ``tenant.feature[deviceWritebackEnabled]`` → ``tenant flag
    deviceWritebackEnabled``; other addresses as they are."""
    kind, _, rest = address.partition("[")
    inner = rest[:-1] if rest.endswith("]") else rest
    if kind in ("ad.ace", "ad.deny"):
        dn, _, tail = inner.rpartition("/")
        dn = dn.rpartition("/")[0] or dn
        return f"{tail} on {dn}" if kind == "ad.ace" else f"a deny of {tail} on {dn}"
    if kind == "ad.object":
        return inner
    if kind == "tenant.feature":
        return f"tenant flag {inner}"
    if kind == "tenant.setting":
        return f"tenant setting {inner}"
    if kind == "tenant.licence":
        return f"licence {inner}"
    if kind == "ad.membership":
        group, _, _account = inner.partition("/")
        return f"the connector's membership of {group}"
    return address


def listed(texts: Sequence[str], shown: int = SHOWN) -> str:
    """``a, b, c and 2 more``."""
    head = ", ".join(texts[:shown])
    return head + (f" and {len(texts) - shown} more" if len(texts) > shown else "")


def summary(items: Iterable[Item], shown: int = SHOWN) -> str:
    """``missing: write-pwdLastSet on OU=Staff,…; needs a person: ad.schema[x] (schema_too_old)``
    — items grouped by what the plan would do, in plan-action order."""
    groups: dict[str, list[str]] = {}
    for item in items:
        text = describe(item.address)
        if item.action == "manual" or (item.action == "read" and item.reason != "not_observed"):
            text += f" ({item.reason.replace('_', ' ')})"
        groups.setdefault(item.action, []).append(text)
    order = [a for a in WORDS if a in groups]
    return "; ".join(f"{WORDS[a]}: {listed(sorted(set(groups[a])), shown)}" for a in order)


def held(items: Iterable[Item]) -> str:
    """The satisfied ACE requirements, by name (``reset-password, write-lockoutTime``)."""
    names = [describe(i.address).split(" on ", 1)[0] for i in items if i.type == "ad.ace"]
    return ", ".join(dict.fromkeys(names))


UNKNOWN_REASONS = {
    "unverifiable": "no API exposes it",
    "not_observed": "not read",
}


def unknowns(items: Iterable[Item]) -> str:
    """``connect.option[password-writeback] (no API exposes it), tenant flag … (not read)``."""
    texts = [
        f"{describe(i.address)} ({UNKNOWN_REASONS.get(i.reason, i.reason.replace('_', ' '))})"
        for i in items
    ]
    return listed(sorted(set(texts)), shown=6)
