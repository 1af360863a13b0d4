"""The domain controller is the judge of the Cloud Sync gMSA's rights (issue 18): over randomly
drawn DACLs, wbplan's verdicts for what Cloud Sync does as its gMSA must equal what the DC does
when the gMSA binds and attempts it — before and after applying wbplan's own plan.

**How a test binds as a gMSA on Samba 4.17.** Samba 4.17 stores msDS-GroupManagedServiceAccount
objects but hands out no managed password (``msDS-ManagedPassword``, which Windows constructs from
the KDS root key — MS-ADTS 3.1.1.4.5.39 — is not returned; which later Samba release derives it
is UNCONFIRMED here), and an administrator's LDAP password reset of a gMSA is refused with
insufficientAccessRights: the class's defaultSecurityDescriptor denies Reset Password to
Everyone (MS-ADSC 2.140, ``(OD;;CR;00299570-…;;WD)``), as on Windows. The test owns the DC's
files, so it writes ``unicodePwd`` into ``sam.ldb`` with ``ldbmodify`` (a system session: no
access check; the password_hash module still derives the keys). The gMSA then simple-binds over
LDAPS by DN or ``DOMAIN\\name$``, and the DC builds the token of *that account*: its SID, its
primary group (Domain Computers), its nested group memberships, Everyone and Authenticated
Users. So the DC judges the gMSA's own token, not a stand-in's (a normal user given the same
groups would differ in SID and primary group). A Kerberos bind with a keytab exported for the
gMSA was not needed and not tried. :func:`test_a_gmsa_binds_only_after_its_password_is_planted`
pins each step (no managed password, refused reset, failed bind, then a bind acting as the
gMSA's SID).

What differs from Windows, and so stays unjudged here: the logon itself (on Windows the agent
logs on with Kerberos keys derived from the KDS root key; here a simple bind with a planted
password — the token's group SIDs are the same, but Samba 4.17 puts no This Organization SID in
it, so allow ACEs to S-1-5-15 are not drawn: wbplan counts them for deny ACEs only, pinned by the
connector's judge); SDProp on adminCount=1 users (Samba has none; wbplan's current verdict is
the object's own DACL, compared here).

Each configuration builds a target OU with two levels of sub-OUs holding security groups and
users (some inetOrgPerson, some adminCount=1), then draws ACEs — allow or deny; to the gMSA, a
global group it is in, a domain-local group that group is nested in, its primary group Domain
Computers, Everyone, Authenticated Users or an unrelated user; write ``member``, a mapped
attribute, ``cn``, ``name``, a property set, every property, Delete, Delete tree, Create/Delete
group children (for groups, every class or the OU class), Reset Password, WP
lockoutTime/pwdLastSet, full control, generic write or all (also as an object ACE for the group
class); inherited (to groups, users, inetOrgPersons or every
class, with and without NO_PROPAGATE) or explicit — and protects some OUs, groups and users
(keeping or dropping the inherited copies). The gMSA then attempts, and the DC answers (success
or insufficientAccessRights):

- in the target OU: create a group (WB-CS-110's Create group children, the plan's
  ``create-delete-groups`` grant judged by ``planner.diff.ad.diff_ace``);
- on every group below it: replace ``member``, ``description``, ``displayName``,
  ``adminDescription``, ``msDS-ExternalDirectoryObjectId``, rename it (``cn``) and delete it
  (``planner.scope_rights`` with ``principal="gmsa"``, the analysis WB-CS-110 reads);
- on every user: reset the password, write ``lockoutTime`` and ``pwdLastSet`` (the analysis
  WB-CS-111 reads, scope: the domain root).

The first runs found three engine bugs, fixed in ``planner.scope_rights`` and ``planner.rights``
and pinned on built observations by ``tests/rules/test_delete_via_parent.py``: a delete is also
allowed by Delete child on the parent (wbplan had said "denied" where the DC deleted); a rename
needs Write Property on ``name`` as well as on ``cn`` (wbplan had said "granted" where the DC
refused); a right without an object type (Delete) is also decided by an object ACE for the
object's own class (wbplan had said "missing" where the DC deleted). A fourth came from reading
Samba's acl_add while fixing those, was confirmed on the DC and fixed in ``planner.diff.ad``, and
is now in the draw: Create child for the OU's own class gives no right to create groups in it
(wbplan had said "granted" where the DC refused).

Not judged here: Exchange hybrid writeback's rights (WB-CS-112: same engine, other attributes),
Unexpire Password on the domain root, creating groups anywhere but the target OU itself, moving
a group between OUs, and anything only a Windows DC decides (the Kerberos logon; whether Windows
checks exactly Samba's pair of rights for a rename).

``WBPLAN_JUDGE_GMSA_CONFIGS`` (default 20) and ``WBPLAN_JUDGE_SEED`` set the run.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import ldap3
import pytest

from planner.diff.ad import diff_ace
from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.state import Ace, ObservedState
from planner.observations import Index
from planner.observe.sd import merge_into_descriptor
from planner.requirements import expand
from planner.scope_rights import analyse
from tests.ad.adops import (
    GROUP,
    GROUP_DOMAIN_LOCAL_SECURITY,
    LOCKOUT_TIME,
    PWD_LAST_SET,
    RESET_PASSWORD,
    USER,
    add_aces,
    add_group,
    add_member,
    add_ou,
    may_replace,
    object_sid,
    protect_without_inherited,
    read_sd,
    write_sd,
)
from tests.ad.cloudsync_ops import (
    add_external_directory_object_id,
    add_gmsa,
    add_kds_root_key,
    cloud_sync_policy,
)
from tests.rules.judge_support import (
    PASSWORD_OPERATIONS,
    add_user,
    attempt_password_operation,
    observe,
    plan_and_apply,
)
from tests.support.samba import SambaDC, SambaFactory

pytestmark = pytest.mark.samba

CONFIGS = int(os.environ.get("WBPLAN_JUDGE_GMSA_CONFIGS", "20"))
SEED = int(os.environ.get("WBPLAN_JUDGE_SEED", "20261201"))

GMSA_PASSWORD = "Gms4!Judge#Passw0rd-only-in-tests"  # planted by the test: Samba derives none
GMSA_SAM = "pGMSA_e6620264$"

INETORGPERSON = "4828cc14-1437-45bc-9b07-ad6f015e5f28"
ORGANIZATIONAL_UNIT = "bf967aa5-0de6-11d0-a285-00aa003049e2"
USER_ACCOUNT_RESTRICTIONS = "4c164200-20c0-11d0-a768-00aa006e0529"
MEMBER = "bf9679c0-0de6-11d0-a285-00aa003049e2"
DESCRIPTION = "bf967950-0de6-11d0-a285-00aa003049e2"
DISPLAY_NAME = "bf967953-0de6-11d0-a285-00aa003049e2"
ADMIN_DESCRIPTION = "bf967919-0de6-11d0-a285-00aa003049e2"
MEMBERSHIP = "bc0ac240-79a9-11d0-9020-00c04fc2d4cf"
GENERAL_INFORMATION = "59ba2f42-79a2-11d0-9020-00c04fc2d3cf"
PUBLIC_INFORMATION = "e48d0154-bcf8-11d1-8702-00c04fb96050"
EXTERNAL_DIRECTORY_OBJECT_ID = "bd29bf90-66ad-40e1-887b-10df070419a6"
PERSONAL_INFORMATION = "77b5b886-944a-11d1-aebd-0000f80367c1"
CN = "bf96793f-0de6-11d0-a285-00aa003049e2"
NAME = "bf967a0e-0de6-11d0-a285-00aa003049e2"
DELETE_TREE = 0x40
GENERIC_ALL, GENERIC_WRITE = 0x10000000, 0x40000000
EVERYONE, AUTHENTICATED_USERS = "S-1-1-0", "S-1-5-11"
CI, IO, NP = 0x02, 0x08, 0x04
CREATE_CHILD, DELETE_CHILD, WRITE_PROPERTY, DELETE = 0x1, 0x2, 0x20, 0x10000

GROUP_OPERATIONS = (
    "write-member",
    "write-description",
    "write-displayName",
    "write-adminDescription",
    "write-msDS-ExternalDirectoryObjectId",
    "write-cn",
    "delete-group",
)
USER_OPERATIONS = PASSWORD_OPERATIONS


# --------------------------------------------------------------------------- the gMSA's bind


def plant_password(dc: SambaDC, dn: str, password: str) -> None:
    """Write ``unicodePwd`` of ``dn`` straight into the DC's sam.ldb (a system session, no
    access check): Samba 4.17 derives no gMSA password, and LDAP refuses the reset."""
    tool = shutil.which("ldbmodify")
    if tool is None:
        pytest.skip("ldbmodify not found: install ldb-tools")
    value = base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode()
    ldif = f"dn: {dn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: {value}\n"
    result = subprocess.run(
        [tool, "-H", str(dc.directory / "private" / "sam.ldb")],
        input=ldif,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ldbmodify failed: {result.stdout}{result.stderr}")


@dataclass
class Principals:
    gmsa_dn: str
    gmsa: str
    agents: str
    """A global group the gMSA is in."""
    nested: str
    """A domain-local group ``agents`` is in."""
    domain_computers: str
    """The gMSA's primary group."""
    other_user: str
    member_dn: str
    """A user the gMSA writes into groups' ``member``."""


