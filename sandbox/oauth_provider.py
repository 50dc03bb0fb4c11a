"""A loopback OAuth provider for every service ATOM connects, so the whole connect flow
runs over real HTTP: `{url}/{service}/authorize`, `/token` (authorization code and
refresh grants) and `/revoke`, which is where ATOM sends everything when
`ATOM_OAUTH_BASE_URL` points here.

Each service speaks its real provider's dialect:
- github: GitHub OAuth apps (`gho_` tokens that never expire, comma-separated `scope`,
  form-encoded answers unless `Accept: application/json`, errors with HTTP 200); with
  `expiring["github"] = True`, GitHub App user tokens (`ghu_`, 8 h, rotating `ghr_`
  refresh tokens).
- gmail / google_calendar / google_drive: Google (`ya29.` tokens, 3599 s, a refresh
  token only with `access_type=offline`, an OpenID `id_token` when `openid` is asked for,
  `{"error": "invalid_grant", …}` with 400, revocation with `token=`).
- asana: Asana (`data` describing the user in the token answer, revocation with the
  client's credentials).
- dropbox: Dropbox (`sl.` tokens, 4 h, refresh token only with
  `token_access_type=offline`, `account_id`/`uid`).
- trello: Trello's `1/authorize` token flow (`#token=…` in the return URL's fragment)
  and `DELETE /1/tokens/{token}`.

Consent is automatic, as a fake user per service (`users`), or refused (`deny`). Access
tokens issued here are granted on the service's emulator when one is attached, and
revoked there when they expire or are revoked here, so "an action uses the token" is
real: `provider.attach("github", github_emulator)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import Emulator

CODE_TTL_SECONDS = 600
GITHUB_ERROR_DOCS = (
    "https://docs.github.com/apps/managing-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors/"
)

# service -> dialect
DIALECTS: dict[str, str] = {
    "github": "github",
    "gmail": "google",
    "google_calendar": "google",
    "google_drive": "google",
    "asana": "asana",
    "dropbox": "dropbox",
    "trello": "trello",
}
# settings names of each service's client credentials (as ATOM reads them)
CLIENT_SETTINGS: dict[str, tuple[str, str]] = {
    "github": ("github_client_id", "github_client_secret"),
    "gmail": ("google_client_id", "google_client_secret"),
    "google_calendar": ("google_client_id", "google_client_secret"),
    "google_drive": ("google_client_id", "google_client_secret"),
    "asana": ("asana_client_id", "asana_client_secret"),
    "dropbox": ("dropbox_app_key", "dropbox_app_secret"),
}
DEFAULT_USERS: dict[str, str] = {
    "github": "octocat",
    "gmail": "ann@example.com",
    "google_calendar": "ann@example.com",
    "google_drive": "ann@example.com",
    "asana": "ann@example.com",
    "dropbox": "ann@example.com",
    "trello": "sandbox-user",
}


class OAuthFailure(Exception):
    """An error answer of the token or revocation endpoint, in the dialect's shape."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str


@dataclass
class AuthorizationCode:
    service: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user: str
    offline: bool
    code_challenge: str | None
    issued_at: float = field(default_factory=time.time)


@dataclass
class Consent:
    """What one consent produced: the current refresh token and access tokens."""

    service: str
    user: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    access_tokens: list[str] = field(default_factory=list)
    revoked: bool = False


