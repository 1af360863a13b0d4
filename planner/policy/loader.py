"""Load policy files: YAML with marks → JSON Schema → semantic checks → typed ``Policy``.

``load_policies`` never raises for a user mistake: it returns every diagnostic of every file, and
the policies that were fully valid. Cross-file rules (two files for one forest; device writeback
in two forests of one tenant) are checked here because no single file can see them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pydantic

from planner.errors import Diagnostic
from planner.fileio import MAX_POLICY_BYTES, TooLargeError, read_bytes_bounded, size_text
from planner.model.policy import Policy
from planner.policy.cloudsync import MAX_CONFIGURATIONS
from planner.policy.codes import see
from planner.policy.semantics import semantic_diagnostics, waiver_warnings
from planner.policy.shape import describe, shape_diagnostics
from planner.policy.yamlmarks import ParsedYaml, PathKey, parse_yaml
from planner.references import source
from planner.schemas import json_path

POLICY_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedPolicy:
    """A valid policy with what reports need to point back into its file."""

    path: Path
    policy: Policy
    digest: str
    """sha256 of the file's bytes: recorded in plans as ``policy_digest``."""
    marks: ParsedYaml = field(repr=False, compare=False)


@dataclass
class LoadResult:
    """All valid policies and every diagnostic found."""

    policies: list[LoadedPolicy] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """Diagnostics of severity error."""
        return [d for d in self.diagnostics if d.severity == "error"]


