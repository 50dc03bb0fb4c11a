"""Talking to the services' authorization servers: the authorization URL a user is sent
to, the code exchange, refresh and revocation.

A connector's `auth` spec says where its provider lives; this module adds the client
credentials from settings and each protocol's rules. OAuth 2 goes through Authlib's
`AsyncOAuth2Client` (PKCE S256 where the connector says the provider supports it, client
credentials in the form body, which every provider ATOM uses accepts). `TokenAuth` is
Trello's own `1/authorize` flow: no code, no refresh; the token comes back in the URL
fragment of the return URL.

With `ATOM_OAUTH_BASE_URL` set (the sandbox), every provider endpoint is replaced by the
sandbox provider's: `{oauth_base_url}/{service}/authorize|token|revoke`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from connectors.base import Connector, OAuth2Auth, TokenAuth
from core.settings import Settings

# Extra scopes asked for so ATOM can say which account was connected ("… as ann@x.com").
IDENTITY_SCOPES: Mapping[str, tuple[str, ...]] = {
    "gmail": ("openid", "email"),
    "google_calendar": ("openid", "email"),
    "google_drive": ("openid", "email"),
}
TOKEN_AUTH_APP_NAME = "ATOM"


class ProviderError(Exception):
    """Something went wrong with a provider; the message is safe to show the user."""


class NotConfigured(ProviderError):
    """This ATOM has no client credentials for the service."""


class GrantRejected(ProviderError):
    """The provider refused: the code or refresh token is invalid, expired or revoked."""

    def __init__(self, message: str, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or failed (5xx): worth trying again later."""


