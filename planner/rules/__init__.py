"""The compliance rule catalogue: one module per rule or small family of rules.

Importing this package registers every rule in :data:`planner.rules.base.REGISTRY`;
``planner.checking`` evaluates them and ``python -m planner.rules --write`` regenerates
``docs/rules.md`` from their catalogue entries.
"""

from planner.rules import (  # noqa: F401  (imported to register their rules)
    cloudsync,
    cloudsync_tenant,
    cloudsync_v2,
    connect_options,
    connect_server,
    connector,
    device,
    device_tenant,
    exchange,
    group,
    hybrid_join,
    keys,
    licence,
    password,
    tenant,
    waivers,
)
