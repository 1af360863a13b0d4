"""Random directory changes for the incremental-refresh equivalence test (issue 17 §2).

:class:`Lab` builds a small forest on a fresh Samba DC — a password scope inside an
Exchange-hybrid scope, OUs nested three deep, users, inetOrgPersons, contacts, groups, an OU
outside every scope holding a subtree that can move in, the group-writeback OU with a sub-OU,
and device writeback with devices — and :meth:`Lab.churn` applies seeded random changes of every
kind incremental refresh must follow: ACEs added and removed on OUs and users (inherited ones
included), OUs protected, objects and whole subtrees moved in and out of scope, deleted (tree
delete too), renamed, adminCount set and cleared, group membership changed (the connector's
token groups), objects created, devices added and removed, an inheritable ACE on the parent of a
scope root (which the DC propagates below it without changing uSNChanged there), trustees
renamed. Plain ldap3 on the admin connection; each change is recorded in :attr:`Lab.log`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import ldap3

from planner.model.policy import Policy
from planner.model.state import Ace
from planner.observe.sd import parse_descriptor, remove_aces
from tests.ad.adops import (
    CI,
    CI_IO,
    LOCKOUT_TIME,
    PWD_LAST_SET,
    RESET_PASSWORD,
    USER,
    add_aces,
    add_device,
    add_device_container,
    add_drs_containers,
    add_drs_service,
    add_group,
    add_member,
    add_ou,
    allow,
    deny,
    drs_dns,
    object_sid,
    policy,
    protect_without_inherited,
    read_sd,
    write_sd,
)
from tests.support.samba import SambaDC

TREE_DELETE = ("1.2.840.113556.1.4.805", True, None)
USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
IOP_CLASSES = [*USER_CLASSES, "inetOrgPerson"]
RIGHTS = ((0x100, RESET_PASSWORD), (0x20, PWD_LAST_SET), (0x20, LOCKOUT_TIME))


@dataclass
class Lab:
    """The test forest on ``dc`` and the random changes made to it."""

    dc: SambaDC
    rng: random.Random
    log: list[str] = field(default_factory=list)
    serial: int = 0
    trustees: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.conn = self.dc.admin_connection()
        base = self.dc.base_dn
        self.corp = f"OU=Corp,{base}"
        self.staff = f"OU=Staff,{self.corp}"
        self.outside = f"OU=Outside,{base}"
        self.cloud = f"OU=CloudGroups,{base}"
        self.devices = f"CN=RegisteredDevices,{base}"
        self.roots = {self.corp, self.staff, self.cloud, self.devices, self.outside}

    # ------------------------------------------------------------------ setup

    def build(self) -> Lab:
        c, base = self.conn, self.dc.base_dn
        connector = self.dc.create_connector()
        for ou in (self.corp, self.staff, self.outside, self.cloud):
            add_ou(c, ou)
        for parent in (self.staff, self.corp, self.outside):
            a = add_ou(c, f"OU=A{self._n()},{parent}")
            b = add_ou(c, f"OU=B{self._n()},{a}")
            add_ou(c, f"OU=C{self._n()},{b}")
            for ou in (parent, a, b):
                for _ in range(2):
                    self._user(ou)
            self._user(b, iop=True)
            self._contact(a)
        sub = add_ou(c, f"OU=Sub,{self.cloud}")
        away = add_ou(c, f"OU=Teams,{self.outside}")
        for parent in (self.cloud, sub, self.corp, away, add_ou(c, f"OU=Nested,{sub}")):
            add_group(c, f"CN=G{self._n()},{parent}")
        helpdesk = add_group(c, f"CN=Helpdesk,CN=Users,{base}")
        add_member(c, helpdesk, connector)
        self.trustees = [object_sid(c, connector), object_sid(c, helpdesk)]
        add_drs_containers(c, self.dc.config_dn)
        add_device_container(c, self.devices)
        add_drs_service(c, drs_dns(self.dc.config_dn)[2], self.devices)
        for _ in range(3):
            add_device(c, self.devices, f"dev{self._n()}")
        return self

    def policy(self) -> Policy:
        return policy(
            password={"enabled": True, "scope": [self.staff]},
            exchange_hybrid={"enabled": True, "scope": [self.corp]},
            group={"enabled": True, "version": "v1", "container": self.cloud},
            device={"enabled": True},
        )

    # ------------------------------------------------------------------ queries

    def _dns(self, search_filter: str, base: str | None = None) -> list[str]:
        self.conn.search(base or self.dc.base_dn, search_filter, ldap3.SUBTREE, attributes=["1.1"])
        found = [e["dn"] for e in self.conn.response if e["type"] == "searchResEntry"]
        return sorted(dn for dn in found if self._ours(dn))

    def _ours(self, dn: str) -> bool:
        low = dn.lower()
        return any(
            low.endswith(r.lower()) for r in (self.corp, self.outside, self.cloud, self.devices)
        )

    def ous(self) -> list[str]:
        return [d for d in self._dns("(objectClass=organizationalUnit)") if d not in self.roots]

    def leaves(self) -> list[str]:
        return self._dns("(|(objectClass=user)(objectClass=contact)(objectClass=group))")

    def users(self) -> list[str]:
        return self._dns("(&(objectCategory=person)(objectClass=user))")

    def _n(self) -> int:
        self.serial += 1
        return self.serial

    def _user(self, parent: str, *, iop: bool = False) -> str:
        n = self._n()
        dn = f"CN=u{n},{parent}"
        self.conn.add(dn, IOP_CLASSES if iop else USER_CLASSES, {"sAMAccountName": f"u{n}"})
        return dn

    def _contact(self, parent: str) -> str:
        dn = f"CN=k{self._n()},{parent}"
        self.conn.add(dn, ["top", "person", "organizationalPerson", "contact"])
        return dn

    # ------------------------------------------------------------------ changes

    def churn(self, count: int) -> None:
        """``count`` random changes."""
        operations = [
            self.add_ace,
            self.add_ace,
            self.remove_ace,
            self.protect,
            self.move,
            self.move,
            self.delete,
            self.rename,
            self.admin_count,
            self.membership,
            self.create,
            self.device,
            self.parent_ace,
            self.rename_trustee,
            self.move_group_ou,
        ]
        for _ in range(count):
            self.rng.choice(operations)()

    def _ace(self) -> Ace:
        mask, right = self.rng.choice(RIGHTS)
        make = allow if self.rng.random() < 0.75 else deny
        flags, inherited = self.rng.choice(((CI_IO, USER), (CI, None), (0, None)))
        return make(self.rng.choice(self.trustees), mask, right, inherited, flags)

    def add_ace(self) -> None:
        target = self.rng.choice(self.ous() + self.users())
        ace = self._ace()
        add_aces(self.conn, target, ace)
        self.log.append(f"ace+ {ace.qualifier} {ace.flags:#x} on {target}")

    def remove_ace(self) -> None:
        for target in self.rng.sample(self.ous() + self.users(), k=8):
            sd = parse_descriptor(read_sd(self.conn, target))
            ours = [a for a in sd.aces if not a.inherited and a.trustee in self.trustees]
            if ours:
                ace = self.rng.choice(ours)
                write_sd(self.conn, target, remove_aces(read_sd(self.conn, target), [ace]))
                self.log.append(f"ace- on {target}")
                return

    def protect(self) -> None:
        target = self.rng.choice(self.ous())
        protect_without_inherited(self.conn, target)
        self.log.append(f"protect {target}")

    def move(self) -> None:
        thing = self.rng.choice(self.ous() + self.leaves())
        rdn, _, parent = thing.partition(",")
        low = thing.lower()
        targets = [
            o
            for o in [*self.ous(), self.corp, self.staff, self.outside, self.cloud]
            if o.lower() != parent.lower()
            and not (o.lower() == low or o.lower().endswith("," + low))
        ]
        target = self.rng.choice(targets)
        if self.conn.modify_dn(thing, rdn, new_superior=target):
            self.log.append(f"move {thing} → {target}")

    def delete(self) -> None:
        if self.rng.random() < 0.3 and self.ous():
            target = self.rng.choice(self.ous())
            self.conn.delete(target, controls=[TREE_DELETE])
        else:
            target = self.rng.choice(self.leaves())
            self.conn.delete(target)
        self.log.append(f"delete {target}")

    def rename(self) -> None:
        thing = self.rng.choice(self.ous() + self.leaves())
        kind = thing.split("=", 1)[0]
        if self.conn.modify_dn(thing, f"{kind}=r{self._n()}"):
            self.log.append(f"rename {thing}")

    def admin_count(self) -> None:
        target = self.rng.choice(self.users())
        value = (
            [(ldap3.MODIFY_REPLACE, ["1"])]
            if self.rng.random() < 0.7
            else [(ldap3.MODIFY_DELETE, [])]
        )
        try:
            self.conn.modify(target, {"adminCount": value})
        except ldap3.core.exceptions.LDAPNoSuchAttributeResult:
            return
        self.log.append(f"adminCount {target}")

    def membership(self) -> None:
        groups = [*self._dns("(objectClass=group)"), f"CN=Helpdesk,CN=Users,{self.dc.base_dn}"]
        group = self.rng.choice(groups)
        member = f"CN=MSOL_1a2b3c4d5e6f,CN=Users,{self.dc.base_dn}"
        if self.rng.random() < 0.5:
            member = self.rng.choice(self.users())
        op = ldap3.MODIFY_ADD if self.rng.random() < 0.6 else ldap3.MODIFY_DELETE
        try:
            self.conn.modify(group, {"member": [(op, [member])]})
        except (
            ldap3.core.exceptions.LDAPEntryAlreadyExistsResult,
            ldap3.core.exceptions.LDAPUnwillingToPerformResult,
            ldap3.core.exceptions.LDAPNoSuchAttributeResult,
            ldap3.core.exceptions.LDAPAttributeOrValueExistsResult,
        ):
            return
        self.log.append(f"member {'+' if op == ldap3.MODIFY_ADD else '-'} {group}")

    def create(self) -> None:
        parent = self.rng.choice([*self.ous(), self.staff, self.corp, self.outside, self.cloud])
        kind = self.rng.choice(("user", "iop", "ou", "group", "contact", "subtree"))
        if kind in ("user", "iop"):
            dn = self._user(parent, iop=kind == "iop")
        elif kind == "ou":
            dn = add_ou(self.conn, f"OU=N{self._n()},{parent}")
        elif kind == "group":
            dn = add_group(self.conn, f"CN=G{self._n()},{parent}")
        elif kind == "contact":
            dn = self._contact(parent)
        else:  # a subtree outside every scope, to be moved in later
            dn = add_ou(self.conn, f"OU=T{self._n()},{self.outside}")
            self._user(add_ou(self.conn, f"OU=T{self._n()},{dn}"))
            self._user(dn)
        self.log.append(f"create {dn}")

    def device(self) -> None:
        found = self._dns("(objectClass=msDS-Device)", self.devices)
        if found and self.rng.random() < 0.4:
            self.conn.delete(found[0])
            self.log.append(f"delete device {found[0]}")
        else:
            add_device(self.conn, self.devices, f"dev{self._n()}")
            self.log.append("add device")

    def parent_ace(self) -> None:
        # Above the scope roots: the DC rewrites the inherited ACEs of everything below.
        target = self.rng.choice((self.corp, self.dc.base_dn))
        ace = allow(self.rng.choice(self.trustees), 0x20, PWD_LAST_SET, USER, CI_IO)
        if self.rng.random() < 0.5:
            add_aces(self.conn, target, ace)
            self.log.append(f"parent ace+ {target}")
        else:
            write_sd(self.conn, target, remove_aces(read_sd(self.conn, target), [ace]))
            self.log.append(f"parent ace- {target}")

    def move_group_ou(self) -> None:
        # The group-writeback OU's group list follows moves and renames of the OUs above them.
        holders = {g.partition(",")[2] for g in self._dns("(objectClass=group)")}
        candidates = [o for o in self.ous() if o in holders]
        if not candidates:
            return
        ou = self.rng.choice(candidates)
        rdn, _, parent = ou.partition(",")
        if self.rng.random() < 0.3:
            moved = self.conn.modify_dn(ou, f"OU=r{self._n()}")
        else:
            home = self.outside if ou.lower().endswith(self.cloud.lower()) else self.cloud
            moved = parent.lower() != home.lower() and self.conn.modify_dn(
                ou, rdn, new_superior=home
            )
        if moved:
            self.log.append(f"move {ou} (groups)")

    def rename_trustee(self) -> None:
        # The trustee's name (sAMAccountName) is what plans print: it must follow.
        helpdesk = f"CN=Helpdesk,CN=Users,{self.dc.base_dn}"
        self.conn.modify(helpdesk, {"sAMAccountName": [(ldap3.MODIFY_REPLACE, [f"hd{self._n()}"])]})
        self.log.append("rename trustee Helpdesk")
