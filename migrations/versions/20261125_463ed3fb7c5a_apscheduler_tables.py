"""apscheduler tables

APScheduler 4.0.0a6's data store tables (metadata, tasks, schedules, jobs, job_results)
in their own Postgres schema `apscheduler`, created here once so that worker nodes never
race to create them at first start (two nodes doing so fail with UniqueViolation on
`CREATE TYPE`). The definitions come from the pinned APScheduler itself.

SQLite needs nothing: the embedded setup runs the scheduler on its memory data store.

Revision ID: 463ed3fb7c5a
Revises: c4a0ba519be8
Create Date: 2026-11-25 18:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from workflows.scheduling.apscheduler_backend import (
    create_apscheduler_tables,
    drop_apscheduler_tables,
)

revision: str = "463ed3fb7c5a"
down_revision: str | None = "c4a0ba519be8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        create_apscheduler_tables(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        drop_apscheduler_tables(bind)
