"""`atom keys generate` and `atom keys rotate`: the keys that encrypt tokens at rest.

Rotating a key: put a new key first in ATOM_ENCRYPTION_KEYS (`atom keys generate` makes
one) and keep the old ones after it, restart every ATOM process, run `atom keys rotate`
(every stored secret is re-encrypted with the new key), then drop the old keys. Without
ATOM_ENCRYPTION_KEYS the keys are in `{data_dir}/encryption.key`, one per line, newest
first: the same steps apply to that file.
"""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy.exc import DBAPIError

from bot.slack_install import rotate_installation_tokens
from cli.errors import CommandError
from connectors.vault import rotate_vault_secrets
from core.db import Database
from core.security import (
    KeyConfigError,
    TokenCipher,
    UndecryptableSecret,
    cipher_from_settings,
    generate_key,
)
from core.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("keys", help="the encryption keys of stored tokens")
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="print a new encryption key")
    generate.set_defaults(handler=command_generate)
    rotate = actions.add_parser("rotate", help="re-encrypt every stored token with the newest key")
    rotate.set_defaults(handler=command_rotate)


def command_generate(_args: argparse.Namespace) -> int:
    print(generate_key())
    return 0


def command_rotate(_args: argparse.Namespace) -> int:
    settings = Settings()
    try:
        cipher = cipher_from_settings(settings)
        changed = asyncio.run(_rotate(settings, cipher))
    except (KeyConfigError, UndecryptableSecret) as exc:
        raise CommandError(str(exc)) from None
    except DBAPIError as exc:
        raise CommandError(
            f"Could not update the database ({type(exc.orig).__name__}). Is it reachable and "
            "migrated (`atom db upgrade`)?"
        ) from None
    print(
        f"Re-encrypted {changed} stored secret(s) with the newest key. Once every ATOM "
        "process runs with the new key list, the older keys can be removed."
    )
    return 0


async def _rotate(settings: Settings, cipher: TokenCipher) -> int:
    database = Database(settings.database_url)
    try:
        vault = await rotate_vault_secrets(database, cipher)
        slack = await rotate_installation_tokens(database, cipher)
    finally:
        await database.dispose()
    return vault + slack
