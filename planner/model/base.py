"""The base class every model derives from: frozen, unknown fields forbidden.

Frozen because a stage must never mutate what an earlier stage produced (a plan is inert data);
``extra="forbid"`` because a misspelt field in a snapshot or plan file is a bug to surface, not
data to drop silently.
"""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable model; unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
