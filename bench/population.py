"""Generate the benchmark directory: a realistic AD tree as LDIF, added offline to a stopped
Samba AD DC in one ``ldbadd`` transaction.

Why offline and in batch mode: every add over LDAP is its own transaction and rewrites the index
records that list every object of a class (objectClass=user, objectCategory=person,
sAMAccountType, primaryGroupID, userAccountControl …), so population over LDAP is quadratic
(``shared/samba.md``: 44 min for 100,000 users). A single plain ``ldbadd`` transaction is no
better: ldb opens a nested sub-transaction per record and copies those same index lists into
it, one allocation per element. ldb's ``batch_mode`` connect option (``ldbadd -o batch_mode:1``)
drops the per-record sub-transaction (a failed record then aborts the whole load — which is
what a benchmark build wants) and makes the load linear. The records still go through Samba's
whole ``samba_dsdb`` module stack, exactly as over LDAP: SIDs from the RID pool, GUIDs,
replication metadata, security descriptors computed with inheritance from the parent.

The tree (:func:`tree_ldif`):

* ``OU=Corp`` at the domain root, the password writeback scope; under it ``ous - 1`` nested OUs
  laid out as a heap with fan-out :data:`FANOUT` (depth ≈ 5 for 10,000 OUs);
* users spread round-robin over those OUs (never on ``OU=Corp`` itself); every
  :attr:`TreeParams.disabled_every`-th disabled, every :attr:`TreeParams.admin_every`-th with
  ``adminCount=1``;
* every :attr:`TreeParams.protected_every`-th OU with a protected DACL (inheritance disabled,
  inherited ACEs gone); one in four of those carries the connector's password writeback ACEs
  explicitly, the others do not (what WB-PWD-002 reports);
* the connector's password writeback ACEs on the domain root (inherited by everything), again
  explicitly on a few OUs, and a deny of Reset Password on one OU;
* ``OU=CloudGroups`` with groups and the connector's group-writeback ACEs; the device writeback
  tree (DRS container, service and ``CN=RegisteredDevices`` with msDS-Device objects).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass

BASE_DN = "DC=contoso,DC=test"
CONFIG_DN = f"CN=Configuration,{BASE_DN}"
SCOPE_DN = f"OU=Corp,{BASE_DN}"
GROUPS_DN = f"OU=CloudGroups,{BASE_DN}"
DEVICES_DN = f"CN=RegisteredDevices,{BASE_DN}"
DRS_CONFIGURATION_DN = f"CN=Device Registration Configuration,CN=Services,{CONFIG_DN}"
DRS_SERVICES_DN = f"CN=Device Registration Services,{DRS_CONFIGURATION_DN}"
DRS_SERVICE_DN = f"CN=DeviceRegistrationService,{DRS_SERVICES_DN}"
FANOUT = 8

RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
GROUP_CLASS = "bf967a9c-0de6-11d0-a285-00aa003049e2"


@dataclass(frozen=True)
class TreeParams:
    """What the generated directory holds; its hash keys the cache."""

    ous: int
    users: int
    protected_every: int = 20
    admin_every: int = 200
    disabled_every: int = 10
    granted_every: int = 500
    groups: int = 50
    devices: int = 50
    generator: int = 1
    """Bumped whenever the generated content changes, so old caches are not reused."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


SIZES = {
    "ci": TreeParams(ous=2_000, users=20_000),
    "large": TreeParams(ous=10_000, users=100_000),
    "tiny": TreeParams(ous=200, users=2_000),
}


def ou_dn(i: int) -> str:
    """DN of OU number ``i`` (0 is ``OU=Corp``; OU i ≥ 1 sits under OU (i - 1) // FANOUT)."""
    parts = []
    while i > 0:
        parts.append(f"OU=Unit{i:05d}")
        i = (i - 1) // FANOUT
    return ",".join([*parts, SCOPE_DN])


def password_aces(sid: str, inherit: str = "CIIO") -> str:
    """What Set-ADSyncPasswordWritebackPermissions grants: descendant users (SDDL)."""
    return "".join(
        f"(OA;{inherit};{right};{guid};{USER_CLASS};{sid})"
        for right, guid in (("CR", RESET_PASSWORD), ("WP", LOCKOUT_TIME), ("WP", PWD_LAST_SET))
    )


def _protected_sddl(connector_sid: str, granted: bool) -> str:
    # Inheritance disabled and the inherited entries removed: only these explicit ACEs remain.
    aces = "(A;;0xf01ff;;;DA)(A;;0xf01ff;;;SY)(A;CI;0x20094;;;AU)(A;CI;0x20094;;;ED)"
    return f"D:PAI{aces}{password_aces(connector_sid) if granted else ''}"