@pytest.fixture(scope="module")
def gmsa_dc(samba_factory: SambaFactory) -> Iterator[tuple[SambaDC, Principals]]:
    """A DC ready for Cloud Sync: the 2016 anchor attribute (on groups too), a KDS root key, the
    agent's gMSA with a planted password, in a global group nested into a domain-local one."""
    with samba_factory.running("2012_R2") as dc:
        conn = dc.admin_connection()
        add_external_directory_object_id(conn, dc.schema_dn)  # groups may hold it too
        add_kds_root_key(conn, dc.config_dn, dc.base_dn)
        gmsa = add_gmsa(conn, dc.base_dn, sam=GMSA_SAM)
        plant_password(dc, gmsa, GMSA_PASSWORD)
        agents = add_group(conn, f"CN=CloudSyncAgents,CN=Users,{dc.base_dn}")
        nested = add_group(
            conn,
            f"CN=GroupProvisioners,CN=Users,{dc.base_dn}",
            group_type=GROUP_DOMAIN_LOCAL_SECURITY,
        )
        add_member(conn, agents, gmsa)
        add_member(conn, nested, agents)
        other = dc.create_user("someone.else", "Other!Passw0rd#1")
        member = dc.create_user("member.x", "Memb3r!Passw0rd#1")
        gmsa_sid = object_sid(conn, gmsa)
        yield (
            dc,
            Principals(
                gmsa_dn=gmsa,
                gmsa=gmsa_sid,
                agents=object_sid(conn, agents),
                nested=object_sid(conn, nested),
                domain_computers=gmsa_sid.rsplit("-", 1)[0] + "-515",
                other_user=object_sid(conn, other),
                member_dn=member,
            ),
        )


