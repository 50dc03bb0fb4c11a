"""The sandbox OAuth provider speaks each real provider's token-endpoint dialect."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from connectors.accounts import id_token_claims
from sandbox.oauth_provider import OAuthProviderEmulator

CALLBACK = "http://127.0.0.1:9/oauth/{service}/callback"
VERIFIER = "v" * 50


@pytest.fixture(scope="module")
def provider() -> Iterator[OAuthProviderEmulator]:
    with OAuthProviderEmulator() as running:
        yield running  # type: ignore[misc]


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(provider: OAuthProviderEmulator, service: str, **extra: str) -> str:
    """The code a consent yields."""
    client = provider.clients[service]
    params = {
        "client_id": client.client_id,
        "redirect_uri": CALLBACK.format(service=service),
        "response_type": "code",
        "state": "s1",
        "code_challenge": challenge(VERIFIER),
        "code_challenge_method": "S256",
        **extra,
    }
    response = httpx.get(f"{provider.url}/{service}/authorize", params=params)
    assert response.status_code == 302
    answer = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    assert answer["state"] == "s1"
    return answer["code"]


def token_request(
    provider: OAuthProviderEmulator,
    service: str,
    headers: dict[str, str] | None = None,
    **form: str,
) -> httpx.Response:
    client = provider.clients[service]
    body = {"client_id": client.client_id, "client_secret": client.client_secret, **form}
    return httpx.post(f"{provider.url}/{service}/token", data=body, headers=headers or {})


def exchange(
    provider: OAuthProviderEmulator, service: str, code: str, **headers: str
) -> httpx.Response:
    return token_request(
        provider,
        service,
        headers,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK.format(service=service),
        code_verifier=VERIFIER,
    )


def test_github_answers_form_encoded_unless_json_is_asked_for(
    provider: OAuthProviderEmulator,
) -> None:
    form = exchange(provider, "github", authorize(provider, "github", scope="repo gist"))
    assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
    answer = dict(parse_qsl(form.text))
    assert answer["access_token"].startswith("gho_") and answer["scope"] == "repo,gist"
    assert answer["token_type"] == "bearer" and "expires_in" not in answer

    as_json = exchange(provider, "github", authorize(provider, "github"), Accept="application/json")
    assert as_json.json()["access_token"].startswith("gho_")


def test_github_errors_come_with_status_200(provider: OAuthProviderEmulator) -> None:
    response = exchange(provider, "github", "not-a-code", Accept="application/json")
    assert response.status_code == 200
    assert response.json()["error"] == "bad_verification_code"
    assert response.json()["error_uri"].startswith("https://docs.github.com/")


def test_codes_are_single_use_and_pkce_is_checked(provider: OAuthProviderEmulator) -> None:
    code = authorize(provider, "asana")
    assert exchange(provider, "asana", code).status_code == 200
    assert exchange(provider, "asana", code).json() == {
        "error": "invalid_grant",
        "error_description": "The code passed is incorrect or expired.",
    }
    wrong_verifier = token_request(
        provider,
        "asana",
        grant_type="authorization_code",
        code=authorize(provider, "asana"),
        redirect_uri=CALLBACK.format(service="asana"),
        code_verifier="w" * 50,
    )
    assert wrong_verifier.status_code == 400
    bad_client = httpx.post(
        f"{provider.url}/asana/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": "nobody"},
    )
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"


def test_google_refresh_tokens_need_offline_access_and_openid_yields_an_id_token(
    provider: OAuthProviderEmulator,
) -> None:
    online = exchange(provider, "gmail", authorize(provider, "gmail", scope="openid email")).json()
    assert "refresh_token" not in online
    assert online["token_type"] == "Bearer" and online["expires_in"] == 3599
    assert id_token_claims(online["id_token"])["email"] == "ann@example.com"

    offline = exchange(
        provider, "gmail", authorize(provider, "gmail", access_type="offline", prompt="consent")
    ).json()
    refreshed = token_request(
        provider, "gmail", grant_type="refresh_token", refresh_token=offline["refresh_token"]
    ).json()
    assert refreshed["access_token"] != offline["access_token"]
    assert "refresh_token" not in refreshed  # Google keeps the refresh token


def test_revocation_ends_the_grant(provider: OAuthProviderEmulator) -> None:
    issued = exchange(provider, "gmail", authorize(provider, "gmail", access_type="offline")).json()
    revoke = httpx.post(f"{provider.url}/gmail/revoke", data={"token": issued["refresh_token"]})
    assert revoke.status_code == 200 and revoke.json() == {}
    again = httpx.post(f"{provider.url}/gmail/revoke", data={"token": issued["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    refresh = token_request(
        provider, "gmail", grant_type="refresh_token", refresh_token=issued["refresh_token"]
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_dropbox_offline_tokens_carry_the_account(provider: OAuthProviderEmulator) -> None:
    code = authorize(provider, "dropbox", token_access_type="offline", scope="files.content.write")
    answer = exchange(provider, "dropbox", code).json()
    assert answer["access_token"].startswith("sl.") and answer["expires_in"] == 14400
    assert answer["refresh_token"] and answer["account_id"].startswith("dbid:")


def test_unknown_clients_get_an_error_page_not_a_redirect(provider: OAuthProviderEmulator) -> None:
    response = httpx.get(
        f"{provider.url}/github/authorize",
        params={"client_id": "evil", "redirect_uri": "https://evil.example/cb", "state": "s"},
    )
    assert response.status_code == 400 and "location" not in response.headers
