"""Security helpers: the cipher for secrets at rest and signed, expiring values.

Secrets at rest (OAuth tokens, Slack installation tokens, PKCE verifiers) are encrypted
with Fernet (AES-128-CBC + HMAC-SHA256). The keys come from `ATOM_ENCRYPTION_KEYS`,
comma-separated, newest first: new values are encrypted with the newest key and every
listed key can still decrypt (`MultiFernet`), so a key is rotated by putting a new one in
front, running `atom keys rotate` (which re-encrypts every stored secret with it) and then
dropping the old one. Without the setting a key is generated into
`{data_dir}/encryption.key` (mode 0600), which is fine for one machine and wrong for
production.

Signed values (the OAuth `state`) are itsdangerous signatures over JSON, keyed by
`ATOM_SECRET_KEY` and a purpose, carrying the time they were made.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "encryption.key"
DEFAULT_SECRET_KEY = "dev-insecure-secret-change-me"


class KeyConfigError(Exception):
    """The encryption keys are missing or malformed; the message says how to fix it."""


class UndecryptableSecret(Exception):
    """A stored secret that no configured key can decrypt."""

    def __init__(self) -> None:
        super().__init__(
            "A stored secret cannot be decrypted with any key in ATOM_ENCRYPTION_KEYS. "
            "Was a key removed before `atom keys rotate` re-encrypted everything with the "
            "newest one? Put the old key back at the end of the list."
        )


def generate_key() -> str:
    """A new random Fernet key (32 bytes, url-safe base64)."""
    return Fernet.generate_key().decode()


class TokenCipher:
    """Encrypts and decrypts secrets with the configured keys, newest first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise KeyConfigError("At least one encryption key is needed.")
        fernets = [_fernet(key, position) for position, key in enumerate(keys, start=1)]
        self._newest = fernets[0]
        self._all = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._newest.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._all.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret() from None

    def is_current(self, ciphertext: str) -> bool:
        """Whether `ciphertext` is already encrypted with the newest key."""
        try:
            self._newest.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str) -> str:
        """`ciphertext` re-encrypted with the newest key."""
        try:
            return self._all.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret() from None


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        raise KeyConfigError(
            f"Encryption key #{position} is not a Fernet key (32 url-safe base64-encoded "
            "bytes). Create one with `atom keys generate`."
        ) from None


def parse_keys(text: str) -> list[str]:
    """Keys from a comma- or newline-separated list, newest first."""
    return [key.strip() for key in text.replace("\n", ",").split(",") if key.strip()]


def key_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / KEY_FILE_NAME


def load_keys(settings: Settings) -> list[str]:
    """The configured keys; without `ATOM_ENCRYPTION_KEYS`, those in the key file (created
    with a fresh key on first use). Blocking file I/O: call it at start-up or in a thread."""
    if settings.encryption_keys is not None:
        keys = parse_keys(settings.encryption_keys.get_secret_value())
        if keys:
            return keys
    path = key_file(settings)
    if not path.exists():
        write_key_file(path, [generate_key()])
        log.warning(
            "ATOM_ENCRYPTION_KEYS is not set: generated an encryption key in %s. Production "
            "must set ATOM_ENCRYPTION_KEYS (and keep it safe): without the key, stored "
            "tokens cannot be read.",
            path,
        )
    keys = parse_keys(path.read_text())
    if not keys:
        raise KeyConfigError(f"{path} holds no encryption key; delete it to generate one.")
    return keys


def write_key_file(path: Path, keys: Sequence[str]) -> None:
    """Write `keys` (newest first) to `path`, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(keys) + "\n")
    path.chmod(0o600)


def cipher_from_settings(settings: Settings) -> TokenCipher:
    return TokenCipher(load_keys(settings))


# --- signed values ---------------------------------------------------------------------


class BadSignedValue(Exception):
    """A signed value that was tampered with, made for something else, or is too old.
    `expired_payload` is set (and trustworthy) when the signature is good but too old."""

    def __init__(self, reason: str, expired_payload: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired_payload = expired_payload


class Signer:
    """Signs small JSON payloads for one purpose; a value signed for one purpose does not
    verify for another."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        if secret_key == DEFAULT_SECRET_KEY:
            log.warning(
                "ATOM_SECRET_KEY is the development default: set a long random value in "
                "production, or anyone can forge OAuth state."
            )
        self._serializer = URLSafeTimedSerializer(secret_key, salt=f"atom.{purpose}")

    def sign(self, payload: dict[str, Any]) -> str:
        return self._serializer.dumps(payload)

    def verify(self, value: str, max_age_seconds: int) -> dict[str, Any]:
        try:
            payload = self._serializer.loads(value, max_age=max_age_seconds)
        except SignatureExpired as exc:
            expired = self._serializer.load_payload(exc.payload) if exc.payload else None
            raise BadSignedValue(
                "expired", expired if isinstance(expired, dict) else None
            ) from None
        except BadSignature:
            raise BadSignedValue("invalid") from None
        if not isinstance(payload, dict):
            raise BadSignedValue("invalid")
        return payload
