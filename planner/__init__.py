"""wbplan: plan and check Microsoft Entra Connect writeback prerequisites as code.

The package is layered (see ../shared/design.md §2): ``model`` is pure data; ``policy``,
``observe``, ``requirements`` and ``rules`` build on it; ``diff``, ``dag`` and ``render`` are
pure functions; ``apply`` and ``cli`` sit on top. Only ``cli`` prints or exits.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wbplan")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
