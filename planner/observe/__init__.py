"""Readers of the live world: AD over LDAP (``ad``), the tenant over Graph (``graph``), and
snapshots of both (``snapshot``). They produce :class:`planner.model.state.ObservedState`."""
