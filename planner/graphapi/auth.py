"""Where the Graph access token comes from.

``make_token_provider(options)`` returns a :class:`TokenProvider` for the ``--graph-auth`` choice:

``token``
    A bearer token already held by the pipeline, in ``WBPLAN_GRAPH_TOKEN``.
``environment``
    A service principal from the variables azure-identity's ``EnvironmentCredential`` reads:
    ``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID`` and ``AZURE_CLIENT_SECRET`` or
    ``AZURE_CLIENT_CERTIFICATE_PATH`` (+ optional ``AZURE_CLIENT_CERTIFICATE_PASSWORD``).
``workload-identity``
    Federated credentials for CI (GitHub OIDC, Kubernetes): ``AZURE_TENANT_ID``,
    ``AZURE_CLIENT_ID`` and ``AZURE_FEDERATED_TOKEN_FILE`` (a file holding the OIDC token).
``azure-cli``
    The person signed in to the Azure CLI (``az login``): azure-identity's ``AzureCliCredential``
    runs ``az account get-access-token`` for the Graph resource (``--tenant AZURE_TENANT_ID``
    when set). A delegated token, so it can read ``/directory/onPremisesSynchronization``,
    which Microsoft documents as delegated only, for a Global Administrator.
``device-code``
    A person signs in on another device; ``AZURE_CLIENT_ID`` names the public-client app
    registration that holds the delegated permissions (``AZURE_TENANT_ID`` optional).
``auto``
    ``WBPLAN_GRAPH_TOKEN`` if set, else the environment service principal, else workload
    identity; never device code or the Azure CLI, because an unattended run must neither wait
    for a person nor pick up whoever last ran ``az login`` on the machine.

``AZURE_AUTHORITY_HOST`` selects a sovereign cloud's sign-in host, as in azure-identity. The token
scope is ``<origin of --graph-url>/.default``, so a sovereign Graph endpoint gets its own audience.

Secrets (the bearer token, client secret, certificate password, federated token) are held only
inside the provider or the azure-identity credential: no ``repr``, log line or error message
contains them, and the tests grep every output for them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    DeviceCodeCredential,
    WorkloadIdentityCredential,
)

from planner.errors import GraphAuthError

if TYPE_CHECKING:
    from planner.graphapi.client import GraphOptions

AuthMode = Literal["auto", "token", "environment", "workload-identity", "azure-cli", "device-code"]
AUTH_MODES: tuple[AuthMode, ...] = (
    "auto",
    "token",
    "environment",
    "workload-identity",
    "azure-cli",
    "device-code",
)
DELEGATED_MODES: frozenset[AuthMode] = frozenset({"azure-cli", "device-code"})
"""Modes that always sign a person in (delegated tokens); ``token`` may be either."""

TOKEN_ENV = "WBPLAN_GRAPH_TOKEN"  # noqa: S105 -- the variable name, not a secret

# Refresh this long before expiry so a token never dies between reading it and Graph checking it.
_EXPIRY_MARGIN_S = 120

_ENV_HINT = (
    f"set {TOKEN_ENV} to a bearer token, or AZURE_TENANT_ID + AZURE_CLIENT_ID + "
    "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal, or "
    "AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE for workload identity "
    "(CI), or sign in as a person with --graph-auth azure-cli (after `az login`) or "
    "--graph-auth device-code with AZURE_CLIENT_ID"
)


class TokenProvider(Protocol):
    """Hands out a valid Graph access token; ``description`` is safe to show to a person."""

    @property
    def description(self) -> str:
        """Where the token comes from (never the token itself)."""
        ...

    def token(self) -> str:
        """A bearer token valid for at least the next couple of minutes."""
        ...

    def close(self) -> None:
        """Release network resources (azure-identity credentials hold a session)."""
        ...


class StaticTokenProvider:
    """A token someone else obtained (``WBPLAN_GRAPH_TOKEN``). It cannot be refreshed."""

    __slots__ = ("_description", "_token")

    def __init__(self, token: str, description: str) -> None:
        self._token = token
        self._description = description

    @property
    def description(self) -> str:
        return self._description

    def token(self) -> str:
        return self._token

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"StaticTokenProvider({self._description!r})"


class CredentialTokenProvider:
    """Wraps an azure-identity credential; caches the access token until shortly before expiry."""

    __slots__ = ("_cached", "_credential", "_description", "_expires_on", "_hint", "_scope")

    def __init__(self, credential: Any, scope: str, description: str, hint: str) -> None:
        self._credential = credential
        self._scope = scope
        self._description = description
        self._hint = hint
        self._cached: str | None = None
        self._expires_on = 0

    @property
    def description(self) -> str:
        return self._description

    def token(self) -> str:
        if self._cached is not None and time.time() < self._expires_on - _EXPIRY_MARGIN_S:
            return self._cached
        try:
            access = self._credential.get_token(self._scope)
        except ClientAuthenticationError as exc:
            raise GraphAuthError(
                f"could not get a Graph token from the {self._description}: "
                f"{_first_line(exc.message or str(exc))}",
                hint=self._hint,
            ) from None  # the chained azure error may quote request bodies; keep it out
        except OSError as exc:  # e.g. the federated token file vanished
            raise GraphAuthError(
                f"could not get a Graph token from the {self._description}: "
                f"{exc.strerror or type(exc).__name__}",
                hint=self._hint,
            ) from None
        except AzureError as exc:
            raise GraphAuthError(
                f"could not reach the sign-in service for the {self._description}: "
                f"{_first_line(str(exc))}",
                hint="check network access to the authority host (AZURE_AUTHORITY_HOST, "
                "default login.microsoftonline.com) and any HTTPS proxy",
            ) from None
        self._cached = str(access.token)
        self._expires_on = int(access.expires_on)
        return self._cached

    def close(self) -> None:
        self._credential.close()

    def __repr__(self) -> str:
        return f"CredentialTokenProvider({self._description!r}, scope={self._scope!r})"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no detail given"


def graph_scope(graph_url: str) -> str:
    """The ``.default`` scope for a Graph base URL: its origin (``https://host[:port]``)."""
    parts = urlsplit(graph_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def make_token_provider(
    options: GraphOptions,
    *,
    env: Mapping[str, str] | None = None,
    device_code_prompt: Callable[[str], None] | None = None,
) -> TokenProvider:
    """Build the provider ``options.auth`` asks for, reading ``env`` (default ``os.environ``).

    ``device_code_prompt`` receives the "go to … and enter code …" sentence for device-code
    sign-in; by default it goes to stderr so that ``--format json`` output on stdout stays clean.
    Raises :class:`GraphAuthError` when the chosen method is not configured.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    mode = options.auth
    if mode == "token" or (mode == "auto" and environ.get(TOKEN_ENV, "").strip()):
        return _static_token(environ)
    scope = graph_scope(options.graph_url)
    try:
        kwargs = _credential_kwargs(options, environ)
        if mode == "environment" or (mode == "auto" and _has_service_principal(environ)):
            return _service_principal(environ, scope, kwargs)
        if mode == "workload-identity" or (
            mode == "auto" and environ.get("AZURE_FEDERATED_TOKEN_FILE")
        ):
            return _workload_identity(environ, scope, kwargs)
        if mode == "azure-cli":
            return _azure_cli(environ, scope)
        if mode == "device-code":
            return _device_code(environ, scope, kwargs, device_code_prompt)
    except ValueError as exc:
        # azure-identity validates tenant ids and authority URLs on construction.
        raise GraphAuthError(
            f"the Graph credential settings are invalid: {_first_line(str(exc))}",
            hint="check AZURE_TENANT_ID (a GUID or domain) and AZURE_AUTHORITY_HOST (https://…)",
        ) from None
    raise GraphAuthError("no Graph credential is configured", hint=_ENV_HINT)


def _credential_kwargs(options: GraphOptions, environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments shared by every azure-identity credential."""
    kwargs: dict[str, Any] = {}
    authority = environ.get("AZURE_AUTHORITY_HOST")
    if authority:
        kwargs["authority"] = authority
        host = urlsplit(authority if "//" in authority else f"https://{authority}").hostname
        if host in {"127.0.0.1", "localhost", "::1"}:
            # A loopback authority is an emulator: MSAL must not ask login.microsoftonline.com
            # whether it is a known cloud (that would leave the machine, and fail).
            kwargs["disable_instance_discovery"] = True
        if options.ca_file is not None and _same_host(authority, options.graph_url):
            # Graph and sign-in served by one host (emulator, gateway): trust the same CA there.
            kwargs["connection_verify"] = str(options.ca_file)
    return kwargs


def _same_host(authority: str, graph_url: str) -> bool:
    auth = urlsplit(authority if "//" in authority else f"https://{authority}")
    return auth.netloc.lower() == urlsplit(graph_url).netloc.lower()


def _static_token(environ: Mapping[str, str]) -> TokenProvider:
    raw = environ.get(TOKEN_ENV, "").strip()
    if raw.lower().startswith("bearer "):  # tolerate a pasted Authorization header value
        raw = raw[len("bearer ") :].strip()
    if not raw:
        raise GraphAuthError(
            f"--graph-auth token was chosen but {TOKEN_ENV} is empty or unset",
            hint=f"export {TOKEN_ENV} with an access token for Microsoft Graph "
            "(e.g. from `az account get-access-token --resource-type ms-graph`)",
        )
    return StaticTokenProvider(raw, f"bearer token from {TOKEN_ENV}")


def _has_service_principal(environ: Mapping[str, str]) -> bool:
    return bool(
        environ.get("AZURE_TENANT_ID")
        and environ.get("AZURE_CLIENT_ID")
        and (environ.get("AZURE_CLIENT_SECRET") or environ.get("AZURE_CLIENT_CERTIFICATE_PATH"))
    )


def _require(environ: Mapping[str, str], names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if not environ.get(n)]
    if missing:
        raise GraphAuthError(
            f"--graph-auth {what} needs {', '.join(missing)} in the environment",
            hint=_ENV_HINT,
        )


def _service_principal(
    environ: Mapping[str, str], scope: str, kwargs: dict[str, Any]
) -> TokenProvider:
    _require(environ, ("AZURE_TENANT_ID", "AZURE_CLIENT_ID"), "environment")
    tenant, client = environ["AZURE_TENANT_ID"], environ["AZURE_CLIENT_ID"]
    hint = (
        "check AZURE_TENANT_ID and AZURE_CLIENT_ID, and that the client secret or certificate "
        "is current (Entra admin center → App registrations → Certificates & secrets)"
    )
    secret = environ.get("AZURE_CLIENT_SECRET")
    cert = environ.get("AZURE_CLIENT_CERTIFICATE_PATH")
    if secret:
        credential: Any = ClientSecretCredential(tenant, client, secret, **kwargs)
        kind = "client secret"
    elif cert:
        password = environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD")
        try:
            credential = CertificateCredential(
                tenant, client, certificate_path=cert, password=password, **kwargs
            )
        except (OSError, ValueError) as exc:
            raise GraphAuthError(
                f"cannot load the client certificate {cert}: {_first_line(str(exc))}",
                hint="AZURE_CLIENT_CERTIFICATE_PATH must name a PEM or PKCS#12 file with the "
                "private key (AZURE_CLIENT_CERTIFICATE_PASSWORD if it is encrypted)",
            ) from None
        kind = "client certificate"
    else:
        raise GraphAuthError(
            "--graph-auth environment needs AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH",
            hint=_ENV_HINT,
        )
    return CredentialTokenProvider(
        credential, scope, f"service principal {client} ({kind}) in tenant {tenant}", hint
    )


def _workload_identity(
    environ: Mapping[str, str], scope: str, kwargs: dict[str, Any]
) -> TokenProvider:
    names = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
    _require(environ, names, "workload-identity")
    tenant, client = environ["AZURE_TENANT_ID"], environ["AZURE_CLIENT_ID"]
    token_file = environ["AZURE_FEDERATED_TOKEN_FILE"]
    if not os.path.isfile(token_file):  # noqa: PTH113 -- a str from the environment
        raise GraphAuthError(
            f"AZURE_FEDERATED_TOKEN_FILE names no readable file: {token_file}",
            hint="write the CI's OIDC token (audience api://AzureADTokenExchange) to that file "
            "before running wbplan",
        )
    credential = WorkloadIdentityCredential(
        tenant_id=tenant,
        client_id=client,
        token_file_path=token_file,
        **kwargs,
    )
    hint = (
        "check the app registration's federated credential (issuer, subject, audience "
        "api://AzureADTokenExchange) matches this workflow, and that "
        "AZURE_FEDERATED_TOKEN_FILE holds a fresh OIDC token"
    )
    return CredentialTokenProvider(
        credential, scope, f"workload identity {client} in tenant {tenant}", hint
    )


def _azure_cli(environ: Mapping[str, str], scope: str) -> TokenProvider:
    # AzureCliCredential runs `az account get-access-token --output json --resource R
    # [--tenant T]` and reads accessToken and expires_on (or expiresOn) from its JSON. The CLI
    # itself talks to the sign-in service, so AZURE_AUTHORITY_HOST and --graph-ca-file do not
    # apply here (az has its own cloud and CA settings).
    tenant = environ.get("AZURE_TENANT_ID", "")
    credential = AzureCliCredential(tenant_id=tenant)
    hint = (
        f"run `az login{' --tenant ' + tenant if tenant else ''} --allow-no-subscriptions` as "
        "the person wbplan should act as (a Global Administrator to read or change the "
        "directory-sync features), and check that `az` is on PATH"
    )
    where = f" in tenant {tenant}" if tenant else ""
    return CredentialTokenProvider(credential, scope, f"Azure CLI sign-in{where}", hint)


def _device_code(
    environ: Mapping[str, str],
    scope: str,
    kwargs: dict[str, Any],
    prompt: Callable[[str], None] | None,
) -> TokenProvider:
    # The azure-identity default client id is the Azure CLI's, whose pre-consented Graph
    # permissions do not include what wbplan reads; the organisation's own app must be named.
    _require(environ, ("AZURE_CLIENT_ID",), "device-code")
    client = environ["AZURE_CLIENT_ID"]
    tenant = environ.get("AZURE_TENANT_ID") or "organizations"
    show = prompt if prompt is not None else _to_stderr

    def callback(verification_uri: str, user_code: str, expires_on: Any) -> None:
        show(f"To sign in to Microsoft Graph, open {verification_uri} and enter code {user_code}")

    credential = DeviceCodeCredential(client, tenant_id=tenant, prompt_callback=callback, **kwargs)
    hint = (
        "sign in again; the app registration must allow public client flows and hold the "
        "delegated Graph permissions wbplan needs"
    )
    return CredentialTokenProvider(
        credential, scope, f"device-code sign-in with app {client}", hint
    )


def _to_stderr(message: str) -> None:
    # Not print(): stdout may carry machine-readable output (`--format json`).
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
