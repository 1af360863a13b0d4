"""ACEs in the words administrators read in ``dsacls`` output: ``deny CA Reset Password to
CONTOSO\\MSOL_1a2b3c4d5e6f (inherited)`` instead of masks and GUIDs (pure).

Names come from the observed schema (lDAPDisplayNames and extended-right names resolved at run
time), the reference tables, and the trustee names the snapshot recorded (``AdState.principals``,
resolved by objectSid during the read); a GUID or SID without a known name is shown as it is.
"""

from __future__ import annotations

from planner.model.dn import is_at_or_under
from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS, EXTENDED_RIGHTS, PROPERTY_SETS
from planner.model.state import (
    CONTAINER_INHERIT_ACE,
    INHERIT_ONLY_ACE,
    NO_PROPAGATE_INHERIT_ACE,
    Ace,
    ObservedState,
)

# dsacls abbreviations (dsacls /?), most specific first so that GA/GR/GW absorb their bits.
_COMPOSITES = (
    ("GA", 0xF01FF),
    ("GR", 0x20094),
    ("GW", 0x20028),
)
_BITS = (
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("WS", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CA", 0x100),
    ("SD", 0x10000),
    ("RC", 0x20000),
    ("WD", 0x40000),
    ("WO", 0x80000),
)
_GENERIC = (("GA", 0x10000000), ("GE", 0x20000000), ("GW", 0x40000000), ("GR", 0x80000000))

WELL_KNOWN_SIDS = {
    "S-1-1-0": "Everyone",
    "S-1-5-2": "NETWORK",
    "S-1-5-9": "ENTERPRISE DOMAIN CONTROLLERS",
    "S-1-5-10": "SELF",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-15": "This Organization",
    "S-1-5-18": "SYSTEM",
    "S-1-3-0": "CREATOR OWNER",
    "S-1-5-32-544": "BUILTIN\\Administrators",
    "S-1-5-32-545": "BUILTIN\\Users",
    "S-1-5-32-554": "BUILTIN\\Pre-Windows 2000 Compatible Access",
}
DOMAIN_RIDS = {
    "512": "Domain Admins",
    "513": "Domain Users",
    "518": "Schema Admins",
    "519": "Enterprise Admins",
    "526": "Key Admins",
    "527": "Enterprise Key Admins",
}
_PROPERTY_SET_NAMES = {
    "4c164200-20c0-11d0-a768-00aa006e0529": "User-Account-Restrictions",
    "77b5b886-944a-11d1-aebd-0000f80367c1": "Personal-Information",
    "e48d0154-bcf8-11d1-8702-00c04fb96050": "Public-Information",
}


def mask_words(mask: int) -> str:
    """``0x20`` → ``WP``; ``0xf01ff`` → ``GA``; ``0x30`` → ``RP WP``."""
    words: list[str] = []
    rest = mask
    for name, bits in _GENERIC:
        if rest & bits:
            words.append(name)
            rest &= ~bits
    for name, bits in _COMPOSITES:
        # judged on the whole mask: GR and GW share READ_CONTROL
        if mask & bits == bits and rest & bits:
            words.append(name)
            rest &= ~bits
    for name, bits in _BITS:
        if rest & bits:
            words.append(name)
            rest &= ~bits
    if rest:
        words.append(hex(rest))
    return " ".join(words) or "0x0"


class Names:
    """GUID and SID names for one observation."""

    def __init__(self, state: ObservedState | None, connector: str | None = None) -> None:
        self.guids: dict[str, str] = {}
        tables = (CLASS_GUIDS, ATTRIBUTE_GUIDS, EXTENDED_RIGHTS)
        for table in tables:
            for name, guid in table.items():
                self.guids[guid.lower()] = name
        for guid, name in _PROPERTY_SET_NAMES.items():
            self.guids[guid] = name
        for guid in PROPERTY_SETS.values():
            self.guids.setdefault(guid.lower(), guid)
        self.guids[EXTENDED_RIGHTS["User-Force-Change-Password"]] = "Reset Password"
        self.guids[EXTENDED_RIGHTS["Unexpire-Password"]] = "Unexpire Password"
        self.sids: dict[str, str] = dict(WELL_KNOWN_SIDS)
        ad = state.ad if state else None
        if ad is not None:
            info = ad.schema_info
            for mapping in (info.classes, info.attributes):
                for name, found in mapping.items():
                    if found:
                        self.guids[found.lower()] = name
            for name, found in info.extended_rights.items():
                if found:
                    self.guids.setdefault(found.lower(), name)
            for d in ad.domains:
                if d.sid:
                    prefix = f"{d.netbios_name or d.dns_name}\\"
                    for rid, group in DOMAIN_RIDS.items():
                        self.sids[f"{d.sid}-{rid}"] = prefix + group
            # names resolved during the read win over the RID guesses above (a renamed group)
            self.sids.update({sid.upper(): name for sid, name in ad.principals.items()})
            for name, sid in ad.well_known_groups.items():
                if sid:
                    self.sids.setdefault(sid, name)
            if ad.connector is not None and ad.connector.sid:
                self.sids[ad.connector.sid] = connector or ad.connector.account
            gmsa = ad.cloud_sync.gmsa if ad.cloud_sync is not None else None
            if gmsa is not None and gmsa.sid.upper() not in self.sids:
                # the Cloud Sync gMSA before any DACL names it (trustees are resolved from DACLs)
                home = next((d for d in ad.domains if is_at_or_under(gmsa.dn, d.dn)), None)
                label = (home.netbios_name or home.dns_name) if home else None
                name = gmsa.sam_account_name or gmsa.dn
                self.sids[gmsa.sid.upper()] = f"{label}\\{name}" if label else name

    def guid(self, guid: str | None) -> str | None:
        """Name of a schema / right GUID (the GUID itself when unknown)."""
        if guid is None:
            return None
        return self.guids.get(guid.lower(), guid)

    def sid(self, sid: str) -> str:
        """``DOMAIN\\name`` or a well-known name; the SID itself when unknown."""
        return self.sids.get(sid.upper(), sid)

    def ace(self, ace: Ace) -> str:
        """``deny CA Reset Password on descendant user objects to CONTOSO\\MSOL_… (inherited)``."""
        words = [ace.qualifier, mask_words(ace.mask)]
        target = self.guid(ace.object_type)
        if target:
            words.append(target)
        inherit = ace.flags & (CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE)
        cls = self.guid(ace.inherited_object_type)
        if inherit == CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE:
            words.append(f"on descendant {cls} objects" if cls else "on descendant objects")
        elif inherit == CONTAINER_INHERIT_ACE:
            words.append(
                f"on this object and descendant {cls} objects"
                if cls
                else "on this object and descendants"
            )
        if ace.flags & NO_PROPAGATE_INHERIT_ACE:
            words.append("(one level)")
        name = self.sid(ace.trustee)
        # Names first; a domain principal's SID beside it (well-known names are unambiguous).
        shown = (
            f"{name} ({ace.trustee})"
            if name != ace.trustee and ace.trustee.upper().startswith("S-1-5-21-")
            else name
        )
        words.append(f"to {shown}")
        if ace.inherited:
            words.append("(inherited)")
        return " ".join(words)