def test_a_gmsa_binds_only_after_its_password_is_planted(samba_factory: SambaFactory) -> None:
    """The facts the judge rests on, each of which fails loudly if Samba changes: the LDAP
    reset is refused, the gMSA cannot bind without a password, the planted one binds, and the
    bind acts as the gMSA's SID (an ACE to that SID alone decides)."""
    with samba_factory.running("2012_R2") as dc:
        conn = dc.admin_connection()
        gmsa = add_gmsa(conn, dc.base_dn, sam=GMSA_SAM)
        conn.search(gmsa, "(objectClass=*)", ldap3.BASE, attributes=["msDS-ManagedPassword"])
        # Samba 4.17 hands out no managed password: the agent's way in does not exist here.
        assert not conn.entries[0].entry_attributes_as_dict.get("msDS-ManagedPassword")
        with pytest.raises(ldap3.core.exceptions.LDAPInsufficientAccessRightsResult):
            conn.modify(
                gmsa,
                {
                    "unicodePwd": [
                        (ldap3.MODIFY_REPLACE, [f'"{GMSA_PASSWORD}"'.encode("utf-16-le")])
                    ]
                },
            )
        refused = ldap3.Connection(
            ldap3.Server(dc.ip, port=636, use_ssl=True, get_info=ldap3.NONE),
            user=gmsa,
            password=GMSA_PASSWORD,
            raise_exceptions=True,
        )
        try:
            with pytest.raises(ldap3.core.exceptions.LDAPInvalidCredentialsResult):
                refused.bind()
        finally:
            refused.unbind()
        plant_password(dc, gmsa, GMSA_PASSWORD)
        ou = add_ou(conn, f"OU=Pin,{dc.base_dn}")
        group = add_group(conn, f"CN=PinGroup,{ou}")
        for who in (gmsa, f"{dc.netbios_domain}\\{GMSA_SAM}"):
            as_gmsa = dc.connection(who, GMSA_PASSWORD)
            assert not may_replace(as_gmsa, group, "description", "before")
            as_gmsa.unbind()
        sid = object_sid(conn, gmsa)
        add_aces(
            conn,
            group,
            Ace(qualifier="allow", trustee=sid, mask=WRITE_PROPERTY, object_type=DESCRIPTION),
        )
        as_gmsa = dc.connection(gmsa, GMSA_PASSWORD)
        assert may_replace(as_gmsa, group, "description", "after")
        as_gmsa.unbind()


