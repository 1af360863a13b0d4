"""Connect server evidence: the collector script users run on the Entra Connect server
(:mod:`~planner.connect.collector`), the importer of what it writes and of
``Get-ADSyncServerConfiguration`` export folders (:mod:`~planner.connect.importer`,
:mod:`~planner.connect.exportxml`), and the verdicts plan and check draw from it
(:mod:`~planner.connect.verdicts`, pure).
"""
