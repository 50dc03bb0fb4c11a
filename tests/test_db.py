from datetime import timedelta

from bot.dedupe import EventDeduplicator
from core.db import Database, utcnow


async def test_database_answers_on_both_backends(database: Database) -> None:
    await database.ping()
    assert database.engine.dialect.name in {"sqlite", "postgresql"}


async def test_event_is_accepted_once(database: Database) -> None:
    dedupe = EventDeduplicator(database)
    assert await dedupe.first_delivery("Ev1", "T1")
    assert not await dedupe.first_delivery("Ev1", "T1")
    assert await dedupe.first_delivery("Ev2", "T1")


async def test_old_receipts_are_forgotten(database: Database) -> None:
    dedupe = EventDeduplicator(database, keep=timedelta(hours=1))
    await dedupe.first_delivery("Ev1")
    assert await dedupe.forget_older_than(utcnow() + timedelta(hours=2)) == 1
    assert await dedupe.first_delivery("Ev1")