# --------------------------------------------------------------------------- the draw


@dataclass
class Config:
    root: str
    ous: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)
    """What was drawn, for the failure message."""


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)
    """(operation, granted|refused) → count: the draw must exercise every outcome."""
    disagreements: list[str] = field(default_factory=list)

    def add(self, op: str, allowed: bool) -> None:
        key = f"{op}:{'granted' if allowed else 'refused'}"
        self.counts[key] = self.counts.get(key, 0) + 1


def _build(conn: ldap3.Connection, base: str, n: int, rng: random.Random) -> Config:
    cfg = Config(root=add_ou(conn, f"OU=G{n},{base}"))
    cfg.ous.append(cfg.root)
    for name in ("A", "B"):
        ou = add_ou(conn, f"OU={name},{cfg.root}")
        sub = add_ou(conn, f"OU={name}1,{ou}")
        cfg.ous += [ou, sub]
    for i, ou in enumerate(cfg.ous):
        for j in range(rng.choice((1, 2))):
            cfg.groups.append(add_group(conn, f"CN=g{n}x{i}x{j},{ou}"))
        for j in range(rng.choice((0, 1, 1))):
            dn = f"CN=u{n}x{i}x{j},{ou}"
            add_user(conn, dn, inetorg=rng.random() < 0.3, admin=rng.random() < 0.1)
            cfg.users.append(dn)
    return cfg


def _trustee(rng: random.Random, p: Principals) -> str:
    return rng.choice(
        [
            p.gmsa,
            p.gmsa,
            p.agents,
            p.nested,
            p.domain_computers,
            EVERYONE,
            AUTHENTICATED_USERS,
            p.other_user,
        ]
    )


