"""The Connect server itself, where its own evidence speaks for it: the server the evidence comes
from is not in staging mode, and its AD DS connector for the policy's forest signs in as the
account the policy names.

These resources exist only when the observed state holds Connect evidence that counts
(``planner.connect.verdicts.usable``): without evidence nothing can be said about them and
the plan stays as it was (the Connect options' ``?`` items say what to check by hand).
"""

from __future__ import annotations

from planner.connect.verdicts import usable
from planner.model.plan import Resource
from planner.requirements.common import Context

FEATURES = ("password", "device", "group", "exchange_hybrid", "ngc_keys", "hybrid_join")
"""Every writeback feature acts in AD as the connector account, through the Connect server."""


def _enabled(ctx: Context, names: tuple[str, ...]) -> bool:
    for name in names:
        f = getattr(ctx.policy.writeback, name)
        if f is not None and bool(f.enabled):
            return True
    return False


def connect_server_resources(ctx: Context) -> list[Resource]:
    """``connect.staging[]`` and ``connect.connector[<forest>]`` when evidence counts."""
    if usable(ctx.state) is None or not _enabled(ctx, FEATURES):
        return []
    out = [
        Resource(
            address="connect.staging[]",
            type="connect.staging",
            provider="connect",
            features=(),
            why="A Connect server in staging mode imports and synchronizes but exports nothing: it "
            "writes nothing back (no password writeback either)",
            references=("M5", "M6"),
            manageable=False,
            desired={"staging_mode": False},
            instructions="Collect the evidence on the active Connect server (the one not in "
            "staging mode); or, if this server is meant to be the active one, switch the active "
            "server over: Entra Connect wizard → Configure staging mode",
        )
    ]
    account = ctx.policy.connector_account
    out.append(
        Resource(
            address=f"connect.connector[{ctx.forest}]",
            type="connect.connector",
            provider="connect",
            features=(),
            why="Every writeback right is granted to, and checked for, the AD DS connector "
            "account the policy names; Connect writes back as the account its AD connector "
            "for the forest signs in with (forest-login-user, forest-login-domain)",
            references=("S1", "S2", "M7", "M9"),
            manageable=False,
            desired={"account": account, "forest": ctx.forest},
            instructions=f"Either name the connector's account in the policy "
            f"(connector.account, now {account}) and plan again, or make the AD connector "
            "sign in as the policy's account: Entra Connect wizard → Customize synchronization "
            "options → Connect your directories (or Synchronization Service Manager → "
            "Connectors → the forest's connector → Properties → Connect to Active Directory "
            "Forest)",
        )
    )
    return out
