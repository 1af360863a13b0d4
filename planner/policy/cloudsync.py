"""Semantic checks of the ``cloud_sync`` section: what Microsoft Entra Cloud Sync does not support,
and Cloud Sync against the Entra Connect features of the same policy (codes ``WBP060``–``WBP067``,
``planner/policy/codes.py``).

**Which domains a Connect feature serves.** Cloud Sync "can run side-by-side with Microsoft Entra
Connect at the domain level", each service serving different domains (M11), and "an object should
be in scope in only one of the tools" (M10). wbplan reads a Connect feature's domains from its
policy: ``writeback.password`` and ``writeback.exchange_hybrid`` serve, when ``enabled: true``,
the domain of each of their ``scope`` roots (the domain whose ``DC=`` components end the DN: a
root in ``DC=contoso,DC=com`` serves ``contoso.com``, not its child ``emea.contoso.com``, since
ACE inheritance stops at a domain's naming context), and every domain of the forest when
``scope`` is empty (its default: every domain root). A Cloud Sync entry enabling the same feature
for one of those domains is refused (``WBP063``). Connect group writeback v1 (Microsoft 365 groups)
and Cloud Sync group provisioning (security groups) are different features and may coexist; v2
may not (``WBP062``).

Like the other semantic checks these run on the raw parsed data, tolerating what the schema
already reported (``shape_paths``), so one run reports every problem.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from planner.model.dn import DnError, dns_name_of, split_rdns
from planner.policy.codes import see
from planner.policy.shape import quoted

if TYPE_CHECKING:
    from planner.policy.semantics import _Checker
    from planner.policy.yamlmarks import PathKey

MAX_CONFIGURATIONS = 20
"""Most Cloud Sync configurations one tenant may have ("A maximum of 20 configurations (domains)
can be configured per tenant", M13; "up to 20 configurations per tenant", M12)."""

_NAME_CHAR = r"[^\\/\[\]:;|=,+*?<>\"@]"
_GMSA = re.compile(
    rf"^(?P<domain>[A-Za-z0-9][A-Za-z0-9 ._-]{{0,14}})\\(?P<name>(?!\s){_NAME_CHAR}+)$"
)
"""``DOMAIN\\name``: a NetBIOS domain name (as ``connector.account``), a backslash, an account
name without the characters sAMAccountName forbids."""

_FEATURE_WORDS = {"password_writeback": "password writeback", "exchange_hybrid": "Exchange hybrid"}
_CONNECT_FEATURE = {"password_writeback": "password", "exchange_hybrid": "exchange_hybrid"}


def domain_key(value: str) -> str:
    """A DNS name as compared: lower case, no trailing dot."""
    return value.lower().rstrip(".")


def _dc_suffix(domain: str) -> str:
    return ",".join(f"DC={label}" for label in domain.split("."))


class _CloudSyncChecks:
    def __init__(self, checker: _Checker, section: dict[str, Any]) -> None:
        self.c = checker
        self.section = section
        self.forest = checker.dns_of_forest()

    # -- helpers -----------------------------------------------------------------------------
    def entries(self) -> list[tuple[int, dict[str, Any]]]:
        domains = self.section.get("domains")
        if not isinstance(domains, list):
            return []
        return [(i, e) for i, e in enumerate(domains) if isinstance(e, dict)]

    def domain_of(self, i: int, entry: dict[str, Any]) -> str | None:
        """The entry's domain when it is well formed (the schema reports the rest)."""
        value = entry.get("domain")
        if (
            not isinstance(value, str)
            or ("cloud_sync", "domains", i, "domain") in self.c.shape_paths
        ):
            return None
        return domain_key(value)

    def line_of(self, path: PathKey) -> int:
        return self.c.parsed.mark(path).line

    # -- checks ------------------------------------------------------------------------------
    def run(self) -> None:
        self.check_gmsa()
        self.check_count()
        seen: dict[str, int] = {}
        for i, entry in self.entries():
            domain = self.domain_of(i, entry)
            if domain is not None:
                self.check_in_forest(i, entry, domain)
                if domain in seen:
                    self.duplicate(i, entry, domain, seen[domain])
                seen.setdefault(domain, i)
            self.check_target_ous(i, entry, domain)
            self.check_migration(i, entry, domain)
            self.check_group_v2(i, entry)
            if domain is not None:
                for feature in ("password_writeback", "exchange_hybrid"):
                    if entry.get(feature) is True:
                        self.check_both_engines(i, domain, feature)

    def check_gmsa(self) -> None:
        gmsa = self.section.get("gmsa")
        account = gmsa.get("account") if isinstance(gmsa, dict) else None
        path: PathKey = ("cloud_sync", "gmsa", "account")
        if not isinstance(account, str) or path in self.c.shape_paths:
            return
        m = _GMSA.match(account)
        hint = (
            "name the gMSA you created beforehand as the agent takes it (Add-AADCloudSyncGMSA"
            " -CustomGMSAName name$), with its NetBIOS domain; or remove cloud_sync.gmsa to use"
            f" the gMSA the agent creates ({see('WBP065')})"
        )
        if m is None:
            name = account.rsplit("\\", 1)[-1].split("@", 1)[0] or "name"
            self.c.add(
                path,
                "WBP065",
                "a custom gMSA is named DOMAIN\\name$: the NetBIOS domain name, a backslash and"
                " the account name",
                expected=f"DOMAIN\\{name if name.endswith('$') else name + '$'}",
                found=quoted(account),
                hint=hint,
            )
        elif not m.group("name").endswith("$"):
            self.c.add(
                path,
                "WBP065",
                "a gMSA's account name ends in '$' (the agent shows its default gMSA as"
                " DOMAIN\\provAgentgMSA$)",
                expected=f"{m.group('domain')}\\{m.group('name')}$",
                found=quoted(account),
                hint=hint,
            )

    def check_count(self) -> None:
        domains = self.section.get("domains")
        if not isinstance(domains, list) or len(domains) <= MAX_CONFIGURATIONS:
            return
        self.c.add(
            ("cloud_sync", "domains"),
            "WBP061",
            f"{len(domains)} Cloud Sync configurations: Microsoft supports at most"
            f" {MAX_CONFIGURATIONS} configurations (domains) per tenant",
            expected=f"at most {MAX_CONFIGURATIONS} entries, one per AD domain",
            found=f"{len(domains)} entries",
            hint=f"serve the other domains with Entra Connect ({see('WBP061')})",
            at_key=True,
        )

    def check_in_forest(self, i: int, entry: dict[str, Any], domain: str) -> None:
        if self.forest is None or domain == self.forest or domain.endswith("." + self.forest):
            return
        self.c.add(
            ("cloud_sync", "domains", i, "domain"),
            "WBP066",
            "the Cloud Sync domain is not in the declared forest",
            expected=f"{self.forest} or one of its child domains",
            found=quoted(str(entry["domain"])),
            hint="a policy describes one forest: declare another forest's domains in its own"
            " policy file",
        )

    def duplicate(self, i: int, entry: dict[str, Any], domain: str, first: int) -> None:
        first_path: PathKey = ("cloud_sync", "domains", first, "domain")
        self.c.add(
            ("cloud_sync", "domains", i, "domain"),
            "WBP060",
            f"a second Cloud Sync entry for {domain}: Microsoft allows only one configuration per"
            " AD domain",
            expected="one entry per domain, holding all of its features (group_provisioning,"
            " password_writeback, exchange_hybrid)",
            found=f"{quoted(str(entry['domain']))}, already entry [{first}] on line"
            f" {self.line_of(first_path)}",
            hint=f"merge the two entries ({see('WBP060')})",
        )

    def check_target_ous(self, i: int, entry: dict[str, Any], domain: str | None) -> None:
        gp = entry.get("group_provisioning")
        ous = gp.get("target_ous") if isinstance(gp, dict) else None
        if not isinstance(ous, list):
            return
        for j, value in enumerate(ous):
            self.check_domain_dn(
                ("cloud_sync", "domains", i, "group_provisioning", "target_ous", j),
                value,
                domain,
                example="OU=CloudGroups,DC=contoso,DC=com",
                code="WBP064",
                message=f"the target OU is not in {domain}: a configuration provisions groups into"
                " the AD domain it was created for",
                hint="pick an OU of this domain, or give the OU's domain a cloud_sync entry of its"
                f" own ({see('WBP064')})",
            )

    def check_migration(self, i: int, entry: dict[str, Any], domain: str | None) -> None:
        """``migrate_from_connect_v2.ou``: a DN of this entry's domain (Microsoft's migration
        copies the anchor of the groups v2 wrote there, and the configuration that takes them
        over provisions into this domain only)."""
        gp = entry.get("group_provisioning")
        migration = gp.get("migrate_from_connect_v2") if isinstance(gp, dict) else None
        self.check_domain_dn(
            ("cloud_sync", "domains", i, "group_provisioning", "migrate_from_connect_v2", "ou"),
            migration.get("ou") if isinstance(migration, dict) else None,
            domain,
            example="OU=WritebackContainer,DC=contoso,DC=com",
            code="WBP067",
            message=f"the group writeback v2 OU is not in {domain}: this configuration takes over"
            " groups of its own AD domain only",
            hint="name the OU v2 wrote this domain's groups to, or declare the migration in the"
            f" cloud_sync entry of the OU's domain ({see('WBP067')})",
        )

    def check_domain_dn(
        self,
        path: PathKey,
        value: object,
        domain: str | None,
        *,
        example: str,
        code: str,
        message: str,
        hint: str,
    ) -> None:
        """``value`` at ``path`` is a DN (WBP020) of the entry's ``domain`` (``code``); a value
        the schema already refused, or that is not a string, is left to the schema's error."""
        if not isinstance(value, str) or path in self.c.shape_paths:
            return
        try:
            split_rdns(value)
        except DnError as exc:
            self.c.add(
                path,
                "WBP020",
                f"invalid distinguished name: {exc}",
                expected=f"an RFC 4514 DN such as {example}",
                found=quoted(value),
            )
            return
        if domain is None or dns_name_of(value) == domain:
            return
        self.c.add(
            path,
            code,
            message,
            expected=f"a DN ending in {_dc_suffix(domain)}",
            found=quoted(value),
            hint=hint,
        )

    def check_group_v2(self, i: int, entry: dict[str, Any]) -> None:
        if not isinstance(entry.get("group_provisioning"), dict):
            return
        group = self.c.feature("group")
        if not (group and group.get("version") == "v2" and group.get("enabled") is True):
            return
        self.c.add(
            ("cloud_sync", "domains", i, "group_provisioning"),
            "WBP062",
            "Cloud Sync group provisioning cannot run while Connect group writeback v2 is on:"
            " Microsoft's migration turns v2 off before Cloud Sync takes the groups over",
            expected="writeback.group with version v1 (Microsoft 365 groups), or no"
            " writeback.group",
            found=f"writeback.group enabled with version: v2 (line"
            f" {self.line_of(('writeback', 'group', 'version'))})",
            hint="remove writeback.group (or set version: v1) and declare the move in"
            " group_provisioning.migrate_from_connect_v2 with the OU v2 wrote its groups to:"
            f" wbplan plans Microsoft's migration ({see('WBP062')})",
            at_key=True,
        )

    def connect_domains(self, name: str) -> tuple[bool, dict[str, PathKey]] | None:
        """The domains Connect's feature ``name`` serves: (every domain of the forest, {domain:
        path of the first scope root in it}); None when it is not enabled."""
        feat = self.c.feature(name)
        if not feat or feat.get("enabled") is not True:
            return None
        scope = feat.get("scope")
        if not isinstance(scope, list) or not scope:
            return True, {}
        roots: dict[str, PathKey] = {}
        for k, value in enumerate(scope):
            if isinstance(value, str):
                try:
                    split_rdns(value)
                except DnError:
                    continue
                where = dns_name_of(value)
                if where is not None:
                    roots.setdefault(domain_key(where), ("writeback", name, "scope", k))
        return False, roots

    def check_both_engines(self, i: int, domain: str, feature: str) -> None:
        connect = _CONNECT_FEATURE[feature]
        served = self.connect_domains(connect)
        if served is None:
            return
        everywhere, roots = served
        if everywhere:
            found = (
                f"writeback.{connect} is enabled with no scope, which serves every domain of the"
                f" forest (line {self.line_of(('writeback', connect, 'enabled'))})"
            )
        elif domain in roots:
            root = roots[domain]
            value = self.c.parsed.data["writeback"][connect]["scope"][root[-1]]
            found = (
                f"writeback.{connect}.scope[{root[-1]}] {quoted(value)} is in {domain}"
                f" (line {self.line_of(root)})"
            )
        else:
            return
        words = _FEATURE_WORDS[feature]
        source_id = "M11" if feature == "password_writeback" else "M10"
        self.c.add(
            ("cloud_sync", "domains", i, feature),
            "WBP063",
            f"{words} for {domain} would be served by both Entra Connect and Cloud Sync: the two"
            " can run side by side for different domains, and an object is in scope of one of"
            " them only",
            expected=f"one engine for {words} in {domain}",
            found=found,
            hint=f"remove {feature} here, or limit writeback.{connect}.scope to the other domains"
            f" ({see('WBP063', source_id)})",
            at_key=True,
        )


def check_cloud_sync(checker: _Checker) -> None:
    """Report every problem of the ``cloud_sync`` section through ``checker``."""
    data = checker.parsed.data
    section = data.get("cloud_sync") if isinstance(data, dict) else None
    if isinstance(section, dict):
        _CloudSyncChecks(checker, section).run()
