"""What the connector tests share.

`ActionCase`: what each connector's test module under tests/connectors/cases/ declares so
the contract test (tests/connectors/test_contract.py) can exercise every action
uniformly. A module `tests/connectors/cases/<connector>.py` exports:

    CASES: list[ActionCase]   # at least one per action of the connector

`connector_context`: the ActionContext a test runs a connector's actions and polls
with, pointed at the connector's emulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from connectors.artifacts import ArtifactStore
from connectors.base import (
    ActionContext,
    Connector,
    Credentials,
    CredentialSource,
    StaticCredentials,
)
from connectors.client import HttpPool
from core.settings import Settings
from sandbox.emulator import Emulator


@dataclass
class ActionCase:
    action: str  # "github.create_issue"
    valid: dict[str, Any]  # inputs that succeed against a freshly seeded emulator
    invalid: dict[str, Any]  # inputs the service rejects -> InvalidInput
    seed: Callable[[Emulator], None] | None = None  # state the valid input needs
    notes: str = field(default="")


@asynccontextmanager
async def connector_context(
    connector: Connector,
    emulator: Emulator,
    credentials: CredentialSource | None = None,
    *,
    scopes: set[str] | None = None,
    **settings: Any,
) -> AsyncIterator[ActionContext]:
    """An ActionContext for `connector` pointed at `emulator`, authenticated as the
    sandbox user (with `scopes`, all by default) unless `credentials` say otherwise;
    `settings` override the defaults. Its HTTP pool is closed and its stored files
    deleted on exit."""
    pool = HttpPool(Settings(_env_file=None, **emulator.settings_overrides(), **settings))
    source = credentials or StaticCredentials(Credentials(**emulator.issue_token(scopes=scopes)))
    try:
        with TemporaryDirectory() as artifact_dir:
            yield ActionContext(
                team_id="T0SANDBOX",
                user_id="U0SANDBOX",
                http=pool.for_connector(connector, source),
                artifacts=ArtifactStore(Path(artifact_dir), pool.settings.artifact_max_bytes),
            )
    finally:
        await pool.aclose()
