"""Connecting accounts: the links `/atom connect` hands out, the round trip through the
provider they start, `/atom connections` and `/atom disconnect`.

    url = await connections.connect_url(team_id, user_id, "github")
    # -> {public_url}/oauth/github/start?state=…
    # the user opens it: oauth_app redirects to the provider (authorization_redirect),
    # the provider redirects back to /oauth/github/callback (complete)
    await connections.list(team_id, user_id)
    await connections.disconnect(team_id, user_id, "github")

The `state` is signed with ATOM_SECRET_KEY, names the team, user and service it was made
for, expires after 10 minutes and is single-use: it points at an `oauth_pending` row
(which also keeps the PKCE verifier, encrypted) that the callback deletes. A tampered,
replayed, expired or foreign state is refused before anything is stored.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from authlib.common.security import generate_token
from sqlalchemy import delete, select

from connectors.accounts import describe_account
from connectors.base import Connector, Credentials, NoAuth, StaticCredentials, TokenAuth
from connectors.client import HttpPool
from connectors.providers import (
    IDENTITY_SCOPES,
    GrantRejected,
    OAuth2Provider,
    Provider,
    ProviderError,
    ProviderUnavailable,
    TokenSet,
    provider_for,
)
from connectors.vault import (
    WORKSPACE_SERVICES,
    ConnectionInfo,
    ConnectionKey,
    PendingAuthorization,
    StoredSecret,
    Vault,
    as_utc,
    split_scopes,
)
from core.security import BadSignedValue, Signer

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
STATE_PURPOSE = "oauth-state"
PKCE_VERIFIER_LENGTH = 64


class ConnectError(Exception):
    """A connect or disconnect that cannot go ahead; the message is for the user and
    `status` is the HTTP status a web page showing it should have."""

    status = 400


class BadState(ConnectError):
    """The state is not one ATOM issued, was used already, has expired or belongs to
    another service. `key` is who it was issued to, when that is known for sure."""

    def __init__(self, message: str, key: ConnectionKey | None = None) -> None:
        super().__init__(message)
        self.key = key


class ConnectFailed(ConnectError):
    """The user declined, or the provider refused or failed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CallbackParams:
    """What the provider sent back to the callback."""

    code: str | None = None
    token: str | None = None  # token flows (Trello)
    error: str | None = None
    error_description: str | None = None


@dataclass(frozen=True)
class Disconnected:
    service: str
    title: str
    existed: bool
    revoked: bool = False
    problem: str | None = None  # why revoking at the provider failed

    def __bool__(self) -> bool:
        """True when there was a connection to remove."""
        return self.existed

    @property
    def message(self) -> str:
        title = self.title
        if not self.existed:
            return f"You have no {title} connection, so there was nothing to disconnect."
        if self.revoked:
            return f"Disconnected {title}: ATOM deleted its tokens and revoked them at {title}."
        if self.problem:
            return (
                f"Disconnected {title}: ATOM deleted its tokens, but could not revoke them at "
                f"{title} ({self.problem}). Remove ATOM's access in your {title} settings."
            )
        return (
            f"Disconnected {title}: ATOM deleted its tokens. {title} has no way for ATOM to "
            f"revoke them; you can remove ATOM's access in your {title} settings."
        )


class ConnectionNotifier(Protocol):
    """Tells a user what happened to their connections (bot/notifications.py DMs them)."""

    async def connected(self, key: ConnectionKey, title: str, account: str | None) -> None: ...

    async def connection_failed(self, key: ConnectionKey, title: str, reason: str) -> None: ...

    async def connection_expired(
        self, key: ConnectionKey, title: str, reconnect_url: str | None
    ) -> None: ...


class AuditTrail(Protocol):
    """Where connects, disconnects and expiries are recorded (workflows.store.AuditLog)."""

    async def record(
        self,
        team_id: str,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
    ) -> None: ...


