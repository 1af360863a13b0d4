"""The AD DS connector account (DN, objectSid, tokenGroups) and the well-known groups some
features depend on (Key Admins / Enterprise Key Admins).

The policy names the connector as ``DOMAIN\\sAMAccountName``, a UPN, or a DN (domain.md §0.3).
``tokenGroups`` is a constructed attribute that AD and Samba return only to a base-scope search
on the account itself; it lists every security group the account is in, transitively,
including domain-local and BUILTIN groups (samba.md) — which is what an access check uses.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.model.dn import is_valid_dn
from planner.model.state import ConnectorAccount, Domain
from planner.observe.ad_common import AdReader, escape_filter_value
from planner.observe.ldapconn import Entry
from planner.observe.sd import SecurityDescriptorError, sid_from_bytes, sid_to_bytes

KEY_ADMINS_RID = 526
ENTERPRISE_KEY_ADMINS_RID = 527


def _find_account(reader: AdReader, account: str, domains: Sequence[Domain]) -> Entry | None:
    if "\\" in account:
        netbios, sam = account.split("\\", 1)
        scope = [d for d in domains if (d.netbios_name or "").lower() == netbios.lower()]
        search = f"(sAMAccountName={escape_filter_value(sam)})"
    elif "@" in account and not is_valid_dn(account):
        scope = list(domains)
        search = f"(userPrincipalName={escape_filter_value(account)})"
    else:
        return reader.session.read(account, ["objectSid"])
    for domain in scope:
        found = list(reader.session.search(domain.dn, search, ["objectSid"]))
        if found:
            return found[0]
    return None


def read_connector(
    reader: AdReader, account: str, domains: Sequence[Domain]
) -> ConnectorAccount | None:
    """Find the connector and read its SID and tokenGroups; None when the read failed (an
    ``Unread`` entry says why), ``found=False`` when the account does not exist."""
    with reader.section("ad.connector"):
        found = _find_account(reader, account, domains)
        if found is None:
            return ConnectorAccount(account=account, found=False)
        # tokenGroups needs a base-scope search on the account's own DN.
        entry = reader.session.read(found.dn, ["objectSid", "tokenGroups"]) or found
        sid = None
        if entry.raw("objectSid"):
            sid = sid_from_bytes(entry.raw("objectSid")[0])
        groups: list[str] = []
        for raw in entry.raw("tokenGroups"):
            try:
                groups.append(sid_from_bytes(raw))
            except SecurityDescriptorError as exc:
                reader.note("ad.connector.token_groups", str(exc))
        if not entry.raw("tokenGroups"):
            reader.note(
                "ad.connector.token_groups",
                "tokenGroups was not returned: the bind account may not read it on the "
                "connector, so rights held through groups are not seen",
            )
        return ConnectorAccount(
            account=account,
            found=True,
            dn=found.dn,
            sid=sid,
            token_groups=tuple(sorted(set(groups))),
        )
    return None


def read_key_admin_groups(
    reader: AdReader, domains: Sequence[Domain], forest_root: Domain | None, default_nc: str
) -> dict[str, str | None]:
    """``Key Admins`` (RID 526 of this DC's domain) and ``Enterprise Key Admins`` (RID 527 of
    the forest root domain) → SID, or None when the group does not exist (they appear only
    once a Windows Server 2016 DC held the PDC emulator role, domain.md §6). A group whose
    domain this DC does not hold is left out, with an ``Unread`` entry."""
    own = next((d for d in domains if d.dn.lower() == default_nc.lower()), None)
    wanted = {
        "Key Admins": (own, KEY_ADMINS_RID),
        "Enterprise Key Admins": (forest_root, ENTERPRISE_KEY_ADMINS_RID),
    }
    result: dict[str, str | None] = {}
    for name, (domain, rid) in wanted.items():
        if domain is None or not domain.sid:
            reader.note(f"ad.well_known_groups[{name}]", "the SID of its domain is unknown")
            continue
        if domain.dn.lower() != default_nc.lower():
            reader.note(
                f"ad.well_known_groups[{name}]",
                f"this DC does not hold {domain.dns_name}; read it from a DC of that domain",
            )
            continue
        sid = f"{domain.sid}-{rid}"
        search = f"(objectSid={escape_filter_value(sid_to_bytes(sid))})"
        with reader.section(f"ad.well_known_groups[{name}]"):
            found = list(reader.session.search(domain.dn, search, ["objectSid"]))
            result[name] = sid if found else None
    return result
