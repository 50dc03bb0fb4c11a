"""Encryption keys: the generated key file, readable old tokens after a rotation, and
`atom keys generate|rotate`."""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from cli.main import main
from connectors.providers import TokenSet
from connectors.registry import load_registry
from connectors.vault import ConnectionKey, Vault
from core.db import Database
from core.security import (
    KeyConfigError,
    TokenCipher,
    UndecryptableSecret,
    cipher_from_settings,
    generate_key,
)
from core.settings import Settings

KEY = ConnectionKey("T0ROTATE01", "U0ROTATE01", "github")
TOKEN = "gho_rotation0000000000000000000000000"


def settings_for(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=str(tmp_path / "data"), **values)


def test_without_keys_one_is_generated_into_a_private_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    with caplog.at_level(logging.WARNING):
        cipher = cipher_from_settings(settings)
    path = tmp_path / "data" / "encryption.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert "ATOM_ENCRYPTION_KEYS" in caplog.text and key not in caplog.text
    # the next start reads the same key back
    again = cipher_from_settings(settings)
    assert again.decrypt(cipher.encrypt("secret")) == "secret"


def test_configured_keys_are_used_newest_first(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    cipher = cipher_from_settings(
        settings_for(tmp_path, encryption_keys=SecretStr(f"{new}, {old}"))
    )
    assert not (tmp_path / "data" / "encryption.key").exists()
    ciphertext = cipher.encrypt("secret")
    assert Fernet(new.encode()).decrypt(ciphertext.encode()) == b"secret"
    assert cipher.decrypt(TokenCipher([old]).encrypt("older")) == "older"


def test_bad_keys_are_explained(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match=r"#2 is not a Fernet key.*atom keys generate"):
        cipher_from_settings(
            settings_for(tmp_path, encryption_keys=SecretStr(f"{generate_key()},nope"))
        )
    with pytest.raises(UndecryptableSecret, match="Put the old key back"):
        TokenCipher([generate_key()]).decrypt(TokenCipher([generate_key()]).encrypt("x"))


async def store_token(database: Database, cipher: TokenCipher) -> Vault:
    settings = Settings(_env_file=None, database_url=database.url)
    vault = Vault(database, cipher, settings, load_registry(["connectors.github"]))
    await vault.store(KEY, TokenSet(access_token=TOKEN, scopes=("repo",)))
    return vault


async def test_rotation_keeps_old_tokens_readable(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = generate_key(), generate_key()
    await store_token(database, TokenCipher([old]))

    # the new key goes first; tokens written with the old one are still readable
    both = TokenCipher([new, old])
    vault = Vault(database, both, Settings(_env_file=None), load_registry(["connectors.github"]))
    assert (await vault.current_credentials(KEY)).access_token == TOKEN

    monkeypatch.setenv("ATOM_DATABASE_URL", database.url)
    monkeypatch.setenv("ATOM_ENCRYPTION_KEYS", f"{new},{old}")
    assert await asyncio.to_thread(main, ["keys", "rotate"]) == 0
    assert "Re-encrypted 1 stored secret" in capsys.readouterr().out

    # now the new key alone reads it, and the old one no longer does
    vault.cipher = TokenCipher([new])
    assert (await vault.current_credentials(KEY)).access_token == TOKEN
    async with database.engine.connect() as connection:
        [secret] = (await connection.execute(text("SELECT secret FROM connections"))).scalars()
    with pytest.raises(UndecryptableSecret):
        TokenCipher([old]).decrypt(secret)
    assert TOKEN not in secret

    # a second rotation has nothing left to do
    assert await asyncio.to_thread(main, ["keys", "rotate"]) == 0
    assert "Re-encrypted 0 stored secret" in capsys.readouterr().out


def test_keys_generate_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "generate"]) == 0
    key = capsys.readouterr().out.strip()
    assert TokenCipher([key]).decrypt(TokenCipher([key]).encrypt("x")) == "x"


def test_keys_rotate_reports_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATOM_ENCRYPTION_KEYS", "not-a-key")
    assert main(["keys", "rotate"]) == 1
    assert "not a Fernet key" in capsys.readouterr().err
