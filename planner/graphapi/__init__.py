"""Microsoft Graph access: credentials (``auth``), the HTTP client (``client``) and the tenant
changes apply makes (``tenant_ops``).

httpx and azure-identity are imported here and nowhere else (design.md §2). The same code path
talks to ``https://graph.microsoft.com`` and to the test suite's emulator: only the base URL and
the trusted CA differ.
"""
