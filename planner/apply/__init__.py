"""Apply a reviewed plan exactly, journal every step, roll it back, and keep runs apart.

- :mod:`~planner.apply.stale` — lineage and stale-plan checks before anything is written;
- :mod:`~planner.apply.engine` — walks the ordered changes: failures skip their dependents,
  manual steps block theirs, independent branches still run;
- :mod:`~planner.apply.executors` — one executor per change type (AD over
  :mod:`~planner.apply.ldapwrite`, the tenant over :mod:`planner.graphapi.tenant_ops`);
- :mod:`~planner.apply.journal` — before/after images, rewritten atomically per step;
- :mod:`~planner.apply.rollback` — restores before-images newest first, refusing when an object
  no longer looks as apply left it;
- :mod:`~planner.apply.lock` — one apply or rollback per forest and tenant;
- :mod:`~planner.apply.run` — whole runs (connections, journal, ``--wait``) for the CLI;
- ``emit`` — ``apply --emit ldif|powershell`` (built separately).
"""