def _rights(rng: random.Random, allow: bool, where: str) -> tuple[int, str | None]:
    """(mask, object type) of a drawn ACE for an OU (``ou``), a group or a user."""
    group_rights: list[tuple[int, str | None]] = [
        (WRITE_PROPERTY, MEMBER),
        (WRITE_PROPERTY, DESCRIPTION),
        (WRITE_PROPERTY, DISPLAY_NAME),
        (WRITE_PROPERTY, ADMIN_DESCRIPTION),
        (WRITE_PROPERTY, MEMBERSHIP),
        (WRITE_PROPERTY, GENERAL_INFORMATION),
        (WRITE_PROPERTY, PUBLIC_INFORMATION),
        (WRITE_PROPERTY, EXTERNAL_DIRECTORY_OBJECT_ID),
        (WRITE_PROPERTY, PERSONAL_INFORMATION),
        (WRITE_PROPERTY, CN),
        (WRITE_PROPERTY, NAME),
        (WRITE_PROPERTY, None),
        (DELETE_TREE, None),
        (WRITE_PROPERTY, GROUP),
        (DELETE, None),
        # A deny of Read Property would hide objects from nobody here (wbplan reads as the
        # administrator) but is not what is judged: denies draw WP, CA and Delete only.
        (0x30 if allow else WRITE_PROPERTY, None),
        (0xF01FF if allow else WRITE_PROPERTY | DELETE, None),
        # generic rights as an ACE may carry them (wbplan maps them to DS rights)
        (GENERIC_WRITE, None),
        (GENERIC_ALL if allow else GENERIC_WRITE, GROUP if allow else None),
    ]
    user_rights: list[tuple[int, str | None]] = [
        (0x100, RESET_PASSWORD),
        (WRITE_PROPERTY, LOCKOUT_TIME),
        (WRITE_PROPERTY, PWD_LAST_SET),
        (WRITE_PROPERTY, USER_ACCOUNT_RESTRICTIONS),
        (WRITE_PROPERTY, None),
        (0xF01FF if allow else 0x120, None),
    ]
    child_rights: list[tuple[int, str | None]] = [
        (CREATE_CHILD, GROUP),
        (DELETE_CHILD, GROUP),
        (CREATE_CHILD | DELETE_CHILD, GROUP),
        (CREATE_CHILD | DELETE_CHILD, None),
        # for the OU's own class: no right on group children (the DC checks the child's class)
        (CREATE_CHILD | DELETE_CHILD, ORGANIZATIONAL_UNIT),
    ]
    if where == "group":
        return rng.choice(group_rights)
    if where == "user":
        return rng.choice(user_rights)
    return rng.choice(group_rights + user_rights + child_rights + child_rights)


def _ace(rng: random.Random, p: Principals, where: str) -> Ace:
    allow = rng.random() >= 0.35
    mask, object_type = _rights(rng, allow, where)
    if where != "ou":
        flags, inherited_type = 0, None
    elif mask & (CREATE_CHILD | DELETE_CHILD):
        # on the OU itself (and, with CI, on the sub-OUs)
        flags, inherited_type = rng.choice([0, CI, CI | NP]), None
    else:
        flags, inherited_type = rng.choice(
            [
                (CI | IO, GROUP),
                (CI | IO, GROUP),
                (CI | IO, USER),
                (CI | IO, INETORGPERSON),
                (CI | IO, None),
                (CI, None),
                (CI | IO | NP, GROUP),
                (CI | NP, None),
            ]
        )
    return Ace(
        qualifier="allow" if allow else "deny",
        trustee=_trustee(rng, p),
        mask=mask,
        flags=flags,
        object_type=object_type,
        inherited_object_type=inherited_type,
    )


