"""The vault: the tokens of every connected account, encrypted at rest, per workspace +
user + service, refreshed before they expire and once when a service rejects them.

Every lookup is scoped by `team_id`: a user of one workspace can never reach another's
connections, even with the same user id.

Refreshing. `VaultCredentials.current()` renews a token that expires within a minute;
`refreshed(stale)` renews once after the service answered 401 (connectors/client.py calls
it). Concurrent refreshes of one connection collapse into one: in this process through a
per-connection lock, across processes through a short lease on the row (the first process
to take it refreshes; the others wait for the new token version). A refresh the provider
refuses marks the connection expired and tells the `on_expired` listeners (which DM the
user a Reconnect button); a provider that cannot be reached leaves it active.

Tables: `connections` (one row per team + user + service; the token set is one encrypted
JSON value) and `oauth_pending` (authorizations in progress, see connectors/connections.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from connectors.base import (
    AuthExpired,
    Credentials,
    CredentialSource,
    NotConnected,
    StaticCredentials,
    Unavailable,
)
from connectors.providers import (
    GrantRejected,
    ProviderUnavailable,
    TokenSet,
    provider_for,
)
from connectors.registry import Registry
from core.db import Base, Database, utcnow
from core.security import TokenCipher
from core.settings import Settings

log = logging.getLogger(__name__)

CONNECTED = "connected"
EXPIRED = "expired"
REFRESH_LEEWAY = timedelta(seconds=60)
REFRESH_LEASE = timedelta(seconds=30)
LEASE_POLL_SECONDS = 0.05
ROTATION_BATCH = 500
# Services whose credentials belong to the workspace (the bot), not to a user.
WORKSPACE_SERVICES = frozenset({"slack"})


class ConnectionRecord(Base):
    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "service"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(64))
    account: Mapped[str | None] = mapped_column(String(255), nullable=True)
    scopes: Mapped[str] = mapped_column(Text, default="")
    secret: Mapped[str] = mapped_column(Text)  # encrypted JSON: access/refresh token, extra
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=CONNECTED)
    version: Mapped[int] = mapped_column(Integer, default=1)
    refresh_lease_until: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingAuthorization(Base):
    """A connect link handed to a user and not yet completed (single use, 10 minutes)."""

    __tablename__ = "oauth_pending"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text, default="")
    code_verifier: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConnectionKey(NamedTuple):
    team_id: str
    user_id: str
    service: str


@dataclass(frozen=True)
class ConnectionInfo:
    """What may be shown about a connection (never a token)."""

    service: str
    title: str
    account: str | None
    scopes: tuple[str, ...]
    status: str
    expires_at: datetime | None
    connected_at: datetime

    @property
    def active(self) -> bool:
        return self.status == CONNECTED


@dataclass(frozen=True)
class StoredSecret:
    """The decrypted token set of a connection."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "extra": self.extra,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> StoredSecret:
        data = json.loads(text)
        return cls(data["access_token"], data.get("refresh_token"), dict(data.get("extra") or {}))

    def credentials(self) -> Credentials:
        return Credentials(access_token=self.access_token, extra=dict(self.extra))


ExpiryListener = Callable[[ConnectionKey], Awaitable[None]]
WorkspaceTokens = Callable[[str], Awaitable[str | None]]
"""team_id -> the bot token of that workspace (single-workspace env token, or its install)."""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every datetime ATOM stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def split_scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


@dataclass
class VaultCredentials:
    """The `CredentialSource` of one connection, handed to `ActionContext`."""

    vault: Vault
    key: ConnectionKey

    async def current(self) -> Credentials:
        return await self.vault.current_credentials(self.key)

    async def refreshed(self, stale: Credentials) -> Credentials | None:
        return await self.vault.refresh_after_rejection(self.key, stale)


