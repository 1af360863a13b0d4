"""pytest configuration for the policy tests.

When a hypothesis test fails, hypothesis's pytest plugin imports libcst to write a patch with
the failing example, and libcst's import raises a DeprecationWarning from mypy_extensions. With
``filterwarnings = error`` that turns a clean test failure into a pytest INTERNALERROR that hides
the falsifying example, so that one third-party warning is ignored here.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )
