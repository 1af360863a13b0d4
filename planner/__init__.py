"""wbplan: plan and check Microsoft Entra Connect writeback prerequisites as code.

The package is layered (see ../shared/design.md §2): ``model`` is pure data; ``policy``,
``observe``, ``requirements`` and ``rules`` build on it; ``diff``, ``dag`` and ``render`` are
pure functions; ``apply`` and ``cli`` sit on top. Only ``cli`` prints or exits.
"""

__version__ = "0.1.0"
"""The one place the version is written: hatch reads it for the wheel (pyproject.toml
``[tool.hatch.version]``), and the CLI needs no ``importlib.metadata`` look-up to print it."""
