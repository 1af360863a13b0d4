"""Requirements below a scope root that the per-object verdicts call for (``planner.scope_rights``):
a grant on each object whose inheritance is disabled and whose objects lack a right (or whose new
objects would), and a manual step for each deny ACE that decides against the connector, named by
the object the ACE is explicit on. Shared by password, Exchange hybrid, group and device
writeback; each feature says how its grant is built at a given place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from planner.model.dn import dn_key
from planner.model.plan import AceSpec, Resource, RightSpec
from planner.requirements.common import CI, CI_IO, Context, ad_object
from planner.scope_rights import PrincipalKind, analyse

At = Literal["root", "container", "object"]
Build = Callable[[str, str, str, At], Resource]
"""(grant, object class, DN, placement) → the grant requirement."""


def placed_ace(
    at: At,
    mask: int,
    cls_guid: str,
    cls_name: str,
    object_type: str | None = None,
    object_type_name: str | None = None,
) -> AceSpec:
    """The ACE a grant writes at its placement: on the object itself (``object``: CI and no class
    filter, the ADSyncConfig cmdlets' /I:T form for a non-container target), or inherited by the
    descendant objects of the class (``root``/``container``: CI|IO with the class as inherited
    object type, their /I:S form)."""
    if at == "object":
        return AceSpec(
            mask=mask, flags=CI, object_type=object_type, object_type_name=object_type_name
        )
    return AceSpec(
        mask=mask,
        flags=CI_IO,
        object_type=object_type,
        inherited_object_type=cls_guid,
        object_type_name=object_type_name,
        inherited_object_type_name=cls_name,
    )


def placed_right(
    at: At,
    name: str,
    mask: int,
    cls_guid: str,
    object_type: str | None = None,
    property_sets: tuple[str, ...] = (),
) -> RightSpec:
    """The effective right that satisfies a grant at its placement (see :func:`placed_ace`)."""
    if at == "object":
        return RightSpec(
            name=name,
            mask=mask,
            object_type=object_type,
            applies_to="object",
            property_sets=property_sets,
        )
    return RightSpec(
        name=name,
        mask=mask,
        object_type=object_type,
        applies_to="descendants",
        target_class=cls_guid,
        property_sets=property_sets,
    )


def scoped(scope: str, analysis: str, object_class: str, grant: str, at: At) -> dict[str, object]:
    """The ``desired`` of a grant judged per object (read by ``planner.diff.ad``)."""
    return {
        "scope": scope,
        "analysis": analysis,
        "object_class": object_class,
        "grant": grant,
        "at": at,
    }


def deny_step(
    ctx: Context,
    *,
    scope: str,
    analysis: str,
    origin: str,
    operation: str,
    purpose: str,
    feature: str,
    principal: PrincipalKind = "connector",
    principal_address: str | None = None,
) -> Resource:
    """A deny ACE explicit on ``origin`` decides ``operation`` against the connector (or, with
    ``principal="gmsa"``, against the Cloud Sync gMSA at ``principal_address``)."""
    desired: dict[str, object] = {"scope": scope, "analysis": analysis, "operation": operation}
    if principal != "connector":
        desired["principal"] = principal
    return Resource(
        address=f"ad.deny[{origin}/{purpose}/{operation}]",
        type="ad.deny",
        provider="ad",
        features=(feature,),
        why=(
            "An explicit deny ACE decides before any grant below it; wbplan never removes an ACE it did not add"
        ),
        references=("M4",),
        manageable=False,
        depends_on=(principal_address or ctx.connector_address, ad_object(scope)),
        dn=origin,
        desired=desired,
    )


def below_root(
    ctx: Context,
    *,
    root: str,
    analysis: str,
    purpose: str,
    feature: str,
    build: Build,
    principal: PrincipalKind = "connector",
    principal_address: str | None = None,
) -> tuple[list[str], list[Resource]]:
    """(object classes present under ``root``, the grants and manual steps below it), for the
    connector or (``principal="gmsa"``) the Cloud Sync gMSA."""
    found = analyse(ctx.state, root, analysis, principal) if ctx.state is not None else None
    if found is None:
        return [], []
    root_key = dn_key(root)
    grants = {op.name: op.grant_name for op in found.operations}
    leaves = {v.key for v in found.verdicts} | {dn_key(o.dn) for o in found.unreadable}
    out: dict[str, Resource] = {}
    for point_key, cls, op in sorted({*found.missing, *found.gaps}):
        if point_key == root_key:
            continue
        at: At = "object" if point_key in leaves else "container"
        r = build(grants[op], cls, found.points[point_key], at)
        out.setdefault(r.address, r)
    for origin_key, op in sorted(found.denied):
        r = deny_step(
            ctx,
            scope=root,
            analysis=analysis,
            origin=found.origins[origin_key],
            operation=op,
            purpose=purpose,
            feature=feature,
            principal=principal,
            principal_address=principal_address,
        )
        out.setdefault(r.address, r)
    return found.classes_present(), list(out.values())
