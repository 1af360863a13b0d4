"""``wbplan import``: the policy that describes the writeback an environment already has.

Like ``terraform import`` it only reads: a snapshot (``--state``) or the same live reads as
``refresh`` (``planner.adopt.live``). Candidates for each policy entry come from where the
connector's ACEs are explicit and from what the tenant reports; the planner itself decides which
hold (``planner.adopt.verify``): an entry is imported only when planning it against the same
observation changes nothing. The YAML (``planner.adopt.render``) says in comments what each
entry was inferred from and what could not be inferred.
"""

from planner.adopt.core import Adoption, Options, adopt, choose_connector, rank_connectors
from planner.adopt.render import render

__all__ = ["Adoption", "Options", "adopt", "choose_connector", "rank_connectors", "render"]
