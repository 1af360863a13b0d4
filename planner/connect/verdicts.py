"""What plan and check conclude from Connect server evidence (pure: no clock, no I/O).

One answer for both, so a plan item and a rule finding never disagree (plan and check tell one
story):

- :func:`freshness` — whether the evidence counts: it must say when it was collected, and not
  have been collected longer than its ``max_age`` before the observation it is judged with
  (``ObservedState.observed_at``, so a snapshot's verdict does not change with the clock);
- :func:`option_fact` — a wizard option's state on the server;
- :func:`connector_for` / :func:`account_match` — the server's AD DS connector account for the
  policy's forest, compared with the account the policy names;
- :func:`device_location_check` — Connect's device writeback forest and container compared with
  the forest and ``msDS-DeviceLocation`` read from AD;
- :func:`evidence_version` — the installed Connect version the evidence reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from planner import syncstate
from planner.model.connect import AdConnector, ConnectEvidence, Fact, FeatureKey
from planner.model.dn import dn_key, is_valid_dn
from planner.model.state import ObservedState

DEFAULT_MAX_EVIDENCE_AGE = dt.timedelta(days=7)
"""Evidence collected longer than this before the observation no longer counts (``plan`` /
``check --max-evidence-age`` sets another limit): a daily scheduled collection stays well
inside it, a forgotten one is noticed within a week."""

OPTION_FEATURES: dict[str, FeatureKey] = {
    "password-writeback": "password-writeback",
    "device-writeback": "device-writeback",
    "group-writeback": "group-writeback",
    "exchange-hybrid": "exchange-hybrid",
}
"""``connect.option[<name>]`` → the evidence's feature key."""

TENANT_FLAGS: dict[FeatureKey, str] = {
    "device-writeback": "deviceWritebackEnabled",
    "group-writeback": "unifiedGroupWritebackEnabled",
}
"""Features with a tenant flag (Graph ``onPremisesSynchronization.features``) that must agree
with the server's option."""

Status = Literal["pass", "fail", "unknown"]


def parse_time(text: str | None) -> dt.datetime | None:
    """ISO 8601 → an aware datetime (a time without a zone is read as UTC); None when absent or
    not a time. Evidence files may pad the value: it is stripped first."""
    return syncstate.parse_time(text.strip() if text else text)


def age_words(delta: dt.timedelta) -> str:
    """A duration in its two largest units, rounded down: ``3d 4h``, ``5h``, ``12m``, ``0s``."""
    seconds = max(0, int(delta.total_seconds()))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count}{unit}")
    shown = [p for p in parts[:2] if not p.startswith("0")]
    return " ".join(shown) or "0s"


@dataclass(frozen=True)
class Freshness:
    """Whether a state's Connect evidence counts, and why."""

    evidence: ConnectEvidence | None
    status: Literal["absent", "fresh", "stale", "undated"]
    age: dt.timedelta | None
    """How long before the observation the evidence was collected (negative: after it)."""
    max_age: dt.timedelta

    @property
    def usable(self) -> ConnectEvidence | None:
        """The evidence when it counts, else None."""
        return self.evidence if self.status == "fresh" else None

    def describe(self) -> str:
        """``collected 2026-11-22T17:00:00Z on SYNC01, 1h before the observation``."""
        ev = self.evidence
        if ev is None:
            return "no Connect evidence"
        where = f" on {ev.server}" if ev.server else ""
        if ev.collected_at is None or self.age is None:
            return f"collected{where} at a time the evidence does not state"
        if self.age.total_seconds() < 0:
            when = f"{age_words(-self.age)} after the observation"
        else:
            when = f"{age_words(self.age)} before the observation"
        return f"collected {ev.collected_at}{where}, {when}"

    def limit_words(self) -> str:
        """``7d`` (the limit the evidence is judged by)."""
        return age_words(self.max_age)


def freshness(state: ObservedState | None) -> Freshness:
    """Judge ``state.connect`` against ``state.observed_at``."""
    ev = state.connect if state is not None else None
    if ev is None or state is None:
        return Freshness(None, "absent", None, DEFAULT_MAX_EVIDENCE_AGE)
    max_age = (
        dt.timedelta(seconds=ev.max_age_seconds)
        if ev.max_age_seconds is not None
        else DEFAULT_MAX_EVIDENCE_AGE
    )
    collected = parse_time(ev.collected_at)
    observed = parse_time(state.observed_at)
    if collected is None or observed is None:
        return Freshness(ev, "undated", None, max_age)
    age = observed - collected
    return Freshness(ev, "stale" if age > max_age else "fresh", age, max_age)


