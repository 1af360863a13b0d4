"""The Entra Connect server's wizard options, judged by its own evidence: the optional feature of
each enabled writeback feature is ticked (WB-CON-003), and device and group writeback are on in
the tenant and on the server alike (WB-CON-006). Silent without Connect evidence, unknown with
evidence that does not count (see ``connect_server``).
"""

from __future__ import annotations

from planner.connect.verdicts import TENANT_FLAGS, Freshness, fact_text, option_fact, server_words
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.base import Result, rule
from planner.rules.connect_server import OPTIONS, enabled, judged
from planner.rules.context import RuleContext


def any_option(policy: Policy) -> bool:
    """Some enabled feature needs a Connect wizard option."""
    return any(enabled(policy, n) for n in OPTIONS)


def option_addresses(policy: Policy) -> list[str]:
    """``connect.option[…]`` of every enabled feature."""
    return [f"connect.option[{o}]" for n, o in OPTIONS.items() if enabled(policy, n)]


@rule(
    RuleInfo(
        id="WB-CON-003",
        title="The Connect server has the optional feature of each enabled writeback feature turned on",
        criticality="SHALL",
        feature="connect",
        rationale=(
            "Password writeback, device writeback, group writeback and Exchange hybrid writeback are "
            "optional features ticked in the Connect wizard on the server; preparing AD and the tenant "
            "does not turn them on. The server's global settings record them "
            "(Microsoft.OptionalFeature.*; password writeback on newer servers in its password reset "
            "configuration)."
        ),
        remediation="Run the Entra Connect wizard on the server → Customize synchronization options → "
        "Optional features (device writeback: Configure device options) and tick the feature.",
        references=("S32", "S33", "M9", "S76"),
        confidence="observed",
        confidence_note=(
            "Microsoft documents the optional features in the wizard and publishes sample exports whose "
            "global settings hold the Microsoft.OptionalFeature.* parameters; no page states that these "
            "parameters are the wizard's ticks"
        ),
    ),
    any_option,
)
def options_on(ctx: RuleContext) -> list[Result]:
    """Each enabled feature's wizard option, from the server's evidence."""

    def judge(fresh: Freshness) -> list[Result]:
        ev = fresh.evidence
        assert ev is not None
        out = []
        for name, option in OPTIONS.items():
            if not enabled(ctx.policy, name):
                continue
            address = f"connect.option[{option}]"
            fact = option_fact(ev, option)
            evidence = {
                "enabled": fact.value,
                "evidence": fact_text(fact, fresh) if fact.cmdlet else None,
            }
            where = server_words(ev)
            if fact.value is None:
                hint = ctx.unread(address)
                out.append(
                    Result(
                        "unknown",
                        address,
                        f"the Connect evidence does not say whether {option} is on on {where} "
                        f"({fact.where()})",
                        evidence,
                        verify_at=hint.verify_at if hint is not None else None,
                    )
                )
            elif fact.value is True:
                out.append(
                    Result(
                        "pass",
                        address,
                        f"{option} is on on {where} ({fact_text(fact, fresh)})",
                        evidence,
                    )
                )
            else:
                out.append(
                    Result(
                        "fail",
                        address,
                        f"{option} is off on {where} ({fact_text(fact, fresh)})",
                        evidence,
                    )
                )
        return out

    return judged(ctx, option_addresses(ctx.policy), judge)


@rule(
    RuleInfo(
        id="WB-CON-006",
        title="Device and group writeback are on both in the tenant and on the Connect server, or on neither",
        criticality="SHALL",
        feature="connect",
        rationale=(
            "The tenant's flag (deviceWritebackEnabled, unifiedGroupWritebackEnabled; the server reads "
            "it with Get-ADSyncAADCompanyFeature) and the server's wizard option are set together by the "
            "wizard. A feature on in the tenant but off on the server writes nothing back; on on the "
            "server but off in the tenant, the tenant does not offer it."
        ),
        remediation="Tick the option in the Entra Connect wizard on the server (or turn the tenant's flag "
        "on, as the plan shows), so that both say the same.",
        references=("S36a", "S18", "S4", "M9"),
        confidence="inferred",
        confidence_note=(
            "Microsoft documents the tenant flags and the wizard options, not that the two must agree; "
            "wbplan infers it from the wizard setting both"
        ),
    ),
    lambda policy: enabled(policy, "device") or enabled(policy, "group"),
)
def tenant_and_server_agree(ctx: RuleContext) -> list[Result]:
    """Per feature: the tenant's flag (Graph, else the server's Get-ADSyncAADCompanyFeature)
    against the server's option."""
    wanted = [
        (k, o)
        for k, o in (("device", "device-writeback"), ("group", "group-writeback"))
        if enabled(ctx.policy, k)
    ]

    def judge(fresh: Freshness) -> list[Result]:
        ev = fresh.evidence
        assert ev is not None
        out = []
        sync = ctx.state.tenant.sync if ctx.state.tenant is not None else None
        for _feature, option in wanted:
            address = f"connect.option[{option}]"
            flag = TENANT_FLAGS[
                "device-writeback" if option == "device-writeback" else "group-writeback"
            ]
            server = option_fact(ev, option)
            if sync is not None and flag in sync.features and sync.features[flag] is not None:
                tenant_value: bool | None = bool(sync.features[flag])
                tenant_where = f"Graph features.{flag}"
            else:
                company = ev.feature(
                    "device-writeback" if option == "device-writeback" else "group-writeback"
                ).tenant
                tenant_value = company.value if isinstance(company.value, bool) else None
                tenant_where = fact_text(company, fresh) if company.cmdlet else "not read"
            evidence = {
                "tenant": tenant_value,
                "tenant_from": tenant_where,
                "server": server.value,
                "server_from": fact_text(server, fresh) if server.cmdlet else "not read",
            }
            if tenant_value is None or not isinstance(server.value, bool):
                out.append(
                    Result(
                        "unknown",
                        address,
                        f"{option}: the tenant's flag or the server's option is unknown",
                        evidence,
                    )
                )
            elif tenant_value == server.value:
                state = "on" if tenant_value else "off"
                out.append(
                    Result(
                        "pass",
                        address,
                        f"{option} is {state} in the tenant and on {server_words(ev)}",
                        evidence,
                    )
                )
            elif tenant_value:
                out.append(
                    Result(
                        "fail",
                        address,
                        f"{option} is on in the tenant ({flag}) but off on {server_words(ev)}: nothing is written back",
                        evidence,
                    )
                )
            else:
                out.append(
                    Result(
                        "fail",
                        address,
                        f"{option} is on on {server_words(ev)} but off in the tenant ({flag})",
                        evidence,
                        fixed_by=(f"tenant.feature[{flag}]",),
                    )
                )
        return out

    return judged(ctx, [f"connect.option[{o}]" for _k, o in wanted], judge)