class OAuthProviderEmulator(Emulator):
    name = "oauth"

    def __init__(self) -> None:
        by_setting: dict[str, Client] = {}  # the Google services share one Google client
        self.clients: dict[str, Client] = {}
        for service, (id_setting, _) in CLIENT_SETTINGS.items():
            self.clients[service] = by_setting.setdefault(
                id_setting, Client(f"{service}-{secrets.token_hex(6)}", secrets.token_urlsafe(24))
            )
        self.trello_key = secrets.token_hex(16)
        self.users: dict[str, str] = dict(DEFAULT_USERS)
        self.deny: set[str] = set()  # services whose consent the fake user refuses
        self.expiring: dict[str, bool] = {"github": False}
        self.codes: dict[str, AuthorizationCode] = {}
        self.consents: list[Consent] = []
        self.attached: dict[str, Emulator] = {}
        super().__init__()

    # --- wiring ------------------------------------------------------------------------

    def attach(self, service: str, emulator: Emulator) -> None:
        """Grant tokens issued for `service` on `emulator` (and revoke them there). A
        Trello emulator's API key becomes the key Trello authorisation accepts."""
        self.attached[service] = emulator
        if service == "trello" and getattr(emulator, "api_key", None):
            self.trello_key = emulator.api_key  # type: ignore[attr-defined]

    def attach_all(self, emulators: Mapping[str, Emulator]) -> None:
        """Attach every emulator (by connector name, as `Sandbox.emulators` has them) of a
        service this provider speaks for."""
        for service, emulator in emulators.items():
            if service in DIALECTS:
                self.attach(service, emulator)

    def settings_overrides(self) -> dict[str, str]:
        overrides = {"oauth_base_url": self.url, "trello_api_key": self.trello_key}
        for service, (id_setting, secret_setting) in CLIENT_SETTINGS.items():
            overrides[id_setting] = self.clients[service].client_id
            overrides[secret_setting] = self.clients[service].client_secret
        return overrides

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {"error": "server_error", "error_description": message, **extra}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{service}/authorize", self._authorize, methods=["GET"]),
            Route("/{service}/token", self._token, methods=["POST"]),
            Route("/{service}/revoke", self._revoke, methods=["POST"]),
            Route("/trello/tokens/{token}", self._trello_revoke, methods=["DELETE"]),
        ]

    # --- what tests use ----------------------------------------------------------------

    def token_requests(self, service: str, grant_type: str | None = None) -> list[dict[str, str]]:
        """The form bodies ATOM posted to `service`'s token endpoint."""
        forms = [r.form() for r in self.received(f"/{service}/token", "POST")]
        return [f for f in forms if grant_type is None or f.get("grant_type") == grant_type]

    def consents_of(self, service: str) -> list[Consent]:
        with self.lock:
            return [c for c in self.consents if c.service == service]

    def expire_access_tokens(self, service: str) -> None:
        """Let every access token of `service` run out: the service now answers 401."""
        with self.lock:
            for consent in self.consents_of(service):
                for token in consent.access_tokens:
                    self._unregister(service, token)

    def revoke_consents(self, service: str) -> None:
        """The user removed ATOM's access at the provider: refresh tokens stop working and
        access tokens are rejected."""
        with self.lock:
            for consent in self.consents_of(service):
                consent.revoked = True
                for token in consent.access_tokens:
                    self._unregister(service, token)

    # --- authorization endpoint --------------------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        service = request.path_params["service"]
        params = dict(request.query_params)
        dialect = DIALECTS.get(service)
        if dialect is None:
            return Response(f"Unknown service {service}", 404, media_type="text/plain")
        if dialect == "trello":
            return self._trello_authorize(params)
        client = self.clients[service]
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != client.client_id or not redirect_uri:
            # Providers show an error page rather than redirect to an unverified URI.
            return Response("Invalid client_id or redirect_uri", 400, media_type="text/plain")
        if params.get("response_type", "code") != "code":
            return _redirect(
                redirect_uri, error="unsupported_response_type", state=params.get("state")
            )
        if service in self.deny:
            return _redirect(
                redirect_uri,
                error="access_denied",
                error_description="The user has denied your application access.",
                state=params.get("state"),
            )
        challenge = params.get("code_challenge")
        if challenge and params.get("code_challenge_method", "plain") != "S256":
            return _redirect(redirect_uri, error="invalid_request", state=params.get("state"))
        code = secrets.token_urlsafe(20)
        scopes = tuple(params.get("scope", "").replace(",", " ").split())
        with self.lock:
            self.codes[code] = AuthorizationCode(
                service=service,
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                scopes=scopes,
                user=self.users[service],
                offline=_offline(dialect, params),
                code_challenge=challenge,
            )
        answer = {"code": code, "state": params.get("state")}
        if dialect == "google":
            answer["scope"] = " ".join(scopes)
        return _redirect(redirect_uri, **answer)

    def _trello_authorize(self, params: dict[str, str]) -> Response:
        return_url = params.get("return_url", "")
        if params.get("key") != self.trello_key:
            return Response("invalid key", 401, media_type="text/plain")
        if params.get("response_type") != "token" or not return_url:
            return Response("Invalid return_url", 400, media_type="text/plain")
        if "trello" in self.deny:
            return RedirectResponse(return_url, 302)  # no token: the user clicked Deny
        token = secrets.token_hex(32)
        scopes = tuple(params.get("scope", "read").split(","))
        self._issue_consent("trello", self.users["trello"], scopes, token, refresh_token=None)
        return RedirectResponse(f"{return_url}#token={token}", 302)

    # --- token endpoint ----------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        service = request.path_params["service"]
        dialect = DIALECTS.get(service)
        if dialect is None or dialect == "trello":
            return Response("Not Found", 404, media_type="text/plain")
        form = dict(parse_qsl((await request.body()).decode()))
        try:
            client = self._client(service, request, form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                answer = self._exchange_code(service, dialect, client, form)
            elif grant_type == "refresh_token":
                answer = self._refresh(service, dialect, form)
            else:
                raise OAuthFailure(
                    "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}."
                )
        except OAuthFailure as failure:
            return self._failure(dialect, request, failure)
        return _token_response(dialect, request, answer)

    def _client(self, service: str, request: Request, form: dict[str, str]) -> Client:
        """Client authentication: client_secret_post or client_secret_basic."""
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        client = self.clients[service]
        if client_id != client.client_id or not hmac.compare_digest(
            client_secret or "", client.client_secret
        ):
            raise OAuthFailure("invalid_client", "The client credentials are invalid.", 401)
        return client

    def _exchange_code(
        self, service: str, dialect: str, client: Client, form: dict[str, str]
    ) -> dict[str, Any]:
        with self.lock:
            issued = self.codes.pop(form.get("code", ""), None)
        bad_code = (
            "bad_verification_code" if dialect == "github" else "invalid_grant",
            "The code passed is incorrect or expired.",
        )
        if issued is None or issued.service != service or issued.client_id != client.client_id:
            raise OAuthFailure(*bad_code)
        if time.time() - issued.issued_at > CODE_TTL_SECONDS:
            raise OAuthFailure(*bad_code)
        if form.get("redirect_uri") != issued.redirect_uri:
            raise OAuthFailure("redirect_uri_mismatch", "The redirect_uri does not match.")
        if issued.code_challenge and not _pkce_matches(
            form.get("code_verifier", ""), issued.code_challenge
        ):
            raise OAuthFailure("invalid_grant", "The code_verifier does not match the challenge.")
        expires_in, refreshable = self._lifetime(service, dialect, issued.offline)
        access = _new_token(dialect, "access", self._expiring(service))
        refresh = _new_token(dialect, "refresh", self._expiring(service)) if refreshable else None
        self._issue_consent(service, issued.user, issued.scopes, access, refresh)
        answer: dict[str, Any] = {"access_token": access, "token_type": _token_type(dialect)}
        if expires_in:
            answer["expires_in"] = expires_in
        if refresh:
            answer["refresh_token"] = refresh
        answer.update(self._dialect_extras(dialect, issued.user, issued.scopes, client))
        return answer

    def _refresh(self, service: str, dialect: str, form: dict[str, str]) -> dict[str, Any]:
        presented = form.get("refresh_token", "")
        with self.lock:
            consent = next(
                (g for g in self.consents if g.service == service and g.refresh_token == presented),
                None,
            )
            if consent is None or consent.revoked or not presented:
                raise OAuthFailure(
                    "bad_refresh_token" if dialect == "github" else "invalid_grant",
                    "Token has been expired or revoked.",
                )
            access = _new_token(dialect, "access", self._expiring(service))
            consent.access_tokens.append(access)
            if dialect == "github":  # GitHub rotates refresh tokens; the others keep them
                consent.refresh_token = _new_token(dialect, "refresh", True)
            self._register(service, access, consent)
        expires_in, _ = self._lifetime(service, dialect, True)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": _token_type(dialect),
            "expires_in": expires_in,
        }
        if dialect == "github":
            answer["refresh_token"] = consent.refresh_token
        if dialect in {"google", "dropbox"}:
            answer["scope"] = " ".join(consent.scopes)
        if dialect == "asana":
            answer["data"] = _asana_user(consent.user)
        return answer

    def _lifetime(self, service: str, dialect: str, offline: bool) -> tuple[int | None, bool]:
        """(expires_in, whether a refresh token is issued)."""
        if dialect == "github":
            return (28800, True) if self._expiring(service) else (None, False)
        return {"google": 3599, "asana": 3600, "dropbox": 14400}[dialect], offline

    def _expiring(self, service: str) -> bool:
        return self.expiring.get(service, False)

    def _dialect_extras(
        self, dialect: str, user: str, scopes: tuple[str, ...], client: Client
    ) -> dict[str, Any]:
        if dialect == "github":
            extras: dict[str, Any] = {"scope": ",".join(scopes)}
            if self._expiring("github"):
                extras["refresh_token_expires_in"] = 15897600
            return extras
        if dialect == "google":
            extras = {"scope": " ".join(scopes)}
            if "openid" in scopes:
                extras["id_token"] = _id_token(user, client)
            return extras
        if dialect == "asana":
            return {"data": _asana_user(user)}
        account = hashlib.sha256(user.encode()).hexdigest()
        return {
            "scope": " ".join(scopes),
            "account_id": f"dbid:AA{account[:38]}",
            "uid": str(int(account[:8], 16)),
        }

    def _failure(self, dialect: str, request: Request, failure: OAuthFailure) -> Response:
        body = {"error": failure.error, "error_description": failure.description}
        if dialect == "github":  # GitHub answers token errors with HTTP 200
            body["error_uri"] = GITHUB_ERROR_DOCS + "#" + failure.error.replace("_", "-")
            return _token_response(dialect, request, body)
        return JSONResponse(body, failure.status)

    # --- revocation --------------------------------------------------------------------

    async def _revoke(self, request: Request) -> Response:
        """RFC 7009 revocation, as Google (`token=`) and Asana (`token` + client
        credentials) take it. Revoking a refresh token ends the whole grant."""
        service = request.path_params["service"]
        dialect = DIALECTS.get(service)
        if dialect not in {"google", "asana"}:
            return Response("Not Found", 404, media_type="text/plain")
        form = dict(parse_qsl((await request.body()).decode()))
        if dialect == "asana":
            try:
                self._client(service, request, form)
            except OAuthFailure as failure:
                return JSONResponse(
                    {"error": failure.error, "error_description": failure.description},
                    failure.status,
                )
        if not self._revoke_token(service, form.get("token", "")):
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Token expired or revoked"}, 400
            )
        return JSONResponse({}) if dialect == "google" else Response(status_code=200)

    async def _trello_revoke(self, request: Request) -> Response:
        token = request.path_params["token"]
        if request.query_params.get("key") != self.trello_key:
            return Response("invalid key", 401, media_type="text/plain")
        if not self._revoke_token("trello", token):
            return Response("invalid token", 401, media_type="text/plain")
        return JSONResponse({"_value": None})

    def _revoke_token(self, service: str, token: str) -> bool:
        with self.lock:
            for consent in self.consents_of(service):
                if token and (token == consent.refresh_token or token in consent.access_tokens):
                    if consent.revoked:
                        return False
                    consent.revoked = True
                    for access in consent.access_tokens:
                        self._unregister(service, access)
                    return True
        return False

    # --- grants on the service emulators -------------------------------------------------

    def _issue_consent(
        self,
        service: str,
        user: str,
        scopes: tuple[str, ...],
        access_token: str,
        refresh_token: str | None,
    ) -> Consent:
        consent = Consent(service, user, scopes, refresh_token, [access_token])
        with self.lock:
            self.consents.append(consent)
            self._register(service, access_token, consent)
        return consent

    def _register(self, service: str, access_token: str, consent: Consent) -> None:
        emulator = self.attached.get(service)
        if emulator is not None:
            emulator.grant(access_token, consent.user, set(consent.scopes) or None)

    def _unregister(self, service: str, access_token: str) -> None:
        emulator = self.attached.get(service)
        if emulator is not None:
            emulator.revoke(access_token)