@dataclass(frozen=True)
class Expected:
    """Counts the generated tree must produce (checked against what the benchmark reads)."""

    ous: int
    protected_ous: int
    users: int
    admin_count_users: int
    groups: int
    devices: int


def expected(params: TreeParams) -> Expected:
    """What a scan of ``OU=Corp`` (root excluded) and of the group / device containers finds."""
    protected = sum(1 for i in range(1, params.ous) if _is_protected(params, i))
    admins = sum(1 for j in range(params.users) if _is_admin(params, j))
    return Expected(
        ous=params.ous - 1,
        protected_ous=protected,
        users=params.users,
        admin_count_users=admins,
        groups=params.groups,
        devices=params.devices,
    )


def _is_protected(params: TreeParams, i: int) -> bool:
    return i % params.protected_every == params.protected_every // 2


def _is_admin(params: TreeParams, j: int) -> bool:
    return j % params.admin_every == params.admin_every - 1


def _record(dn: str, *lines: str) -> str:
    return "\n".join([f"dn: {dn}", *lines]) + "\n\n"


def tree_ldif(params: TreeParams, connector_sid: str) -> Iterator[str]:
    """LDIF records (parents before children) for the whole generated tree."""
    yield _record(SCOPE_DN, "objectClass: organizationalUnit")
    deny_ou = min(7, params.ous - 1)
    protected_seen = 0
    for i in range(1, params.ous):
        lines = ["objectClass: organizationalUnit"]
        if _is_protected(params, i):
            protected_seen += 1
            granted = protected_seen % 4 == 0
            lines.append(f"nTSecurityDescriptor: {_protected_sddl(connector_sid, granted)}")
        elif i == deny_ou:
            # A deny placed by someone who meant to fence off this OU: canonical order puts it
            # before every allow, so it beats the inherited grant for the users below.
            deny = f"(OD;CIIO;CR;{RESET_PASSWORD};{USER_CLASS};{connector_sid})"
            lines.append(f"nTSecurityDescriptor: D:AI{deny}")
        elif i % params.granted_every == 0:
            lines.append(f"nTSecurityDescriptor: D:AI{password_aces(connector_sid)}")
        yield _record(ou_dn(i), *lines)
    for j in range(params.users):
        sam = f"user{j:06d}"
        uac = 514 if j % params.disabled_every == 0 else 544  # no password: PASSWD_NOTREQD
        lines = [
            "objectClass: user",
            f"sAMAccountName: {sam}",
            f"userPrincipalName: {sam}@contoso.test",
            f"givenName: Given{j % 997}",
            f"sn: Family{j}",
            f"displayName: Given{j % 997} Family{j}",
            f"userAccountControl: {uac}",
        ]
        if _is_admin(params, j):
            lines.append("adminCount: 1")
        yield _record(f"CN={sam},{ou_dn(1 + j % (params.ous - 1))}", *lines)
    yield from _groups_ldif(params, connector_sid)
    yield from _devices_ldif(params)


def _groups_ldif(params: TreeParams, connector_sid: str) -> Iterator[str]:
    grants = (
        f"(OA;;CCDC;{GROUP_CLASS};;{connector_sid})(OA;CIIO;0xf01ff;;{GROUP_CLASS};{connector_sid})"
    )
    yield _record(
        GROUPS_DN, "objectClass: organizationalUnit", f"nTSecurityDescriptor: D:AI{grants}"
    )
    for g in range(params.groups):
        yield _record(
            f"CN=Group{g:04d},{GROUPS_DN}",
            "objectClass: group",
            f"sAMAccountName: Group{g:04d}",
            "groupType: -2147483646",
        )


def _devices_ldif(params: TreeParams) -> Iterator[str]:
    yield _record(DRS_CONFIGURATION_DN, "objectClass: container")
    yield _record(DRS_SERVICES_DN, "objectClass: msDS-DeviceRegistrationServiceContainer")
    yield _record(DEVICES_DN, "objectClass: msDS-DeviceContainer")
    yield _record(
        DRS_SERVICE_DN,
        "objectClass: msDS-DeviceRegistrationService",
        f"msDS-DeviceLocation: {DEVICES_DN}",
        "msDS-IsEnabled: TRUE",
        "msDS-MaximumRegistrationInactivityPeriod: 90",
        "msDS-RegistrationQuota: 10",
    )
    for d in range(params.devices):
        device_id = uuid.UUID(int=d + 1).bytes_le  # deterministic: same params, same tree
        name = f"Device{d:05d}"
        yield _record(
            f"CN={name},{DEVICES_DN}",
            "objectClass: msDS-Device",
            f"msDS-DeviceID:: {base64.b64encode(device_id).decode()}",
            "msDS-IsEnabled: TRUE",
            f"altSecurityIdentities: X509:<SHA1-PUKEY>{name}",
            f"displayName: {name}",
        )
