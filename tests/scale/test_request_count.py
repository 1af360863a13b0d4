"""LDAP requests grow with pages, not with objects (issue #8).

Two scopes on one fresh Samba DC, a small one and one ten times larger, each with nested OUs,
protected DACLs and adminCount=1 users — the objects a careless reader would fetch one by one.
Observed with 10-entry pages, the larger scope may cost only its extra pages: a reader that
made a round trip per protected OU or per adminCount user would exceed that by dozens. Counts
(not times) are asserted; the timed comparison is ``python -m bench.scale``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from planner.model.state import ScopeScan, SecurityDescriptor
from planner.observe.ad import observe_ad
from planner.observe.ldapconn import connect
from tests.ad.adops import policy
from tests.ad.conftest import options_for
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

PAGE = 10
PROTECTED = "D:PAI(A;;0xf01ff;;;DA)(A;;0xf01ff;;;SY)(A;CI;0x20094;;;AU)"
"""Inheritance disabled, only explicit entries (Samba's SDDL parser resolves the aliases)."""


@dataclass(frozen=True)
class Tree:
    root: str
    ous: int  # below the root, in groups of ten under top-level OUs
    users: int
    protected_every: int
    admin_every: int

    @property
    def protected(self) -> int:
        return sum(1 for i in range(self.ous) if i % self.protected_every == 1)

    @property
    def admins(self) -> int:
        return sum(1 for j in range(self.users) if j % self.admin_every == 0)

    def ou(self, i: int) -> str:
        top = f"OU=Top{i // 11:02d},{self.root}"
        return top if i % 11 == 0 else f"OU=Sub{i:03d},{top}"

    def ldif(self, prefix: str) -> str:
        records = [f"dn: {self.root}\nobjectClass: organizationalUnit\n"]
        for i in range(self.ous):
            sd = f"nTSecurityDescriptor: {PROTECTED}\n" if i % self.protected_every == 1 else ""
            records.append(f"dn: {self.ou(i)}\nobjectClass: organizationalUnit\n{sd}")
        for j in range(self.users):
            admin = "adminCount: 1\n" if j % self.admin_every == 0 else ""
            records.append(
                f"dn: CN={prefix}{j:04d},{self.ou(j % self.ous)}\nobjectClass: user\n"
                f"sAMAccountName: {prefix}{j:04d}\n{admin}"
            )
        return "\n".join(records)


def observe(dc: SambaDC, root: str) -> tuple[int, ScopeScan, dict[str, SecurityDescriptor]]:
    with connect(options_for(dc), page_size=PAGE) as session:
        ad = observe_ad(session, policy(password={"enabled": True, "scope": [root]}))
        assert len(ad.scopes) == 1
        return session.requests, ad.scopes[0], ad.dacls


def pages(entries: int) -> int:
    # Entry counts below are never multiples of the page size, so no trailing empty page.
    return math.ceil(entries / PAGE)


def test_requests_grow_with_pages_not_objects(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    small = Tree(f"OU=Small,{dc.base_dn}", ous=7, users=33, protected_every=3, admin_every=11)
    large = Tree(f"OU=Large,{dc.base_dn}", ous=77, users=333, protected_every=3, admin_every=11)
    # One offline transaction into the running DC: seconds instead of ~450 LDAP adds.
    dc.ldb_add(small.ldif("s") + "\n" + large.ldif("l"))

    small_requests, small_scan, small_dacls = observe(dc, small.root)
    large_requests, large_scan, large_dacls = observe(dc, large.root)

    # Everything was read, every user with its DACL (the root itself is not counted) …
    for tree, scan, dacls in ((small, small_scan, small_dacls), (large, large_scan, large_dacls)):
        assert (scan.ous_total, scan.users_total) == (tree.ous, tree.users)
        protected = [c for c in scan.containers if c.dacl and dacls[c.dacl].dacl_protected]
        assert len(protected) == tree.protected
        assert sum(o.admin_count for o in scan.objects) == tree.admins
        assert all(o.dacl in dacls for o in scan.objects)
        # … and DACLs are kept once per distinct value, not once per object.
        assert len(dacls) < len(scan.objects) + len(scan.containers)
    assert large.protected - small.protected == 24 and large.admins - small.admins == 28

    # … and the larger scope cost its extra pages (containers with the root, users), no more.
    extra_pages = (pages(large.ous + 1) - pages(small.ous + 1)) + (
        pages(large.users) - pages(small.users)
    )
    assert extra_pages == 37
    assert large_requests - small_requests <= extra_pages
    # Paging really happened: Samba would answer each scan in one unpaged request.
    assert large_requests - small_requests >= pages(large.users) - pages(small.users)


def test_a_read_while_iterating_does_not_cut_the_paged_search(samba_2012r2: SambaDC) -> None:
    dc = samba_2012r2
    tree = Tree(f"OU=Nested,{dc.base_dn}", ous=3, users=25, protected_every=99, admin_every=99)
    dc.ldb_add(tree.ldif("n"))
    with connect(options_for(dc), page_size=PAGE) as session:
        seen = []
        for entry in session.search(tree.root, "(objectClass=user)", ["1.1"]):
            # another request on the same connection between two entries of a page
            assert session.read(tree.root, ["objectClass"]) is not None
            seen.append(entry.dn)
    assert len(seen) == 25
