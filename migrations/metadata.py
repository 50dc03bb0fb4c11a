"""Import every module that declares tables, so `Base.metadata` is complete.

Alembic (env.py), `atom db upgrade` and the test fixtures all call `load_metadata()`.
A package that adds tables adds its module here.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from core.db import Base

MODEL_MODULES = [
    "bot.dedupe",
    "bot.pending",
    "bot.people",
    "bot.posts",
    "workflows.store",
    "workflows.subscriptions",
    "connectors.vault",
    "bot.slack_install",
]


def load_metadata() -> MetaData:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