def _draw(conn: ldap3.Connection, cfg: Config, p: Principals, rng: random.Random) -> None:
    for _ in range(rng.randint(4, 10)):
        where = rng.choice(["ou", "ou", "ou", "group", "user"] if cfg.users else ["ou", "group"])
        dn = rng.choice({"ou": cfg.ous, "group": cfg.groups, "user": cfg.users}[where])
        ace = _ace(rng, p, where)
        add_aces(conn, dn, ace)
        cfg.drawn.append(
            f"{dn}: {ace.qualifier} {hex(ace.mask)} {ace.object_type} flags={ace.flags} "
            f"iot={ace.inherited_object_type} to {ace.trustee}"
        )
    for _ in range(rng.choice((0, 1, 1, 2))):
        dn = rng.choice(cfg.ous[1:] + cfg.groups + cfg.users)
        if rng.random() < 0.5:
            protect_without_inherited(conn, dn)
            cfg.drawn.append(f"{dn}: protected, inherited ACEs dropped")
        else:
            write_sd(conn, dn, merge_into_descriptor(read_sd(conn, dn), [], protect=True))
            cfg.drawn.append(f"{dn}: protected, inherited ACEs kept")


# --------------------------------------------------------------------------- the DC's answers


def _attempt_group(
    gmsa: ldap3.Connection, admin: ldap3.Connection, dn: str, op: str, p: Principals, n: int
) -> bool:
    """Ask the DC: does the gMSA's attempt of ``op`` on the group succeed? A rename is undone
    by the administrator; a delete is not (the caller forgets the group)."""
    value = f"Group_{uuid.uuid4()}"
    if op == "write-member":
        return may_replace(gmsa, dn, "member", p.member_dn)
    if op in (
        "write-description",
        "write-displayName",
        "write-adminDescription",
        "write-msDS-ExternalDirectoryObjectId",
    ):
        return may_replace(gmsa, dn, op.removeprefix("write-"), value)
    if op == "write-cn":
        rdn, parent = dn.split(",", 1)
        try:
            gmsa.modify_dn(dn, f"{rdn}r{n}")
        except ldap3.core.exceptions.LDAPInsufficientAccessRightsResult:
            return False
        admin.modify_dn(f"{rdn}r{n},{parent}", rdn)
        return True
    assert op == "delete-group"
    try:
        gmsa.delete(dn)
    except ldap3.core.exceptions.LDAPInsufficientAccessRightsResult:
        return False
    return True


def _attempt_create(gmsa: ldap3.Connection, admin: ldap3.Connection, ou: str, tag: str) -> bool:
    """Ask the DC: may the gMSA create a security group in ``ou``? (removed again)"""
    dn = f"CN=new-{tag},{ou}"
    try:
        gmsa.add(dn, ["top", "group"], {"sAMAccountName": f"new-{tag}"[:20]})
    except ldap3.core.exceptions.LDAPInsufficientAccessRightsResult:
        return False
    admin.delete(dn)
    return True


# --------------------------------------------------------------------------- wbplan's answers


def _create_verdict(policy: Policy, state: ObservedState, ou: str) -> str:
    """wbplan's verdict for "the gMSA creates a group in ``ou``": the plan's Create/Delete group
    children requirement on the OU, judged by diff_ace on its create right alone (the outcome
    WB-CS-110 reports: no-op granted, create missing, manual denied)."""
    address = f"ad.ace[{ou}/cloud-sync-group-provisioning/create-delete-groups]"
    [r] = [r for r in expand(policy, state) if r.address.lower() == address.lower()]
    create = tuple(s for s in r.rights if s.name == "create-groups")
    assert create, r.rights
    outcome = diff_ace(Resource.model_validate({**r.model_dump(), "rights": create}), Index(state))
    return {"no-op": "granted", "create": "missing", "manual": "denied"}[outcome.action]


