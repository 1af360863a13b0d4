"""Feature keys in words: the one mapping every renderer uses to name a feature to a person.

Plans carry feature keys (``ResourceChange.features``: ``password``, ``cloud_sync_group`` …) and
rules carry the feature they belong to (``RuleInfo.feature``: ``licence``, ``cloud_sync`` …);
these keys stay in JSON, SARIF tags and JUnit ids, where tools match on them. Wherever a person
reads the plan or report (text, Markdown, HTML), the feature is named by its title here, and an
unknown key falls back to itself rather than failing.
"""

from __future__ import annotations

SHARED = "shared"
"""The Markdown plan's block for changes of no feature in particular."""

WRITEBACK_TITLES = {
    "password": "Password writeback",
    "device": "Device writeback",
    "group": "Group writeback (v1)",
    "exchange_hybrid": "Exchange hybrid writeback",
    "ngc_keys": "Windows Hello for Business key writeback",
    "hybrid_join": "Hybrid-join service connection point",
    "user": "User writeback (withdrawn)",
}
"""The Entra Connect features (``writeback.<key>`` of the policy), in policy order."""

CLOUD_SYNC_TITLES = {
    "cloud_sync_group": "Cloud Sync group provisioning to AD",
    "cloud_sync_password": "Cloud Sync password writeback",
    "cloud_sync_exchange": "Cloud Sync Exchange hybrid writeback",
}
"""The Microsoft Entra Cloud Sync features a plan's changes serve (``cloud_sync.domains[]``:
``group_provisioning``, ``password_writeback``, ``exchange_hybrid``)."""

CLOUD_SYNC_POLICY_KEYS = {
    "cloud_sync_group": "cloud_sync.group_provisioning",
    "cloud_sync_password": "cloud_sync.password_writeback",
    "cloud_sync_exchange": "cloud_sync.exchange_hybrid",
}
"""Where each Cloud Sync feature sits in the policy (per ``cloud_sync.domains[]`` entry): what
``wbplan permissions`` names beside the Entra Connect features' own policy keys."""

PLAN_TITLES = {SHARED: "Shared prerequisites", **WRITEBACK_TITLES, **CLOUD_SYNC_TITLES}
"""Titles of the plan's features, in the order the Markdown plan lists them."""

REPORT_TITLES = {
    "licence": "Licences",
    "tenant": "Tenant and directory synchronisation",
    "connector": "Connector account",
    "connect": "Entra Connect server",
    **WRITEBACK_TITLES,
    "cloud_sync": "Microsoft Entra Cloud Sync",
    **CLOUD_SYNC_TITLES,
    "policy": "Policy and waivers",
}
"""Titles of the features rules belong to, in the order reports list them (an unknown feature
comes after these, by name)."""


def feature_title(key: str) -> str:
    """The words for a plan or rule feature key (the key itself when it has none)."""
    return PLAN_TITLES.get(key) or REPORT_TITLES.get(key) or key


def feature_list(keys: list[str] | tuple[str, ...]) -> str:
    """``Password writeback, Cloud Sync password writeback`` for several keys."""
    return ", ".join(feature_title(k) for k in keys)


def policy_keys(keys: str) -> str:
    """``"password, cloud_sync_group"`` → ``"password, cloud_sync.group_provisioning"``: a
    comma-separated list of feature keys as the policy spells them."""
    return ", ".join(CLOUD_SYNC_POLICY_KEYS.get(k, k) for k in keys.split(", "))
