"""``python -m planner`` runs the wbplan command line."""

from planner.cli import main

main()