def today_utc() -> dt.date:
    """Today's date for waiver expiry. ``WBPLAN_TODAY`` (YYYY-MM-DD) pins it for reproducible
    CI runs and golden tests."""
    pinned = os.environ.get("WBPLAN_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    return dt.datetime.now(dt.UTC).date()


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files to load: each file as given, each folder's *.yaml / *.yml sorted."""
    files: list[Path] = []
    diags: list[Diagnostic] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in POLICY_SUFFIXES and f.is_file())
            if not found:
                diags.append(
                    Diagnostic(
                        "error",
                        "WBP000",
                        str(p),
                        1,
                        1,
                        "",
                        "the folder holds no *.yaml or *.yml policy file",
                    )
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            diags.append(
                Diagnostic(
                    "error",
                    "WBP000",
                    str(p),
                    1,
                    1,
                    "",
                    "no such file or folder",
                    hint="check the path",
                )
            )
    return files, diags


def _paths_of(diags: list[Diagnostic], parsed: ParsedYaml) -> set[PathKey]:
    flagged = {d.path for d in diags}
    return {path for path in parsed.marks if json_path(path) in flagged}


def _not_utf8(name: str, raw: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    """Point at the first byte that is not UTF-8 (column counted in characters)."""
    before = raw[: exc.start]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return Diagnostic(
        "error",
        "WBP001",
        name,
        before.count(b"\n") + 1,
        column,
        "",
        f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02X} cannot be decoded",
        hint="save the file as UTF-8",
    )


def load_file(path: Path, today: dt.date) -> tuple[LoadedPolicy | None, list[Diagnostic]]:
    """Load one policy file."""
    name = str(path)
    try:
        raw = read_bytes_bounded(path, MAX_POLICY_BYTES)  # before parsing: YAML is slow
    except OSError as exc:
        return None, [
            Diagnostic(
                "error", "WBP000", name, 1, 1, "", f"cannot read the file: {exc.strerror or exc}"
            )
        ]
    except TooLargeError as exc:
        return None, [
            Diagnostic(
                "error",
                "WBP000",
                name,
                1,
                1,
                "",
                f"the file is too large: {exc.found}; a policy is at most {size_text(exc.limit)}",
                hint="a policy is a few kilobytes; split a large one into one file per forest",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_not_utf8(name, raw, exc)]
    parsed = parse_yaml(text, name)
    diags = list(parsed.diagnostics)
    if parsed.data is None and diags:
        return None, diags
    if not isinstance(parsed.data, dict):
        root = parsed.mark(())
        diags.append(
            Diagnostic(
                "error",
                "WBP003",
                name,
                root.line,
                root.column,
                "",
                "a policy is a mapping at the top level",
                expected="apiVersion: wbplan.dev/v1, kind: WritebackPolicy, …",
                found=describe(parsed.data),
            )
        )
        return None, diags
    shape = shape_diagnostics(parsed, name)
    diags.extend(shape)
    diags.extend(semantic_diagnostics(parsed, name, today, _paths_of(shape, parsed)))
    diags.sort(key=lambda d: (d.line, d.column, d.code))
    if any(d.severity == "error" for d in diags):
        return None, diags
    try:
        policy = Policy.model_validate(parsed.data)
    except pydantic.ValidationError as exc:  # the schema accepted what the model refuses: a bug
        raise AssertionError(f"policy schema and model disagree on {name}: {exc}") from exc
    diags.extend(waiver_warnings(policy, parsed, name))
    diags.sort(key=lambda d: (d.line, d.column, d.code))
    return LoadedPolicy(path, policy, hashlib.sha256(raw).hexdigest(), parsed), diags


def _cross_file(policies: list[LoadedPolicy]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    by_forest: dict[str, LoadedPolicy] = {}
    device_forests: dict[str, LoadedPolicy] = {}
    cloud_sync: dict[str, tuple[int, list[LoadedPolicy]]] = {}
    for lp in policies:
        forest = lp.policy.forest.lower()
        mark = lp.marks.mark(("forest",))
        if forest in by_forest:
            out.append(
                Diagnostic(
                    "error",
                    "WBP050",
                    str(lp.path),
                    mark.line,
                    mark.column,
                    "forest",
                    f"forest {forest} is already declared by {by_forest[forest].path}",
                    hint="keep one policy per forest",
                )
            )
        by_forest.setdefault(forest, lp)
        dev = lp.policy.writeback.device
        if dev is not None and dev.enabled:
            tenant = lp.policy.tenant.id.lower()
            other = device_forests.get(tenant)
            if other is not None and other.policy.forest.lower() != forest:
                dmark = lp.marks.mark(("writeback", "device", "enabled"))
                out.append(
                    Diagnostic(
                        "error",
                        "WBP032",
                        str(lp.path),
                        dmark.line,
                        dmark.column,
                        "writeback.device.enabled",
                        f"device writeback is also enabled for forest {other.policy.forest} of"
                        f" the same tenant ({other.path}); only one forest can receive devices",
                        hint=f"enable device writeback in one forest only (see {source('S4').url})",
                    )
                )
            device_forests.setdefault(tenant, lp)
        out.extend(_cloud_sync_count(lp, cloud_sync))
    return out


def _cloud_sync_count(
    lp: LoadedPolicy, seen: dict[str, tuple[int, list[LoadedPolicy]]]
) -> list[Diagnostic]:
    """Cloud Sync's 20 configurations are per tenant: files of one tenant add up (WBP061)."""
    cs = lp.policy.cloud_sync
    if cs is None:
        return []
    tenant = lp.policy.tenant.id.lower()
    count, files = seen.get(tenant, (0, []))
    seen[tenant] = (count + len(cs.domains), [*files, lp])
    if not files or count + len(cs.domains) <= MAX_CONFIGURATIONS:
        return []
    mark = lp.marks.mark(("cloud_sync", "domains"))
    others = ", ".join(
        f"{len(f.policy.cloud_sync.domains) if f.policy.cloud_sync else 0} in {f.path}"
        for f in files
    )
    return [
        Diagnostic(
            "error",
            "WBP061",
            str(lp.path),
            mark.key_line,
            mark.key_column,
            "cloud_sync.domains",
            f"{len(cs.domains)} Cloud Sync configuration(s) here and {others} make"
            f" {count + len(cs.domains)} for tenant {lp.policy.tenant.id}: Microsoft supports at"
            f" most {MAX_CONFIGURATIONS} configurations (domains) per tenant",
            hint=f"serve the other domains with Entra Connect ({see('WBP061')})",
        )
    ]


def load_policies(paths: list[Path], today: dt.date | None = None) -> LoadResult:
    """Load and validate every policy file under ``paths``."""
    day = today or today_utc()
    files, diags = expand_paths(paths)
    result = LoadResult(diagnostics=diags)
    for f in files:
        loaded, file_diags = load_file(f, day)
        result.diagnostics.extend(file_diags)
        if loaded is not None:
            result.policies.append(loaded)
    cross = _cross_file(result.policies)
    if cross:
        bad = {d.file for d in cross}
        result.policies = [p for p in result.policies if str(p.path) not in bad]
        result.diagnostics.extend(cross)
    return result