class Vault:
    """Encrypted token storage and refresh; implements `CredentialProvider`."""

    def __init__(
        self,
        database: Database,
        cipher: TokenCipher,
        settings: Settings,
        registry: Registry,
        *,
        workspace_tokens: WorkspaceTokens | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.settings = settings
        self.registry = registry
        self.workspace_tokens = workspace_tokens
        self.clock = clock
        self._locks: dict[ConnectionKey, asyncio.Lock] = {}
        self._expiry_listeners: list[ExpiryListener] = []

    def on_expired(self, listener: ExpiryListener) -> None:
        """Call `listener(key)` once when a connection becomes expired."""
        self._expiry_listeners.append(listener)

    def title(self, service: str) -> str:
        connector = self.registry.connectors.get(service)
        return connector.title if connector else service

    # --- CredentialProvider ------------------------------------------------------------

    async def for_service(
        self, team_id: str, user_id: str | None, service: str
    ) -> CredentialSource | None:
        """Credentials for `user_id` of `team_id` on `service`, or None when the user has no
        usable connection (never connected, disconnected or expired). Workspace services
        (Slack) get the workspace's bot token."""
        if service in WORKSPACE_SERVICES:
            token = await self.workspace_tokens(team_id) if self.workspace_tokens else None
            if not token:
                return None
            return StaticCredentials(Credentials(access_token=token, extra={"team_id": team_id}))
        if user_id is None:
            return None
        key = ConnectionKey(team_id, user_id, service)
        record = await self._load(key)
        if record is None or record.status != CONNECTED:
            return None
        return VaultCredentials(self, key)

    # --- storing and reading -----------------------------------------------------------

    async def store(
        self,
        key: ConnectionKey,
        tokens: TokenSet,
        *,
        requested_scopes: Sequence[str] = (),
        account: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> ConnectionInfo:
        """Save a new token set for `key` (replacing any earlier one). Scopes are the
        granted ones, or the requested ones when the provider does not say (RFC 6749 §5.1)."""
        now = self.clock()
        values = {
            "account": account,
            "scopes": " ".join(tokens.scopes or sorted(set(requested_scopes))),
            "secret": self.cipher.encrypt(
                StoredSecret(tokens.access_token, tokens.refresh_token, extra or {}).to_json()
            ),
            "expires_at": now + timedelta(seconds=tokens.expires_in) if tokens.expires_in else None,
            "status": CONNECTED,
            "refresh_lease_until": None,
            "updated_at": now,
        }
        try:
            await self._upsert(key, values, now)
        except IntegrityError:  # a concurrent first store of the same key won the insert
            await self._upsert(key, values, now)
        info = await self.get(key)
        assert info is not None
        return info

    async def _upsert(self, key: ConnectionKey, values: dict[str, object], now: datetime) -> None:
        async with self.database.session() as session:
            record = await _select(session, key)
            if record is None:
                session.add(ConnectionRecord(**key._asdict(), **values, created_at=now, version=1))
                return
            for name, value in values.items():
                setattr(record, name, value)
            record.version += 1

    async def get(self, key: ConnectionKey) -> ConnectionInfo | None:
        record = await self._load(key)
        return self._info(record) if record else None

    async def list(self, team_id: str, user_id: str) -> list[ConnectionInfo]:
        async with self.database.session() as session:
            records = await session.scalars(
                select(ConnectionRecord)
                .where(ConnectionRecord.team_id == team_id, ConnectionRecord.user_id == user_id)
                .order_by(ConnectionRecord.service)
            )
            return [self._info(record) for record in records]

    async def remove(self, key: ConnectionKey) -> StoredSecret | None:
        """Delete the connection; its token set is returned so it can be revoked."""
        async with self.database.session() as session:
            record = await _select(session, key)
            if record is None:
                return None
            secret = self._secret(record)
            await session.delete(record)
        return secret

    def _info(self, record: ConnectionRecord) -> ConnectionInfo:
        return ConnectionInfo(
            service=record.service,
            title=self.title(record.service),
            account=record.account,
            scopes=split_scopes(record.scopes),
            status=record.status,
            expires_at=as_utc(record.expires_at) if record.expires_at else None,
            connected_at=as_utc(record.created_at),
        )

    def _secret(self, record: ConnectionRecord) -> StoredSecret:
        return StoredSecret.from_json(self.cipher.decrypt(record.secret))

    async def _load(self, key: ConnectionKey) -> ConnectionRecord | None:
        async with self.database.session() as session:
            return await _select(session, key)

    # --- using and refreshing ----------------------------------------------------------

    async def current_credentials(self, key: ConnectionKey) -> Credentials:
        """The connection's credentials, renewed first if they expire within a minute."""
        record = await self._load(key)
        if record is None:
            raise NotConnected(key.service)
        if record.status != CONNECTED:
            raise AuthExpired(key.service, "expired")
        expires_at = record.expires_at
        if expires_at is None or as_utc(expires_at) - REFRESH_LEEWAY > self.clock():
            return self._secret(record).credentials()
        fresh = await self._refresh(key, seen_version=record.version)
        if fresh is None:
            raise AuthExpired(key.service)
        return fresh

    async def refresh_after_rejection(
        self, key: ConnectionKey, stale: Credentials
    ) -> Credentials | None:
        """After the service rejected `stale` (401): the newer token if another call
        already renewed it, else a renewed one, else None (the connection is now expired)."""
        record = await self._load(key)
        if record is None or record.status != CONNECTED:
            return None
        secret = self._secret(record)
        if secret.access_token != stale.access_token:
            return secret.credentials()
        return await self._refresh(key, seen_version=record.version)

    async def _refresh(self, key: ConnectionKey, seen_version: int) -> Credentials | None:
        """Renew the token of version `seen_version` once, however many callers ask."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            deadline = time.monotonic() + REFRESH_LEASE.total_seconds()
            while True:
                record = await self._load(key)
                if record is None or record.status != CONNECTED:
                    return None
                if record.version != seen_version:  # renewed by someone else meanwhile
                    return self._secret(record).credentials()
                if await self._take_lease(record):
                    return await self._renew(key, record)
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"Renewing your {self.title(key.service)} connection is taking too "
                        "long; try again shortly.",
                        service=key.service,
                    )
                await asyncio.sleep(LEASE_POLL_SECONDS)

    async def _take_lease(self, record: ConnectionRecord) -> bool:
        now = self.clock()
        async with self.database.session() as session:
            result = await session.execute(
                update(ConnectionRecord)
                .where(
                    ConnectionRecord.id == record.id,
                    ConnectionRecord.version == record.version,
                    ConnectionRecord.status == CONNECTED,
                    or_(
                        ConnectionRecord.refresh_lease_until.is_(None),
                        ConnectionRecord.refresh_lease_until < now,
                    ),
                )
                .values(refresh_lease_until=now + REFRESH_LEASE)
            )
        return result.rowcount == 1

    async def _renew(self, key: ConnectionKey, record: ConnectionRecord) -> Credentials | None:
        """Refresh at the provider, holding the lease on `record`."""
        secret = self._secret(record)
        connector = self.registry.connectors.get(key.service)
        if not secret.refresh_token or connector is None:
            await self.mark_expired(key, "the token cannot be renewed")
            return None
        try:
            tokens = await provider_for(connector, self.settings).refresh(secret.refresh_token)
        except GrantRejected as exc:
            await self.mark_expired(key, str(exc))
            return None
        except ProviderUnavailable as exc:
            await self._release_lease(record)
            raise Unavailable(str(exc), service=key.service, retry_after=30) from None
        renewed = StoredSecret(tokens.access_token, tokens.refresh_token, secret.extra)
        now = self.clock()
        async with self.database.session() as session:
            await session.execute(
                update(ConnectionRecord)
                .where(ConnectionRecord.id == record.id, ConnectionRecord.version == record.version)
                .values(
                    secret=self.cipher.encrypt(renewed.to_json()),
                    expires_at=now + timedelta(seconds=tokens.expires_in)
                    if tokens.expires_in
                    else None,
                    scopes=" ".join(tokens.scopes) if tokens.scopes else record.scopes,
                    version=record.version + 1,
                    refresh_lease_until=None,
                    updated_at=now,
                )
            )
        log.info("renewed the %s connection of %s/%s", key.service, key.team_id, key.user_id)
        return renewed.credentials()

    async def _release_lease(self, record: ConnectionRecord) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(ConnectionRecord)
                .where(ConnectionRecord.id == record.id)
                .values(refresh_lease_until=None)
            )

    async def mark_expired(self, key: ConnectionKey, reason: str) -> None:
        """Mark the connection expired; the listeners hear of it once."""
        async with self.database.session() as session:
            result = await session.execute(
                update(ConnectionRecord)
                .where(*_matches(key), ConnectionRecord.status == CONNECTED)
                .values(status=EXPIRED, refresh_lease_until=None, updated_at=self.clock())
            )
        if result.rowcount != 1:
            return
        log.warning(
            "the %s connection of %s/%s expired: %s", key.service, key.team_id, key.user_id, reason
        )
        for listener in self._expiry_listeners:
            await listener(key)


def _matches(key: ConnectionKey) -> tuple:
    return (
        ConnectionRecord.team_id == key.team_id,
        ConnectionRecord.user_id == key.user_id,
        ConnectionRecord.service == key.service,
    )


async def _select(session: AsyncSession, key: ConnectionKey) -> ConnectionRecord | None:
    return await session.scalar(select(ConnectionRecord).where(*_matches(key)))


async def rotate_vault_secrets(database: Database, cipher: TokenCipher) -> int:
    """Re-encrypt every secret the vault keeps with the newest key; returns how many
    values changed."""
    changed = 0
    for table, column_name in (
        (ConnectionRecord.__table__, "secret"),
        (PendingAuthorization.__table__, "code_verifier"),
    ):
        changed += await rotate_column(database, cipher, table, column_name)
    return changed


async def rotate_column(
    database: Database, cipher: TokenCipher, table: Table, column_name: str
) -> int:
    """Re-encrypt the values of an encrypted column not yet under the newest key, in
    batches; `table` must have a one-column primary key."""
    (primary_key,) = table.primary_key.columns
    column = table.c[column_name]
    changed = 0
    last: object = None
    while True:
        async with database.session() as session:
            query = select(primary_key, column).where(column.is_not(None)).order_by(primary_key)
            if last is not None:
                query = query.where(primary_key > last)
            rows = (await session.execute(query.limit(ROTATION_BATCH))).all()
            for row_key, value in rows:
                if not cipher.is_current(value):
                    await session.execute(
                        update(table)
                        .where(primary_key == row_key)
                        .values({column_name: cipher.rotate(value)})
                    )
                    changed += 1
        if len(rows) < ROTATION_BATCH:
            return changed
        last = rows[-1][0]
