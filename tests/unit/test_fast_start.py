"""Fast start of the offline path (issue 17 §4), guarded without timing: what ``wbplan plan
--example`` and ``wbplan --version`` import, the lazy command table, and the flat-image diff that
keeps deepdiff off the path (checked against deepdiff itself).

The timing is ``bench/startup.py``'s; these tests fail when a change puts a module back on the path
(the way 0.47 s became 0.70 s unnoticed).
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deepdiff import DeepDiff

from planner.diff.paths import affected_paths, flat_paths

REPO = Path(__file__).resolve().parents[2]

# Runs the real entry point in a fresh interpreter and prints what it imported.
_PROBE = """
import contextlib, io, sys
from planner.cli import main
sys.argv = ["wbplan", *sys.argv[1:]]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
sys.stderr.write(out.getvalue()[:200])
print(code)
print("\\n".join(sorted(sys.modules)))
"""


def imported_by(*args: str) -> tuple[str, set[str]]:
    """(first 200 characters of the command's stdout, the modules it imported)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    code, *modules = proc.stdout.splitlines()
    assert code in ("0", "None"), (code, proc.stderr)
    return proc.stderr, set(modules)


def _under(modules: set[str], prefix: str) -> list[str]:
    return sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))


# Not on the offline example path: other commands' code, the live readers, and libraries the
# example needs none of. asyncio came with deepdiff (its cache package); ldap3/azure/msal with
# the live readers.
NOT_ON_PLAN_PATH = [
    "deepdiff",
    "asyncio",
    "ssl",
    "subprocess",
    "ldap3",
    "azure",
    "msal",
    "requests",
    "urllib3",
    "winacl",
    "planner.apply",
    "planner.adopt",
    "planner.graphapi",
    "planner.observe.ldapconn",
    "planner.observe.ad",
    "planner.observe.incremental",
    "planner.connect.importer",
    "planner.render.plan_markdown",
    "planner.render.report_html",
    "planner.cli.apply_cmd",
    "planner.cli.check_cmd",
    "planner.cli.import_cmd",
    "planner.cli.validate_cmd",
    "planner.cli.rules_cmd",
    "planner.cli.permissions_cmd",
]


def test_plan_example_imports_nothing_it_does_not_need() -> None:
    head, modules = imported_by("plan", "--example")
    assert head.startswith("wbplan ") and "policy contoso-test" in head  # the plan was printed
    # the path still does its job: policy validation, the DAG and the model are there
    for needed in ("jsonschema", "networkx", "pydantic", "planner.planning"):
        assert needed in modules, needed
    loaded = {name: _under(modules, name) for name in NOT_ON_PLAN_PATH}
    assert {name: found for name, found in loaded.items() if found} == {}


def test_a_policy_without_waivers_loads_without_the_rule_catalogue() -> None:
    # The catalogue is there to check waivers; with none, loading a policy does not import it.
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from planner.policy.loader import load_policies\n"
        "for name in sys.argv[1:]:\n"
        "    found = load_policies([Path(name)])\n"
        "    assert len(found.policies) == 1, name\n"
        "    print(name, sorted(m for m in sys.modules if m.startswith(('planner.rules', "
        "'planner.checking'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, "policies/cloud-sync-example.yaml", "policies/example.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    without, with_waivers = proc.stdout.splitlines()
    assert without == "policies/cloud-sync-example.yaml []"
    assert "planner.checking" in with_waivers  # the example has a waiver: checked against rules


def test_version_imports_neither_the_model_nor_package_metadata() -> None:
    head, modules = imported_by("--version")
    assert head.startswith("wbplan, version ")
    for name in ("importlib.metadata", "pydantic", "networkx", "jsonschema", "planner.model"):
        assert not _under(modules, name), name


