"""The attribute-level paths that differ between two images (``ChangeDetail.attribute_changes``).

deepdiff (``DeepDiff(before, after, ignore_order=True).affected_paths``) is the reference. Its
import costs a sixth of an offline plan's start-up (it pulls in asyncio through its cache), and
nearly every image wbplan diffs is one flat dict of scalars, so :func:`flat_paths` answers the
cases whose deepdiff answer is plain and returns None for anything else, which goes to deepdiff.
``tests/unit/test_fast_start.py`` compares the two on generated pairs.

What is mirrored (deepdiff 8 and 9; ``threshold_to_diff_deeper=0.33`` arrived in 8.0):

* two dicts sharing fewer than a third of their keys (of more than one) are reported whole:
  ``root``;
* otherwise an added or removed key, or a key whose values differ in type or (for scalars) in
  value, is ``root['key']``;
* a list that was empty on one side and holds distinct items on the other is reported per item,
  ``root['key'][i]`` (deepdiff's ``iterable_item_added`` / ``_removed``).

Everything else (nested dicts, lists changed on both sides, floats, unusual keys) is deepdiff's.
"""

from __future__ import annotations

import json
import re
from typing import Any

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
"""Keys whose deepdiff path is ``root['key']`` (no quotes to choose, not private ``__x``)."""

_SCALARS = (type(None), bool, int, str)
_VALUES = (*_SCALARS, list, dict)


def _plain(value: Any) -> bool:
    """A value of exactly one of the types the fast path understands, recursively, no floats."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _strict_key(value: Any) -> str:
    """A text equal for two values exactly when deepdiff sees no difference between them
    (``1`` and ``True`` differ; dict key order does not matter)."""
    return json.dumps(value, sort_keys=True)


def _list_paths(path: str, before: list[Any], after: list[Any]) -> list[str] | None:
    if before and after:
        return None  # changed on both sides: deepdiff pairs the items
    items = before or after
    keys = [_strict_key(v) for v in items]
    if len(set(keys)) != len(keys):
        return None  # repeated items: deepdiff reports one of them (report_repetition off)
    return [f"{path}[{i}]" for i in range(len(items))]


def flat_paths(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...] | None:
    """deepdiff's affected paths for two different dicts, or None when the case is not one of
    those this module mirrors (see the module docstring)."""
    keys_before, keys_after = set(before), set(after)
    union = keys_before | keys_after
    if not all(type(k) is str and _KEY.match(k) for k in union):
        return None
    if not all(_plain(v) for v in (*before.values(), *after.values())):
        return None
    common = keys_before & keys_after
    if len(union) > 1 and len(common) / len(union) < 0.33:
        return ("root",)
    out = [f"root[{k!r}]" for k in union - common]
    for key in common:
        a, b = before[key], after[key]
        path = f"root[{key!r}]"
        if type(a) is not type(b):
            out.append(path)
        elif type(a) in _SCALARS:
            if a != b:
                out.append(path)
        elif _strict_key(a) == _strict_key(b):
            continue  # the same value (order of dict keys aside)
        elif type(a) is list:
            found = _list_paths(path, a, b)
            if found is None:
                return None
            out.extend(found)
        else:
            return None  # a nested dict that differs: deepdiff goes deeper
    return tuple(sorted(out))


def affected_paths(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """The sorted paths that differ between two different images (see the module docstring)."""
    found = flat_paths(before, after)
    if found is not None:
        return found
    from deepdiff import DeepDiff  # only for what flat_paths leaves to it

    return tuple(sorted(str(p) for p in DeepDiff(before, after, ignore_order=True).affected_paths))