def usable(state: ObservedState | None) -> ConnectEvidence | None:
    """The state's Connect evidence when it counts (present, dated and fresh), else None."""
    return freshness(state).usable


def stale_note(fresh: Freshness) -> str:
    """Why evidence that is present does not count (for ``?`` items and unknown findings)."""
    if fresh.status == "undated":
        return f"the Connect evidence does not count: it was {fresh.describe()}"
    return (
        f"the Connect evidence does not count: it was {fresh.describe()}, more than "
        f"{fresh.limit_words()}; collect it again with the script `wbplan connect-collector` writes"
    )


def fact_text(fact: Fact, fresh: Freshness) -> str:
    """``Get-ADSyncGlobalSettings Microsoft.OptionalFeature.GroupWriteBack = "True" in FILE,
    collected …`` — the provenance of a fact with the evidence's age."""
    shown = f" = {fact.raw!r}" if fact.raw is not None else ""
    what = f"{fact.cmdlet} {fact.field}" if fact.field else str(fact.cmdlet)
    where = f" in {fact.file}" if fact.file else ""
    return f"{what}{shown}{where}, {fresh.describe()}"


def option_fact(evidence: ConnectEvidence, option: str) -> Fact:
    """The server's state of ``connect.option[option]`` (unknown for an option the evidence
    has no feature for)."""
    key = OPTION_FEATURES.get(option)
    return evidence.feature(key).server if key is not None else Fact()


def server_words(evidence: ConnectEvidence) -> str:
    """``the Connect server SYNC01`` (or ``the Connect server`` when unnamed)."""
    return f"the Connect server {evidence.server}" if evidence.server else "the Connect server"


# -- the AD DS connector account ---------------------------------------------------------------


def connector_for(evidence: ConnectEvidence, forest: str) -> AdConnector | None:
    """The server's AD connector for ``forest`` (by its ``forest-name``, else its name)."""
    wanted = forest.strip().lower().rstrip(".")
    for c in evidence.ad_connectors or ():
        if (c.forest or "").strip().lower().rstrip(".") == wanted:
            return c
    for c in evidence.ad_connectors or ():
        if c.forest is None and c.name.strip().lower() == wanted:
            return c
    return None


def connector_account(connector: AdConnector) -> str | None:
    """``domain\\user`` as the connector's connectivity parameters state it."""
    if not connector.login_user:
        return None
    return (
        f"{connector.login_domain}\\{connector.login_user}"
        if connector.login_domain
        else (connector.login_user)
    )


@dataclass(frozen=True)
class Verdict:
    """A pass / fail / unknown with its sentence."""

    status: Status
    message: str


def _domain_names(state: ObservedState | None, name: str) -> set[str]:
    """Every name of the domain ``name`` (DNS or NetBIOS) the observed forest knows, lower-case."""
    key = name.strip().lower().rstrip(".")
    names = {key}
    if state is not None and state.ad is not None:
        for d in state.ad.domains:
            both = {d.dns_name.lower().rstrip(".")} | (
                {d.netbios_name.lower()} if d.netbios_name else set()
            )
            if key in both:
                names |= both
    return names