def test_main_collects_the_young_generation_less_often_and_leaves_the_others() -> None:
    from planner.cli import GC_GEN0_THRESHOLD

    probe = (
        "import gc, json, sys\n"
        "before = gc.get_threshold()\n"
        "from planner.cli import main\n"
        "sys.argv = ['wbplan', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps([before, gc.get_threshold()]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    before, after = json.loads(proc.stdout.splitlines()[-1])
    assert before[0] != GC_GEN0_THRESHOLD  # CPython's default until main changes it
    assert after == [GC_GEN0_THRESHOLD, before[1], before[2]]


def test_the_lazy_command_table_names_every_command_where_it_is_defined() -> None:
    from planner.cli import cli
    from planner.cli.app import COMMAND_MODULES

    assert set(cli.commands) == set(COMMAND_MODULES)
    for name, command in cli.commands.items():
        assert command.callback is not None
        module = command.callback.__module__
        assert module == f"planner.cli.{COMMAND_MODULES[name]}", name


def test_an_unknown_command_is_still_refused_by_click() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "planner", "plna"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "No such command 'plna'" in proc.stderr


# ---------------------------------------------------------------------------------------------
# diff.paths against deepdiff

_KEYS = ["a", "b", "c", "msDS-X"]
_LEAVES: list[Any] = [None, True, False, 0, 1, 2, "", "x", "1"]
_VALUES: list[Any] = [
    *_LEAVES,
    [],
    [1],
    [True],
    [1, 2],
    [2, 1],
    ["x", 1],
    [1, 1],
    [{"q": 1}],
    [{"q": 1}, {"q": 2}],
    [{"q": True}],
    {"m": 1},
    {"m": True},
    {"m": 1, "n": "x"},
    {},
]


def _dicts(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        keys = rng.sample(_KEYS, rng.randint(0, len(_KEYS)))
        out.append({k: rng.choice(_VALUES) for k in keys})
    return out


def reference(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(str(p) for p in DeepDiff(before, after, ignore_order=True).affected_paths))


def test_flat_paths_agree_with_deepdiff_wherever_they_answer() -> None:
    rng = random.Random(17)
    answered = 0
    pairs = list(itertools.product(_dicts(rng, 60), repeat=2))
    for before, after in pairs:
        if before == after:
            continue  # to_change diffs only images that differ
        found = flat_paths(before, after)
        if found is None:
            continue
        answered += 1
        assert found == reference(before, after), (before, after)
    assert answered > len(pairs) // 2  # the fast path is the common case, not a corner


@pytest.mark.parametrize(
    ("before", "after", "paths"),
    [
        # the example's shapes: an ACE's missing-grant summary becomes the ACE
        (
            {"objects_lacking": 5, "first": ["CN=a"]},
            {"qualifier": "allow", "mask": 32, "flags": 10},
            ("root",),
        ),
        (
            {"denied_objects": 1, "deny_aces": [{"qualifier": "deny", "mask": 256}]},
            {"denied_objects": 0, "deny_aces": []},
            ("root['denied_objects']", "root['deny_aces'][0]"),
        ),
        ({"value": None, "present": False}, {"value": False}, ("root['present']", "root['value']")),
        ({"value": 1}, {"value": True}, ("root['value']",)),
    ],
)
def test_example_shapes_take_the_fast_path(
    before: dict[str, Any], after: dict[str, Any], paths: tuple[str, ...]
) -> None:
    assert flat_paths(before, after) == paths == reference(before, after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"a": [1, 2]}, {"a": [1, 3]}),  # changed on both sides
        ({"a": {"m": 1}}, {"a": {"m": 2}}),  # nested dict
        ({"a": 1.0}, {"a": 2.0}),  # floats (NaN)
        ({"it's": 1}, {"it's": 2}),  # a key deepdiff quotes differently
        ({"a": []}, {"a": [1, 1]}),  # repeated items
    ],
)
def test_what_the_fast_path_leaves_to_deepdiff_gets_deepdiffs_answer(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    assert flat_paths(before, after) is None
    assert affected_paths(before, after) == reference(before, after)