@dataclass(frozen=True)
class TokenSet:
    """What a provider issued. `details` keeps the rest of its answer (account ids, an
    OpenID `id_token`, Asana's `data`) for naming the account; it is never stored."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    scopes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str | None = None
    revoke: str | None = None


def parse_scopes(value: Any) -> tuple[str, ...]:
    """Scopes as a provider spells them: space-separated (RFC 6749), comma-separated
    (GitHub, Trello) or a list."""
    if not value:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    return tuple(sorted({str(item).strip() for item in items if str(item).strip()}))


def _secret(settings: Settings, name: str) -> str | None:
    value = getattr(settings, name, None) if name else None
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _not_configured(connector: Connector, *setting_names: str) -> NotConfigured:
    names = " and ".join(f"ATOM_{name.upper()}" for name in setting_names if name)
    return NotConfigured(
        f"{connector.title} is not set up on this ATOM yet: an administrator must set {names}."
    )


class OAuth2Provider:
    """An OAuth 2 authorization server, as one connector's auth spec describes it."""

    def __init__(
        self,
        connector: Connector,
        auth: OAuth2Auth,
        client_id: str,
        client_secret: str,
        endpoints: Endpoints,
        timeout: float,
    ) -> None:
        self.connector = connector
        self.auth = auth
        self.client_id = client_id
        self.client_secret = client_secret
        self.endpoints = endpoints
        self.timeout = timeout

    @property
    def uses_pkce(self) -> bool:
        return self.auth.pkce

    def _client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_post",
            revocation_endpoint_auth_method="client_secret_post",
            redirect_uri=redirect_uri,
            code_challenge_method="S256" if self.auth.pkce else None,
            timeout=self.timeout,
        )

    def authorization_url(
        self, *, state: str, scopes: Sequence[str], redirect_uri: str, code_verifier: str | None
    ) -> str:
        client = self._client(redirect_uri)
        params: dict[str, str] = dict(self.auth.extra_authorize_params)
        if scopes:
            params["scope"] = " ".join(scopes)
        url, _ = client.create_authorization_url(
            self.endpoints.authorize,
            state=state,
            code_verifier=code_verifier if self.auth.pkce else None,
            **params,
        )
        return url

    async def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> TokenSet:
        """Trade an authorization code for tokens."""
        extra = {"code_verifier": code_verifier} if self.auth.pkce and code_verifier else {}
        async with self._client(redirect_uri) as client, self._talking("the authorization"):
            token = await client.fetch_token(
                self.endpoints.token, grant_type="authorization_code", code=code, **extra
            )
        return _token_set(token, self.connector.title)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens from a refresh token (which some providers rotate, most keep)."""
        async with self._client() as client, self._talking("to renew the connection"):
            token = await client.refresh_token(self.endpoints.token, refresh_token=refresh_token)
        fresh = _token_set(token, self.connector.title)
        if fresh.refresh_token is None:
            return TokenSet(
                fresh.access_token, refresh_token, fresh.expires_in, fresh.scopes, fresh.details
            )
        return fresh

    async def revoke(self, token: str, token_type_hint: str) -> bool:
        """Revoke `token` (RFC 7009). False when the provider offers no revocation endpoint;
        a token the provider no longer knows counts as revoked."""
        if not self.endpoints.revoke:
            return False
        async with self._client() as client, self._talking("the revocation"):
            response = await client.revoke_token(
                self.endpoints.revoke, token=token, token_type_hint=token_type_hint
            )
        if response.status_code < 300:
            return True
        if response.status_code == 400 and _error_code(response) in {"invalid_token", ""}:
            return True
        if response.status_code >= 500:
            raise ProviderUnavailable(
                f"{self.connector.title} failed to revoke the token (HTTP {response.status_code})."
            )
        raise ProviderError(
            f"{self.connector.title} refused to revoke the token (HTTP {response.status_code})."
        )

    @asynccontextmanager
    async def _talking(self, what: str) -> AsyncIterator[None]:
        """Turn Authlib/httpx failures into ProviderError subclasses a user can read."""
        title = self.connector.title
        try:
            yield
        except OAuthError as exc:
            detail = (exc.description or exc.error or "no reason given").rstrip(".")
            raise GrantRejected(f"{title} refused {what}: {detail}.", error=exc.error) from None
        except httpx2.HTTPStatusError as exc:
            status = exc.response.status_code
            if status >= 500:
                raise ProviderUnavailable(
                    f"{title} failed while handling {what} (HTTP {status}); try again shortly."
                ) from None
            raise GrantRejected(f"{title} refused {what} (HTTP {status}).") from None
        except httpx2.TransportError as exc:
            raise ProviderUnavailable(
                f"Could not reach {title} ({type(exc).__name__}); try again shortly."
            ) from None
        except ValueError:
            raise ProviderUnavailable(
                f"{title} answered {what} with something unreadable."
            ) from None


class TokenAuthProvider:
    """Trello's `1/authorize`: the user approves and is sent back to `return_url` with
    `#token=…` in the fragment. Tokens do not expire (`expiration=never`) and cannot be
    refreshed; `DELETE /1/tokens/{token}` revokes one."""

    uses_pkce = False

    def __init__(
        self,
        connector: Connector,
        auth: TokenAuth,
        api_key: str,
        endpoints: Endpoints,
        timeout: float,
    ) -> None:
        self.connector = connector
        self.auth = auth
        self.api_key = api_key
        self.endpoints = endpoints
        self.timeout = timeout

    def authorization_url(
        self, *, state: str, scopes: Sequence[str], redirect_uri: str, code_verifier: str | None
    ) -> str:
        params = {
            "key": self.api_key,
            "name": TOKEN_AUTH_APP_NAME,
            "expiration": "never",
            "response_type": "token",
            "scope": ",".join(scopes) or "read",
            "callback_method": "fragment",
            "return_url": f"{redirect_uri}?{urlencode({'state': state})}",
        }
        return f"{self.endpoints.authorize}?{urlencode(params)}"

    async def refresh(self, refresh_token: str) -> TokenSet:
        raise GrantRejected(f"{self.connector.title} tokens cannot be renewed.")

    async def revoke(self, token: str, token_type_hint: str) -> bool:
        if not self.endpoints.revoke:
            return False
        url = self.endpoints.revoke.replace("{token}", quote(token, safe=""))
        try:
            async with httpx2.AsyncClient(timeout=self.timeout) as client:
                response = await client.delete(url, params={"key": self.api_key, "token": token})
        except httpx2.TransportError as exc:
            raise ProviderUnavailable(
                f"Could not reach {self.connector.title} ({type(exc).__name__})."
            ) from None
        if response.status_code < 300 or response.status_code in (401, 404):
            return True  # revoked now, or already unknown to Trello
        raise ProviderUnavailable(
            f"{self.connector.title} failed to revoke the token (HTTP {response.status_code})."
        )


Provider = OAuth2Provider | TokenAuthProvider


def provider_for(connector: Connector, settings: Settings) -> Provider:
    """The provider of `connector`, with this ATOM's client credentials; NotConfigured when
    they are missing, ProviderError when the connector has nothing to connect."""
    auth = connector.auth
    sandbox = settings.oauth_base_url.rstrip("/") if settings.oauth_base_url else None
    timeout = settings.http_timeout_seconds
    if isinstance(auth, OAuth2Auth):
        client_id = _secret(settings, auth.client_id_setting)
        client_secret = _secret(settings, auth.client_secret_setting)
        if not client_id or not client_secret:
            raise _not_configured(connector, auth.client_id_setting, auth.client_secret_setting)
        endpoints = (
            Endpoints(
                authorize=f"{sandbox}/{connector.name}/authorize",
                token=f"{sandbox}/{connector.name}/token",
                revoke=f"{sandbox}/{connector.name}/revoke" if auth.revoke_url else None,
            )
            if sandbox
            else Endpoints(
                authorize=auth.authorize_url,
                token=auth.token_url,
                revoke=auth.revoke_url,
            )
        )
        return OAuth2Provider(connector, auth, client_id, client_secret, endpoints, timeout)
    if isinstance(auth, TokenAuth):
        api_key = _secret(settings, auth.api_key_setting)
        if not api_key:
            raise _not_configured(connector, auth.api_key_setting)
        api_base = str(getattr(settings, connector.base_url_setting)).rstrip("/")
        endpoints = (
            Endpoints(
                authorize=f"{sandbox}/{connector.name}/authorize",
                revoke=f"{sandbox}/{connector.name}/tokens/{{token}}",
            )
            if sandbox
            else Endpoints(authorize=auth.authorize_url, revoke=f"{api_base}/tokens/{{token}}")
        )
        return TokenAuthProvider(connector, auth, api_key, endpoints, timeout)
    raise ProviderError(f"{connector.title} needs no connecting.")


def _token_set(token: Mapping[str, Any], title: str) -> TokenSet:
    if not token.get("access_token"):
        raise ProviderUnavailable(f"{title} answered without an access token.")
    expires_in = token.get("expires_in")
    return TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token") or None,
        expires_in=int(expires_in) if expires_in not in (None, "") else None,
        scopes=parse_scopes(token.get("scope")),
        details={
            k: v
            for k, v in token.items()
            if k not in {"access_token", "refresh_token", "expires_in", "expires_at"}
        },
    )


def _error_code(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""