# --- wire-format helpers ---------------------------------------------------------------


def _offline(dialect: str, params: dict[str, str]) -> bool:
    """Whether the consent yields a refresh token."""
    if dialect == "google":
        return params.get("access_type") == "offline"
    if dialect == "dropbox":
        return params.get("token_access_type") == "offline"
    return True


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected, challenge)


def _new_token(dialect: str, kind: str, expiring: bool) -> str:
    body = secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
    if dialect == "github":
        prefix = ("ghu_" if expiring else "gho_") if kind == "access" else "ghr_"
        return prefix + body[:36]
    if dialect == "google":
        return ("ya29." if kind == "access" else "1//0") + body
    if dialect == "dropbox":
        return ("sl." if kind == "access" else "") + body
    return f"2/{secrets.randbelow(10**15)}/{secrets.randbelow(10**15)}:{secrets.token_hex(16)}"


def _token_type(dialect: str) -> str:
    return "Bearer" if dialect == "google" else "bearer"


def _token_response(dialect: str, request: Request, body: dict[str, Any]) -> Response:
    """GitHub answers form-encoded unless asked for JSON; the others always JSON."""
    if dialect == "github" and "application/json" not in request.headers.get("accept", ""):
        form = {k: str(v) for k, v in body.items()}
        return Response(urlencode(form), media_type="application/x-www-form-urlencoded")
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _redirect(redirect_uri: str, **params: str | None) -> Response:
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v is not None]
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), 302)


def _asana_user(email: str) -> dict[str, Any]:
    number = int(hashlib.sha256(email.encode()).hexdigest()[:12], 16)
    return {"id": number, "gid": str(number), "name": email.split("@")[0].title(), "email": email}


def _id_token(email: str, client: Client) -> str:
    """An OpenID ID token like Google's (signed here with HS256 and the client secret)."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "iss": "https://accounts.google.com",
        "aud": client.client_id,
        "sub": str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16)),
        "email": email,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
    }
    segments = [_b64(json.dumps(part).encode()) for part in (header, claims)]
    signature = hmac.new(
        client.client_secret.encode(), ".".join(segments).encode(), hashlib.sha256
    ).digest()
    return ".".join([*segments, _b64(signature)])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
