"""Checks the JSON Schema cannot express: DN syntax and placement, withdrawn or retired features,
impossible combinations, waiver expiry. Each names the domain fact it rests on.

They run on the raw parsed data (tolerating shape errors found by the schema) so that one run of
``wbplan validate`` reports every problem in a file, not just the first kind.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterator
from typing import Any, Literal

from planner.errors import Diagnostic
from planner.model.dn import DnError, dns_name_of, is_at_or_under, is_valid_dn, split_rdns
from planner.model.policy import Policy
from planner.policy.cloudsync import check_cloud_sync
from planner.policy.codes import see
from planner.policy.shape import quoted
from planner.policy.yamlmarks import ParsedYaml, PathKey
from planner.references import source
from planner.schemas import json_path

WAIVER_WARNING_DAYS = 30
"""A waiver that expires within this many days gets a warning (so renewals are not missed)."""


class _Checker:
    def __init__(self, parsed: ParsedYaml, file: str, today: dt.date, shape_paths: set[PathKey]):
        self.parsed = parsed
        self.file = file
        self.today = today
        self.shape_paths = shape_paths
        self.out: list[Diagnostic] = []

    def add(
        self,
        path: PathKey,
        code: str,
        message: str,
        *,
        severity: Literal["error", "warning"] = "error",
        at_key: bool = False,
        **kw: Any,
    ) -> None:
        mark = self.parsed.mark(path)
        line, col = (mark.key_line, mark.key_column) if at_key else (mark.line, mark.column)
        self.out.append(
            Diagnostic(severity, code, self.file, line, col, json_path(path), message, **kw)
        )

    # -- helpers -----------------------------------------------------------------------------
    def feature(self, name: str) -> dict[str, Any] | None:
        wb = self.parsed.data.get("writeback") if isinstance(self.parsed.data, dict) else None
        f = wb.get(name) if isinstance(wb, dict) else None
        return f if isinstance(f, dict) else None

    def dns_of_forest(self) -> str | None:
        """The declared forest, or None when it is missing or malformed (the schema reports
        that; checks against a malformed forest would only repeat the error)."""
        forest = self.parsed.data.get("forest")
        if not isinstance(forest, str) or ("forest",) in self.shape_paths:
            return None
        return forest.lower().strip(".")

    def dn_values(self) -> Iterator[tuple[PathKey, str]]:
        for feature, key in (("password", "scope"), ("exchange_hybrid", "scope")):
            f = self.feature(feature)
            values = f.get(key) if f else None
            if isinstance(values, list):
                for i, v in enumerate(values):
                    if isinstance(v, str):
                        yield ("writeback", feature, key, i), v
        g = self.feature("group")
        if g and isinstance(g.get("container"), str):
            yield ("writeback", "group", "container"), g["container"]

    # -- checks ------------------------------------------------------------------------------
    def check_dns(self) -> None:
        forest = self.dns_of_forest()
        for path, value in self.dn_values():
            if path in self.shape_paths:
                continue
            try:
                split_rdns(value)
            except DnError as exc:
                self.add(
                    path,
                    "WBP020",
                    f"invalid distinguished name: {exc}",
                    expected="an RFC 4514 DN such as OU=Staff,DC=contoso,DC=com",
                    found=quoted(value),
                )
                continue
            where = dns_name_of(value)
            if forest and (where is None or not (where == forest or where.endswith("." + forest))):
                self.add(
                    path,
                    "WBP021",
                    "the DN is not inside the forest this policy declares",
                    expected=f"a DN ending in the DC= components of {forest}"
                    " or of one of its child domains",
                    found=quoted(value),
                )

    def check_withdrawn(self) -> None:
        user = self.feature("user")
        if user and user.get("enabled") is True:
            self.add(
                ("writeback", "user", "enabled"),
                "WBP030",
                "user writeback cannot be enabled: Microsoft withdrew the preview in the"
                " August 2015 update of Azure AD Connect",
                expected="enabled: false",
                found="enabled: true",
                hint=f"remove writeback.user or set enabled: false (see {source('S25').url})",
            )
        group = self.feature("group")
        if group and group.get("version") == "v2":
            self.add(
                ("writeback", "group", "version"),
                "WBP031",
                "group writeback v2 was a public preview retired after June 30, 2024",
                expected="version: v1 (Microsoft 365 groups)",
                found="version: v2",
                hint="write security groups to AD with Microsoft Entra Cloud Sync's Group"
                " Provision to AD instead: to move the groups v2 wrote back, declare"
                " cloud_sync.domains[].group_provisioning.migrate_from_connect_v2 with the OU v2"
                " wrote them to (wbplan plans Microsoft's migration and turning v2 off)"
                f" ({see('WBP031', 'S21')}); keep v1 for Microsoft 365 groups",
            )

    def check_combinations(self) -> None:
        data = self.parsed.data
        device = self.feature("device")
        others = data.get("other_forests")
        if device and device.get("enabled") is True and isinstance(others, list) and others:
            self.add(
                ("other_forests",),
                "WBP032",
                "device writeback supports one forest only: devices must be in the same forest"
                " as the users, and only one forest can receive them",
                expected="no other_forests while writeback.device is enabled",
                found=f"{len(others)} other forest(s): {', '.join(map(str, others))}",
                hint=f"disable device writeback or synchronise one user forest (see {source('S4').url})",
                at_key=True,
            )
        forest = self.dns_of_forest()
        domain = device.get("domain") if device else None
        if (
            isinstance(domain, str)
            and forest
            and not (domain.lower() == forest or domain.lower().endswith("." + forest))
        ):
            self.add(
                ("writeback", "device", "domain"),
                "WBP035",
                "the device domain is not in the declared forest",
                expected=f"{forest} or one of its child domains",
                found=quoted(domain),
            )
        group = self.feature("group")
        if (
            group
            and group.get("enabled") is True
            and group.get("version", "v1") == "v1"
            and "container" not in group
        ):
            self.add(
                ("writeback", "group"),
                "WBP033",
                "group writeback needs the OU the groups are written to",
                expected="writeback.group.container: OU=…,DC=…",
                found="no container",
                at_key=True,
            )
        wb = data.get("writeback")
        for name, feat in wb.items() if isinstance(wb, dict) else []:
            if (
                isinstance(feat, dict)
                and feat.get("enabled") is True
                and feat.get("remove_preparation") is True
            ):
                self.add(
                    ("writeback", name, "remove_preparation"),
                    "WBP034",
                    "remove_preparation only applies to a disabled feature",
                    expected="enabled: false together with remove_preparation: true",
                    found="enabled: true",
                )

    def check_connector(self) -> None:
        """``connector`` may be left out only when no Entra Connect feature needs it: every
        Connect writeback right is the connector account's, so an enabled feature (or a
        removal of its preparation) without it has nobody to grant to or check."""
        data = self.parsed.data
        if "connector" in data or ("connector",) in self.shape_paths:
            return
        wb = data.get("writeback")
        for name, feat in wb.items() if isinstance(wb, dict) else []:
            if not isinstance(feat, dict):
                continue
            key = next((k for k in ("enabled", "remove_preparation") if feat.get(k) is True), None)
            if key is None:
                continue
            self.add(
                ("writeback", name, key),
                "WBP036",
                f"writeback.{name} is an Entra Connect feature: its rights are granted to and"
                " checked for the AD DS connector account, which the policy does not name",
                expected="connector: {account: DOMAIN\\MSOL_…} (the account Entra Connect's AD"
                " connector signs in with)",
                found="no connector",
                hint="name the connector account (on the Connect server:"
                " Get-ADSyncADConnectorAccount), or serve this writeback with Cloud Sync"
                " (cloud_sync) instead",
            )

    def check_waivers(self) -> None:
        waivers = self.parsed.data.get("waivers")
        if not isinstance(waivers, list):
            return
        for i, w in enumerate(waivers):
            if not isinstance(w, dict):
                continue
            expires = w.get("expires")
            path: PathKey = ("waivers", i, "expires")
            if isinstance(expires, str) and path not in self.shape_paths:
                try:
                    day = dt.date.fromisoformat(expires)
                except ValueError:
                    day = None
                if day is not None and day < self.today:
                    # A warning, not an error: the policy still plans and checks, and
                    # `wbplan check` reports the lapsed waiver as a failure (WB-WVR-001).
                    self.add(
                        path,
                        "WBP040",
                        f"waiver for {w.get('rule', '?')} expired on {day.isoformat()}; it no longer"
                        " applies and `wbplan check` fails it (WB-WVR-001)",
                        severity="warning",
                        expected=f"an expiry date on or after {self.today.isoformat()}",
                        found=expires,
                        hint="renew it with a new approval, or remove it and fix the finding",
                    )
                elif day is not None and (day - self.today).days <= WAIVER_WARNING_DAYS:
                    self.add(
                        path,
                        "WBP041",
                        f"waiver for {w.get('rule', '?')} expires in"
                        f" {(day - self.today).days} day(s)",
                        severity="warning",
                        hint="renew it before it lapses",
                    )
            rule_id = w.get("rule")
            rpath: PathKey = ("waivers", i, "rule")
            if isinstance(rule_id, str) and rpath not in self.shape_paths:
                self.check_rule_exists(rpath, rule_id)
            scope = w.get("scope")
            spath: PathKey = ("waivers", i, "scope")
            if isinstance(scope, str) and "=" in scope and spath not in self.shape_paths:
                try:
                    split_rdns(scope)
                except DnError as exc:
                    self.add(
                        spath,
                        "WBP020",
                        f"invalid distinguished name: {exc}",
                        expected="a DN such as OU=Legacy,DC=contoso,DC=com, a tenant address, or *",
                        found=quoted(scope),
                    )

    def check_rule_exists(self, path: PathKey, rule_id: str) -> None:
        """A waiver for a rule that does not exist waives nothing (a typo, or a rule id from
        another tool): an error, so the exception its approver meant is not silently lost."""
        known = rule_ids()
        if rule_id in known:
            return
        close = difflib.get_close_matches(rule_id.upper(), sorted(known), n=3, cutoff=0.6)
        if rule_id.upper() in known:
            hint = f"rule ids are upper case: {rule_id.upper()}"
        elif close:
            hint = f"did you mean {' or '.join(close)}? `wbplan rules` lists every rule"
        else:
            hint = "`wbplan rules` lists every rule; `wbplan rules ID` explains one"
        self.add(
            path,
            "WBP042",
            f"waiver for {rule_id}, which is not a wbplan rule: it would waive nothing",
            expected="the id of a rule in the catalogue",
            found=quoted(rule_id),
            hint=hint,
        )


def rule_ids() -> frozenset[str]:
    """Every rule id of the catalogue (imported late: the rules import this module)."""
    from planner.checking import catalogue

    return frozenset(r.id for r in catalogue())


WRITEBACK_FEATURES = (
    "password",
    "device",
    "group",
    "exchange_hybrid",
    "user",
    "ngc_keys",
    "hybrid_join",
)


def waiver_warnings(policy: Policy, parsed: ParsedYaml, file: str) -> list[Diagnostic]:
    """Warnings for waivers of rules that do not apply to ``policy`` (a validated policy): the
    rule's feature is not enabled, or what it checks is not asked for — such a waiver has no
    effect, which usually means the policy or the waiver is not what its author thinks."""
    if not policy.waivers:
        return []  # no rule catalogue to load (start-up of plan/check, issue 17 §4)
    from planner.rules.base import REGISTRY

    rule_ids()  # registers the rules
    out: list[Diagnostic] = []
    for i, waiver in enumerate(policy.waivers):
        found = REGISTRY.get(waiver.rule)
        if found is None or found.applies(policy):
            continue
        feature = found.info.feature
        declared = (
            getattr(policy.writeback, feature, None) if feature in WRITEBACK_FEATURES else None
        )
        if feature in WRITEBACK_FEATURES and not (declared is not None and declared.enabled):
            why = f"it is a {feature} rule and writeback.{feature} is not enabled in this policy"
        else:
            why = "what it checks is not asked for by this policy, so `wbplan check` never evaluates it"
        mark = parsed.mark(("waivers", i, "rule"))
        out.append(
            Diagnostic(
                "warning",
                "WBP043",
                file,
                mark.line,
                mark.column,
                f"waivers[{i}].rule",
                f"waiver for {waiver.rule} has no effect: {why}",
                hint="remove the waiver, or enable the feature it is meant for",
            )
        )
    return out


def semantic_diagnostics(
    parsed: ParsedYaml, file: str, today: dt.date, shape_paths: set[PathKey]
) -> list[Diagnostic]:
    """Semantic problems in one parsed policy (``shape_paths``: paths the schema flagged)."""
    if not isinstance(parsed.data, dict):
        return []
    c = _Checker(parsed, file, today, shape_paths)
    c.check_dns()
    c.check_withdrawn()
    c.check_combinations()
    c.check_connector()
    c.check_waivers()
    check_cloud_sync(c)
    return c.out


def scope_covers(scope: str, address: str) -> bool:
    """True when a waiver ``scope`` covers a finding ``address``.

    ``*`` covers everything; a DN scope covers a DN address at or under it (case-insensitive,
    also inside an ``ad.object[DN]`` address); any other scope (a tenant or policy address such
    as ``tenant.licence[AAD_PREMIUM]``) covers exactly that address, case-insensitively.
    """
    scope = scope.strip()
    if scope == "*":
        return True
    target = address
    if target.startswith("ad.object[") and target.endswith("]"):
        target = target[len("ad.object[") : -1]
    if "=" in scope and is_valid_dn(scope):
        return is_valid_dn(target) and is_at_or_under(target, scope)
    return scope.lower() == address.strip().lower()
