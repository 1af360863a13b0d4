"""Suite-wide pytest configuration: fixture plugins shared by several test folders.

Each support module registers its fixtures here (the Samba DC harness, the Graph emulator), so
any test folder can use a real DC or an emulated tenant without importing internals.
"""

pytest_plugins: list[str] = [
    "tests.support.samba",
    "tests.support.graph_emulator",
]
