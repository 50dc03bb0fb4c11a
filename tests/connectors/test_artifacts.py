"""The artifact store: files a step downloads for a later step."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.artifacts import ArtifactStore, ArtifactTooLarge
from core.settings import Settings


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_file_written_by_one_store_is_read_by_another_on_the_same_folder(
    tmp_path: Path,
) -> None:
    settings = Settings(_env_file=None, artifact_dir=str(tmp_path))
    writer, reader = ArtifactStore.from_settings(settings), ArtifactStore.from_settings(settings)
    reference, size = await writer.write(chunks(b"%PDF", b"-1.7"), service="dropbox")
    assert size == 8
    assert reader.read(reference) == b"%PDF-1.7"


async def test_the_size_limit_counts_every_chunk(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, max_bytes=5)
    with pytest.raises(ArtifactTooLarge, match="5 bytes"):
        await store.write(chunks(b"abc", b"def"), service="google_drive")
    assert os.listdir(tmp_path) == []


async def test_files_older_than_the_retention_are_deleted_on_the_next_write(
    tmp_path: Path,
) -> None:
    store = ArtifactStore(tmp_path, max_bytes=100, retention_days=7)
    old, _ = await store.write(chunks(b"old"), service="dropbox")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(tmp_path / old.removeprefix("artifact:"), (eight_days_ago, eight_days_ago))
    fresh, _ = await store.write(chunks(b"fresh"), service="dropbox")
    assert os.listdir(tmp_path) == [fresh.removeprefix("artifact:")]