def _compare(
    dc: SambaDC,
    admin: ldap3.Connection,
    policy: Policy,
    state: ObservedState,
    cfg: Config,
    p: Principals,
    tally: Tally,
    when: str,
    n: int,
) -> None:
    """Judge every operation on the configuration's objects; a group the gMSA deleted leaves
    ``cfg.groups`` (the next phase judges the groups still there)."""
    groups = analyse(state, cfg.root, "cloud-sync-group", "gmsa")
    users = analyse(state, dc.base_dn, "password", "gmsa")
    assert groups is not None and users is not None
    group_verdicts = {dn_key(v.obj.dn): v for v in groups.verdicts}
    user_verdicts = {dn_key(v.obj.dn): v for v in users.verdicts}
    assert sorted(group_verdicts) == sorted(dn_key(g) for g in cfg.groups), cfg.drawn
    assert {dn_key(u) for u in cfg.users} <= set(user_verdicts), cfg.drawn
    assert {op.name for op in groups.operations} == set(GROUP_OPERATIONS)

    def record(what: str, allowed: bool, says: str, detail: str) -> None:
        tally.add(what, allowed)
        if (says == "granted") != allowed:
            tally.disagreements.append(
                f"{when} config {n}: {what}: DC {'allowed' if allowed else 'refused'}, wbplan "
                f"said {says} ({detail}); drawn: {cfg.drawn}"
            )

    gmsa = dc.connection(p.gmsa_dn, GMSA_PASSWORD)
    try:
        says = _create_verdict(policy, state, cfg.root)
        record("create-group", _attempt_create(gmsa, admin, cfg.root, f"{n}{when}"), says, cfg.root)
        for group in list(cfg.groups):
            verdict = group_verdicts[dn_key(group)]
            for op in GROUP_OPERATIONS:  # delete last
                allowed = _attempt_group(gmsa, admin, group, op, p, n)
                d = verdict.decisions[op]
                record(op, allowed, d.state, f"on {group}, deciding {d.ace}")
                if op == "delete-group" and allowed:
                    cfg.groups.remove(group)
        for user in cfg.users:
            verdict = user_verdicts[dn_key(user)]
            for op in USER_OPERATIONS:
                d = verdict.decisions[op]
                record(
                    op,
                    attempt_password_operation(gmsa, user, op, n),
                    d.state,
                    f"on {user}, {d.ace}",
                )
    finally:
        gmsa.unbind()


@pytest.mark.slow
def test_wbplan_gmsa_verdicts_equal_the_dcs_before_and_after_apply(
    gmsa_dc: tuple[SambaDC, Principals],
) -> None:
    dc, p = gmsa_dc
    rng = random.Random(SEED)
    admin = dc.admin_connection()
    tally = Tally()
    reasons: set[str] = set()
    for n in range(CONFIGS):
        cfg = _build(admin, dc.base_dn, n, rng)
        _draw(admin, cfg, p, rng)
        policy = cloud_sync_policy(target_ous=(cfg.root,), password=True)
        state = observe(dc, policy)
        cloud = state.ad.cloud_sync if state.ad else None
        assert cloud is not None and cloud.gmsa is not None and cloud.gmsa.sid == p.gmsa
        _compare(dc, admin, policy, state, cfg, p, tally, "before", n)

        # planned on what the attempts left (a group the gMSA deleted is gone)
        state = observe(dc, policy)
        plan = plan_and_apply(dc, policy, state)
        reasons |= {
            c.action_reason
            for c in plan.resource_changes
            if c.provider == "ad" and c.change.actions[0] != "no-op"
        }
        after = observe(dc, policy)
        _compare(dc, admin, policy, after, cfg, p, tally, "after", n)
        # What is still refused after apply is decided by a deny ACE (a manual step) or sits on
        # an adminCount=1 user (reported, not changed).
        for kind, root in (("cloud-sync-group", cfg.root), ("password", dc.base_dn)):
            again = analyse(after, root, kind, "gmsa")
            assert again is not None
            assert not again.missing, (n, kind, list(again.missing), cfg.drawn)
    assert not tally.disagreements, f"{len(tally.disagreements)} disagreement(s):\n" + "\n".join(
        tally.disagreements[:20]
    )
    for op in ("create-group", *GROUP_OPERATIONS, *USER_OPERATIONS):
        assert tally.counts.get(f"{op}:granted") and tally.counts.get(f"{op}:refused"), (
            op,
            tally.counts,
        )
    assert {"missing_ace", "inheritance_blocked", "denied_by_ace"} <= reasons, reasons