def account_match(
    policy_account: str, connector: AdConnector, state: ObservedState | None
) -> Verdict:
    """Is the connector's account the one the policy names? The policy may name it
    ``DOMAIN\\sam`` (compared by sAMAccountName and domain, NetBIOS and DNS names matched
    through the observed domains), ``sam@domain`` or a DN (the evidence holds neither a UPN nor a
    DN, so those stay unknown unless the names differ plainly)."""
    found = connector_account(connector)
    if found is None:
        return Verdict("unknown", f"the connector {connector.name} states no sign-in account")
    user = (connector.login_user or "").strip().lower()
    named = policy_account.strip()
    if "\\" in named:
        domain, _, sam = named.partition("\\")
        if sam.strip().lower() != user:
            return Verdict("fail", f"Connect signs in as {found}, the policy names {named}")
        if connector.login_domain is None:
            return Verdict(
                "pass", f"Connect signs in as {found} (no domain stated), as the policy names"
            )
        if connector.login_domain.strip().lower().rstrip(".") in _domain_names(state, domain):
            return Verdict("pass", f"Connect signs in as {found}, the account the policy names")
        if state is None or state.ad is None or not state.ad.domains:
            return Verdict(
                "unknown",
                f"Connect signs in as {found}; whether its domain is {domain} needs the forest's "
                "domain names (AD was not read)",
            )
        return Verdict("fail", f"Connect signs in as {found}, the policy names {named}")
    if "@" in named and "=" not in named:
        upn_user, _, suffix = named.rpartition("@")
        same_domain = connector.login_domain is not None and (
            connector.login_domain.strip().lower() in _domain_names(state, suffix)
        )
        if upn_user.strip().lower() == user and same_domain:
            return Verdict("pass", f"Connect signs in as {found}, the account the policy names")
        return Verdict(
            "unknown",
            f"Connect signs in as {found}; the policy names the account by user principal name "
            f"({named}), which the Connect evidence does not state",
        )
    if is_valid_dn(named):
        first = named.split(",", 1)[0].partition("=")[2].strip().lower()
        if first == user:
            return Verdict(
                "pass", f"Connect signs in as {found}, whose name the policy's DN {named} holds"
            )
        return Verdict(
            "unknown",
            f"Connect signs in as {found}; the policy names the account by DN ({named}), which "
            "the Connect evidence does not state",
        )
    if named.lower() == user:
        return Verdict("pass", f"Connect signs in as {found}, the account the policy names")
    return Verdict("fail", f"Connect signs in as {found}, the policy names {named}")


# -- device writeback forest and container ----------------------------------------------------


def observed_device_locations(state: ObservedState | None) -> list[str]:
    """``msDS-DeviceLocation`` of every DRS object the AD read found (in DN order)."""
    if state is None or state.ad is None:
        return []
    keys = {dn_key(d) for d in state.ad.drs_services}
    out: list[str] = []
    for obj in state.ad.objects:
        if obj.exists and dn_key(obj.dn) in keys:
            out.extend(obj.attributes.get("msDS-DeviceLocation", ()))
    return out


def device_location_check(evidence: ConnectEvidence, state: ObservedState | None) -> Verdict:
    """Connect's ``Microsoft.DeviceWriteBack.Forest``/``.Container`` against the observed forest
    and ``msDS-DeviceLocation``: devices are written where Connect says, and must land where the
    DRS object says they are."""
    # UNCONFIRMED: the value formats. The parameter names are in Microsoft's sample export, but
    # every public sample has them empty (device writeback off): the forest is read as a DNS
    # name and the container as a DN; anything else is unknown, never a mismatch.
    forest = evidence.device_writeback_forest
    container = evidence.device_writeback_container
    problems: list[str] = []
    unknown: list[str] = []
    observed_forest = state.ad.forest if state is not None and state.ad is not None else None
    if not isinstance(forest.value, str):
        unknown.append("the evidence states no device writeback forest")
    elif observed_forest is None:
        unknown.append("the forest was not read")
    elif forest.value.strip().lower().rstrip(".") != observed_forest.lower().rstrip("."):
        problems.append(
            f"Connect writes devices back to the forest {forest.value}, not {observed_forest}"
        )
    locations = observed_device_locations(state)
    if not isinstance(container.value, str):
        unknown.append("the evidence states no device writeback container")
    elif not is_valid_dn(container.value):
        unknown.append(f"the device writeback container {container.value!r} is not a DN")
    elif not locations:
        unknown.append("no msDS-DeviceLocation was read (no device registration service object)")
    elif all(dn_key(container.value) != dn_key(loc) for loc in locations):
        problems.append(
            f"Connect writes devices to {container.value}, but msDS-DeviceLocation names "
            f"{' and '.join(locations)}"
        )
    if problems:
        return Verdict("fail", "; ".join(problems))
    if unknown:
        return Verdict("unknown", "; ".join(unknown))
    return Verdict(
        "pass",
        f"Connect writes devices to {container.value} in {forest.value}, as msDS-DeviceLocation says",
    )


# -- version -----------------------------------------------------------------------------------


def evidence_version(state: ObservedState | None) -> Fact | None:
    """The installed Connect version from evidence that counts (None: no such evidence, or it
    states no version)."""
    ev = usable(state)
    if ev is None or not isinstance(ev.version.value, str) or not ev.version.value.strip():
        return None
    return ev.version
