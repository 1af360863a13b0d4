"""Credential selection and the azure-identity paths, the latter against the emulator acting as the
sign-in authority (client credentials with a secret or a federated assertion)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from planner.errors import GraphAuthError
from planner.graphapi.auth import (
    CredentialTokenProvider,
    StaticTokenProvider,
    TokenProvider,
    graph_scope,
    make_token_provider,
)
from planner.graphapi.client import GraphClient, GraphOptions
from planner.observe.graph import observe_tenant
from tests.graph.conftest import make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import (
    ISSUED_TOKEN,
    SECRETS,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_FEDERATED_TOKEN,
    TEST_TOKEN,
    GraphEmulator,
)

OPTIONS = GraphOptions()


def _sp_env(emu: GraphEmulator | None = None, **extra: str) -> dict[str, str]:
    env = {"AZURE_TENANT_ID": gt.TENANT_ID, "AZURE_CLIENT_ID": TEST_CLIENT_ID, **extra}
    if emu is not None:
        env["AZURE_AUTHORITY_HOST"] = emu.origin
    return env


def _close(provider: TokenProvider) -> str:
    provider.close()
    return provider.description


def test_graph_scope_follows_the_graph_origin() -> None:
    assert graph_scope("https://graph.microsoft.com/v1.0") == "https://graph.microsoft.com/.default"
    assert graph_scope("https://graph.microsoft.us/beta") == "https://graph.microsoft.us/.default"
    assert graph_scope("https://127.0.0.1:8443/v1.0") == "https://127.0.0.1:8443/.default"


def test_token_mode_reads_the_env_var_and_strips_a_bearer_prefix() -> None:
    provider = make_token_provider(
        GraphOptions(auth="token"), env={"WBPLAN_GRAPH_TOKEN": f"  Bearer {TEST_TOKEN}\n"}
    )
    assert isinstance(provider, StaticTokenProvider)
    assert provider.token() == TEST_TOKEN
    assert provider.description == "bearer token from WBPLAN_GRAPH_TOKEN"


def test_token_mode_without_the_variable_says_how_to_get_one() -> None:
    with pytest.raises(GraphAuthError) as info:
        make_token_provider(GraphOptions(auth="token"), env={})
    assert "WBPLAN_GRAPH_TOKEN is empty or unset" in info.value.message
    assert "az account get-access-token" in (info.value.hint or "")


def test_auto_prefers_the_token_then_the_service_principal_then_workload_identity(
    tmp_path: Path,
) -> None:
    both = _sp_env(WBPLAN_GRAPH_TOKEN=TEST_TOKEN, AZURE_CLIENT_SECRET=TEST_CLIENT_SECRET)
    assert isinstance(make_token_provider(OPTIONS, env=both), StaticTokenProvider)

    sp = make_token_provider(OPTIONS, env=_sp_env(AZURE_CLIENT_SECRET=TEST_CLIENT_SECRET))
    assert isinstance(sp, CredentialTokenProvider)
    assert "(client secret)" in _close(sp)

    token_file = tmp_path / "oidc"
    token_file.write_text(TEST_FEDERATED_TOKEN)
    wi = make_token_provider(OPTIONS, env=_sp_env(AZURE_FEDERATED_TOKEN_FILE=str(token_file)))
    assert _close(wi).startswith("workload identity")


def test_auto_never_picks_device_code_and_explains_every_option() -> None:
    with pytest.raises(GraphAuthError) as info:
        make_token_provider(OPTIONS, env={"AZURE_CLIENT_ID": TEST_CLIENT_ID})
    assert info.value.message == "no Graph credential is configured"
    hint = info.value.hint or ""
    for name in ("WBPLAN_GRAPH_TOKEN", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
        assert name in hint
    assert "device-code" in hint


@pytest.mark.parametrize(
    ("mode", "env", "missing"),
    [
        ("environment", {"AZURE_CLIENT_ID": TEST_CLIENT_ID}, "AZURE_TENANT_ID"),
        ("environment", _sp_env(), "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"),
        ("workload-identity", _sp_env(), "AZURE_FEDERATED_TOKEN_FILE"),
        ("device-code", {}, "AZURE_CLIENT_ID"),
    ],
)
def test_explicit_modes_name_what_is_missing(mode: str, env: dict[str, str], missing: str) -> None:
    with pytest.raises(GraphAuthError) as info:
        make_token_provider(GraphOptions(auth=mode), env=env)  # type: ignore[arg-type]
    assert missing in info.value.message


def test_missing_federated_token_file_is_a_clear_error(tmp_path: Path) -> None:
    env = _sp_env(AZURE_FEDERATED_TOKEN_FILE=str(tmp_path / "absent"))
    with pytest.raises(GraphAuthError, match="AZURE_FEDERATED_TOKEN_FILE names no readable file"):
        make_token_provider(GraphOptions(auth="workload-identity"), env=env)


def test_invalid_tenant_id_is_a_graph_auth_error_not_a_traceback() -> None:
    env = {"AZURE_TENANT_ID": "not a tenant!", "AZURE_CLIENT_ID": TEST_CLIENT_ID}
    with pytest.raises(GraphAuthError) as info:
        make_token_provider(OPTIONS, env={**env, "AZURE_CLIENT_SECRET": TEST_CLIENT_SECRET})
    assert "Invalid tenant ID" in info.value.message
    assert "AZURE_TENANT_ID" in (info.value.hint or "")


def test_client_secret_against_the_emulator_authority(graph_emulator: GraphEmulator) -> None:
    graph_emulator.client_secrets[TEST_CLIENT_ID] = TEST_CLIENT_SECRET
    options = GraphOptions(
        graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file, auth="environment"
    )
    env = _sp_env(graph_emulator, AZURE_CLIENT_SECRET=TEST_CLIENT_SECRET)
    with GraphClient(options, make_token_provider(options, env=env)) as client:
        state = observe_tenant(client, make_policy())
        client.get("/domains")
    assert state.tenant_id == gt.TENANT_ID
    token_calls = [r for r in graph_emulator.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert len(token_calls) == 1  # cached for the following requests
    form = token_calls[0].query
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == f"{graph_emulator.origin}/.default"
    assert all(r.authorized for r in graph_emulator.graph_requests())
    assert ISSUED_TOKEN in graph_emulator.issued_tokens


def test_rejected_client_secret_is_a_graph_auth_error_without_the_secret(
    graph_emulator: GraphEmulator,
) -> None:
    graph_emulator.client_secrets[TEST_CLIENT_ID] = "the-right-one"
    options = GraphOptions(graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file)
    env = _sp_env(graph_emulator, AZURE_CLIENT_SECRET=TEST_CLIENT_SECRET)
    client = GraphClient(options, make_token_provider(options, env=env))
    with client, pytest.raises(GraphAuthError) as info:
        client.get("/organization")
    text = str(info.value)
    assert "could not get a Graph token from the service principal" in text
    assert "AADSTS7000215" in text
    assert "Certificates & secrets" in text
    assert all(secret not in text for secret in SECRETS)
    assert info.value.__cause__ is None  # azure's chained error is not carried along
    assert graph_emulator.requests  # the token endpoint was asked …
    assert all("oauth2" in r.path for r in graph_emulator.requests)  # … and Graph never was


def test_workload_identity_against_the_emulator_authority(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    token_file = tmp_path / "oidc-token"
    token_file.write_text(TEST_FEDERATED_TOKEN)
    graph_emulator.federated_assertions[TEST_CLIENT_ID] = TEST_FEDERATED_TOKEN
    options = GraphOptions(
        graph_url=graph_emulator.base_url,
        ca_file=graph_emulator.tls.ca_file,
        auth="workload-identity",
    )
    env = _sp_env(graph_emulator, AZURE_FEDERATED_TOKEN_FILE=str(token_file))
    with GraphClient(options, make_token_provider(options, env=env)) as client:
        assert client.get("/organization")["value"][0]["id"] == gt.TENANT_ID
    [call] = [r for r in graph_emulator.requests if "oauth2" in r.path]
    assert call.query["client_assertion_type"].endswith("jwt-bearer")
    assert call.query["client_assertion"] == "<redacted>"


def _write_cert(path: Path) -> Path:
    # RSA: azure-identity signs the client assertion with RS256.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wbplan test app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(pem)
    return path


def test_client_certificate_is_loaded_from_the_environment(tmp_path: Path) -> None:
    cert = _write_cert(tmp_path / "app.pem")
    provider = make_token_provider(OPTIONS, env=_sp_env(AZURE_CLIENT_CERTIFICATE_PATH=str(cert)))
    assert "(client certificate)" in _close(provider)


def test_unreadable_client_certificate_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(GraphAuthError, match="cannot load the client certificate"):
        make_token_provider(OPTIONS, env=_sp_env(AZURE_CLIENT_CERTIFICATE_PATH=str(bad)))


def test_device_code_uses_the_named_app_and_the_given_prompt() -> None:
    shown: list[str] = []
    provider = make_token_provider(
        GraphOptions(auth="device-code"),
        env={"AZURE_CLIENT_ID": TEST_CLIENT_ID},
        device_code_prompt=shown.append,
    )
    assert _close(provider) == f"device-code sign-in with app {TEST_CLIENT_ID}"
    assert shown == []  # nothing is shown until a token is requested


def test_device_code_sign_in_against_the_emulator_authority(graph_emulator: GraphEmulator) -> None:
    graph_emulator.public_clients.add(TEST_CLIENT_ID)
    options = GraphOptions(
        graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file, auth="device-code"
    )
    env = _sp_env(graph_emulator)
    shown: list[str] = []
    provider = make_token_provider(options, env=env, device_code_prompt=shown.append)
    with GraphClient(options, provider) as client:
        assert client.get("/organization")["value"][0]["id"] == gt.TENANT_ID
    assert shown == [
        "To sign in to Microsoft Graph, open https://microsoft.com/devicelogin "
        "and enter code WBPLANTEST"
    ]
    grants = [r.query.get("grant_type") for r in graph_emulator.requests if "oauth2" in r.path]
    assert grants[-1] == "urn:ietf:params:oauth:grant-type:device_code"


def test_providers_never_show_their_secret() -> None:
    static = StaticTokenProvider(TEST_TOKEN, "bearer token from WBPLAN_GRAPH_TOKEN")
    sp = make_token_provider(OPTIONS, env=_sp_env(AZURE_CLIENT_SECRET=TEST_CLIENT_SECRET))
    with GraphClient(OPTIONS, static) as client:
        shown = [repr(static), str(static), repr(sp), sp.description, repr(client), repr(OPTIONS)]
    sp.close()
    for text in shown:
        assert all(secret not in text for secret in SECRETS), text
