"""Does the declared Entra Connect version support the enabled writeback features? One answer
for the plan (a manual upgrade step) and for WB-CON-002 (pure)."""

from __future__ import annotations

from planner.model.policy import Policy

PASSWORD_ABOVE = (1, 0, 8641, 0)
"""Connect up to 1.0.8641.0 relied on the retired Azure ACS: no password writeback (domain.md §3)."""
DEVICE_AT_LEAST = (1, 1, 819, 0)
"""'Configure device options' needs 1.1.819.0 or later (domain.md §4)."""
UPGRADE = "Upgrade Microsoft Entra Connect Sync to a current release, then declare its version in the policy (connect.version)"


def enabled(policy: Policy, name: str) -> bool:
    """Feature ``name`` is declared and enabled."""
    f = getattr(policy.writeback, name)
    return f is not None and bool(f.enabled)


def parse_version(text: str) -> tuple[int, ...] | None:
    """``2.4.27.0`` → (2, 4, 27, 0); None when not a dotted number."""
    try:
        return tuple(int(p) for p in text.strip().split("."))
    except ValueError:
        return None


def version_problems(policy: Policy) -> list[str] | None:
    """What the declared version cannot do (empty: fine); None when no version is declared or it
    is not a number."""
    declared = policy.connect.version
    return problems_for(policy, declared) if declared is not None else None


def problems_for(policy: Policy, text: str) -> list[str] | None:
    """What Connect ``text`` (declared, or reported by the server's evidence) cannot do for the
    policy's enabled features (empty: fine); None when ``text`` is not a version number."""
    version = parse_version(text)
    if version is None:
        return None
    problems = []
    if enabled(policy, "password") and version <= PASSWORD_ABOVE:
        problems.append("password writeback needs a build newer than 1.0.8641.0")
    if enabled(policy, "device") and version < DEVICE_AT_LEAST:
        problems.append("device writeback needs 1.1.819.0 or later")
    return problems