class Connections:
    """The user-facing side of the vault: connect links, the OAuth round trip, listing
    and disconnecting. Everything is scoped by team and user."""

    def __init__(
        self,
        vault: Vault,
        http: HttpPool,
        notifier: ConnectionNotifier | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self.vault = vault
        self.http = http
        self.notifier = notifier
        self.audit = audit
        self.settings = vault.settings
        self.signer = Signer(vault.settings.secret_key.get_secret_value(), STATE_PURPOSE)
        vault.on_expired(self._on_expired)

    # --- for the Slack side ------------------------------------------------------------

    def connectable(self) -> list[Connector]:
        """The services a user can connect."""
        connectors = self.vault.registry.connectors.values()
        return sorted((c for c in connectors if _is_connectable(c)), key=lambda c: c.name)

    async def connect_url(
        self, team_id: str, user_id: str, service: str, scopes: Sequence[str] | None = None
    ) -> str:
        """A link (valid 10 minutes, once) that connects `service` for this user, asking
        for `scopes` (default: every scope the connector declares) plus those already
        granted, so a new grant never loses an old one."""
        connector = self._connector(service)
        provider = self._provider(connector)
        key = ConnectionKey(team_id, user_id, service)
        existing = await self.vault.get(key)
        wanted = set(connector.scopes() if scopes is None else scopes)
        wanted |= set(existing.scopes if existing else ())
        wanted |= set(IDENTITY_SCOPES.get(service, ()))
        nonce = secrets.token_urlsafe(24)
        verifier = generate_token(PKCE_VERIFIER_LENGTH) if provider.uses_pkce else None
        now = self.vault.clock()
        async with self.vault.database.session() as session:
            await session.execute(
                delete(PendingAuthorization).where(PendingAuthorization.expires_at < now)
            )
            session.add(
                PendingAuthorization(
                    nonce=nonce,
                    **key._asdict(),
                    scopes=" ".join(sorted(wanted)),
                    code_verifier=self.vault.cipher.encrypt(verifier) if verifier else None,
                    expires_at=now + STATE_TTL,
                    created_at=now,
                )
            )
        state = self.signer.sign({"t": team_id, "u": user_id, "s": service, "n": nonce})
        return f"{self._public_url}/oauth/{service}/start?{urlencode({'state': state})}"

    async def list(self, team_id: str, user_id: str) -> list[ConnectionInfo]:
        return await self.vault.list(team_id, user_id)

    async def missing_scopes(
        self, team_id: str, user_id: str, service: str, needed: Sequence[str]
    ) -> list[str]:
        """Which of `needed` the user's connection lacks (all of them when there is no
        active connection)."""
        info = await self.vault.get(ConnectionKey(team_id, user_id, service))
        granted = set(info.scopes) if info and info.active else set()
        return sorted(set(needed) - granted)

    async def disconnect(self, team_id: str, user_id: str, service: str) -> Disconnected:
        """Delete the connection here and revoke its token at the provider where the
        provider has a revocation endpoint."""
        connector = self._connector(service)
        key = ConnectionKey(team_id, user_id, service)
        secret = await self.vault.remove(key)
        if secret is None:
            return Disconnected(service, connector.title, existed=False)
        log.info("disconnected %s for %s/%s", service, team_id, user_id)
        title = connector.title
        try:
            revoked = await self._revoke(connector, secret)
        except ProviderError as exc:
            result = Disconnected(service, title, existed=True, problem=str(exc))
        else:
            result = Disconnected(service, title, existed=True, revoked=revoked)
        await self._record(key, user_id, "connection.disconnected", {"revoked": result.revoked})
        return result

    # --- for the web side --------------------------------------------------------------

    def uses_token_flow(self, service: str) -> bool:
        """Whether the provider returns a token in the URL fragment instead of a code."""
        connector = self.vault.registry.connectors.get(service)
        return connector is not None and isinstance(connector.auth, TokenAuth)

    def callback_url(self, service: str) -> str:
        return f"{self._public_url}/oauth/{service}/callback"

    async def authorization_redirect(self, service: str, state: str) -> str:
        """Where to send the browser that opened a connect link: the provider's consent
        page, with the scopes, PKCE challenge and quirks the service needs."""
        key, nonce = self._verify(service, state)
        pending = await self._pending(key, nonce)
        provider = self._provider(self._connector(service))
        return provider.authorization_url(
            state=state,
            scopes=split_scopes(pending.scopes),
            redirect_uri=self.callback_url(service),
            code_verifier=self._verifier(pending),
        )

    async def complete(self, service: str, state: str, params: CallbackParams) -> ConnectionInfo:
        """Finish a connect: check and use up the state, get the tokens, store them and
        tell the user. Raises BadState or ConnectFailed, with nothing stored; the user is
        told unless the state does not say for sure who they are, or was used already."""
        try:
            key, nonce = self._verify(service, state)
            pending = await self._consume(key, nonce)
        except BadState as exc:
            if exc.key is not None and self.notifier:
                title = self.vault.title(exc.key.service)
                await self._tell(self.notifier.connection_failed(exc.key, title, str(exc)))
            raise
        connector = self._connector(service)
        try:
            provider = self._provider(connector)
            tokens, extra = await self._tokens(connector, provider, pending, params)
        except ConnectFailed as exc:
            if self.notifier:
                await self._tell(self.notifier.connection_failed(key, connector.title, str(exc)))
            raise
        credentials = StaticCredentials(Credentials(tokens.access_token, extra))
        account = await describe_account(
            service, tokens, self.http.for_connector(connector, credentials)
        )
        info = await self.vault.store(
            key,
            tokens,
            requested_scopes=split_scopes(pending.scopes),
            account=account,
            extra=extra,
        )
        log.info("connected %s for %s/%s", service, key.team_id, key.user_id)
        detail = {"account": account, "scopes": list(info.scopes)}
        await self._record(key, key.user_id, "connection.connected", detail)
        if self.notifier:
            await self._tell(self.notifier.connected(key, connector.title, account))
        return info

    # --- internals ---------------------------------------------------------------------

    @property
    def _public_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    def _connector(self, service: str) -> Connector:
        connector = self.vault.registry.connectors.get(service)
        if service in WORKSPACE_SERVICES:
            raise ConnectError(
                f"{self.vault.title(service)} needs no connecting: ATOM acts there as its bot, "
                "installed for the whole workspace."
            )
        if connector is None or not _is_connectable(connector):
            names = ", ".join(c.name for c in self.connectable())
            raise ConnectError(f"There is no service called “{service}” to connect. Try: {names}.")
        return connector

    def _provider(self, connector: Connector) -> Provider:
        try:
            return provider_for(connector, self.settings)
        except ProviderError as exc:
            raise ConnectError(str(exc)) from None

    def _verify(self, service: str, state: str) -> tuple[ConnectionKey, str]:
        """The key and nonce a state was issued for, or BadState."""
        title = self.vault.title(service)
        try:
            claims = self.signer.verify(state, int(STATE_TTL.total_seconds()))
        except BadSignedValue as exc:
            if exc.reason == "expired":
                key = _claimed_key(exc.expired_payload)
                raise BadState(_expired_link(service, title), key=key) from None
            raise BadState(
                f"This {title} connect link is not valid. Type `/atom connect {service}` in "
                "Slack for a new one."
            ) from None
        key = _claimed_key(claims)
        if key is None or not isinstance(claims.get("n"), str):
            raise BadState(f"This {title} connect link is not valid.")
        if key.service != service:
            raise BadState(
                f"This link was made to connect {self.vault.title(key.service)}, not {title}."
            )
        return key, claims["n"]

    async def _pending(self, key: ConnectionKey, nonce: str) -> PendingAuthorization:
        """The unexpired pending authorization `nonce` of exactly this team, user and
        service (a state whose claims were altered finds nothing), or BadState."""
        title = self.vault.title(key.service)
        async with self.vault.database.session() as session:
            pending = await session.scalar(
                select(PendingAuthorization).where(
                    PendingAuthorization.nonce == nonce,
                    PendingAuthorization.team_id == key.team_id,
                    PendingAuthorization.user_id == key.user_id,
                    PendingAuthorization.service == key.service,
                )
            )
        if pending is None:
            raise BadState(_already_used(key.service, title))
        if as_utc(pending.expires_at) <= self.vault.clock():
            raise BadState(_expired_link(key.service, title), key=key)
        return pending

    async def _consume(self, key: ConnectionKey, nonce: str) -> PendingAuthorization:
        """Use up the pending authorization: of two callbacks with one state, one wins."""
        pending = await self._pending(key, nonce)
        async with self.vault.database.session() as session:
            result = await session.execute(
                delete(PendingAuthorization).where(PendingAuthorization.nonce == nonce)
            )
        if result.rowcount != 1:
            raise BadState(_already_used(key.service, self.vault.title(key.service)))
        return pending

    async def _tokens(
        self,
        connector: Connector,
        provider: Provider,
        pending: PendingAuthorization,
        params: CallbackParams,
    ) -> tuple[TokenSet, dict[str, str]]:
        title, service = connector.title, connector.name
        if params.error:
            if params.error == "access_denied":
                raise ConnectFailed(
                    f"You did not allow ATOM to use {title}, so nothing was connected. "
                    f"Type `/atom connect {service}` to try again."
                )
            detail = params.error_description or params.error
            raise ConnectFailed(f"{title} could not connect your account: {detail}.")
        if not isinstance(provider, OAuth2Provider):
            if not params.token:
                raise ConnectFailed(f"{title} sent no token back; try `/atom connect {service}`.")
            scopes = split_scopes(pending.scopes)
            return TokenSet(access_token=params.token, scopes=scopes), {"api_key": provider.api_key}
        if not params.code:
            raise ConnectFailed(f"{title} sent no authorization code back.")
        try:
            tokens = await provider.exchange(
                code=params.code,
                redirect_uri=self.callback_url(service),
                code_verifier=self._verifier(pending),
            )
        except GrantRejected as exc:
            raise ConnectFailed(str(exc)) from None
        except ProviderUnavailable as exc:
            raise ConnectFailed(str(exc), status=502) from None
        return tokens, {}

    def _verifier(self, pending: PendingAuthorization) -> str | None:
        if pending.code_verifier is None:
            return None
        return self.vault.cipher.decrypt(pending.code_verifier)

    async def _revoke(self, connector: Connector, secret: StoredSecret) -> bool:
        provider = self._provider(connector)
        if secret.refresh_token:  # revoking the refresh token ends the whole grant
            return await provider.revoke(secret.refresh_token, "refresh_token")
        return await provider.revoke(secret.access_token, "access_token")

    async def _on_expired(self, key: ConnectionKey) -> None:
        await self._record(key, "atom", "connection.expired", {})
        try:
            url: str | None = await self.connect_url(key.team_id, key.user_id, key.service)
        except ConnectError as exc:
            log.warning("no reconnect link for %s: %s", key.service, exc)
            url = None
        if self.notifier:
            title = self.vault.title(key.service)
            await self._tell(self.notifier.connection_expired(key, title, url))

    async def _record(
        self, key: ConnectionKey, actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        if self.audit is not None:
            subject = f"connection:{key.service}:{key.user_id}"
            await self.audit.record(key.team_id, actor, action, subject, detail)

    async def _tell(self, notification: Awaitable[None]) -> None:
        """Deliver a notification; a failure to notify never undoes a connection."""
        try:
            await notification
        except Exception as exc:  # Slack down, user gone, … : log it, keep going
            log.warning("could not notify the user: %s: %s", type(exc).__name__, exc)


def _is_connectable(connector: Connector) -> bool:
    return not isinstance(connector.auth, NoAuth) and connector.name not in WORKSPACE_SERVICES


def _claimed_key(claims: dict[str, object] | None) -> ConnectionKey | None:
    if not claims:
        return None
    team, user, service = claims.get("t"), claims.get("u"), claims.get("s")
    if not all(isinstance(value, str) and value for value in (team, user, service)):
        return None
    return ConnectionKey(str(team), str(user), str(service))


def _already_used(service: str, title: str) -> str:
    return (
        f"This {title} connect link was already used. Type `/atom connect {service}` in "
        "Slack for a new one."
    )


def _expired_link(service: str, title: str) -> str:
    return (
        f"This {title} connect link has expired (links last 10 minutes). Type "
        f"`/atom connect {service}` in Slack for a new one."
    )
