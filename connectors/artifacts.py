"""Files passed between steps: a download stores its bytes here and its output carries
only a reference (`artifact:<id>`), which a later step's `file` input hands back.

Downloads stream into the store (`write_response`) where the service streams.
Storage is a folder on disk (`artifact_dir`, default `<data_dir>/artifacts`). Disk, not
database rows: files up to `artifact_max_bytes` are written chunk by chunk as they
arrive, without holding them in memory or in a transaction. A deployment with several
workers (Postgres) points `artifact_dir` at a folder they all mount, so the step that
wrote a file and the step that reads it may run on different workers.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import httpx

from connectors.base import InvalidInput, NotFound
from core.settings import Settings

REFERENCE_PREFIX = "artifact:"
_ID = re.compile(r"[0-9a-f]{32}")


class ArtifactTooLarge(InvalidInput):
    """A file is larger than the deployment allows steps to pass on."""


class ArtifactStore:
    """Writes, reads and expires stored files. One per process; stateless on disk."""

    def __init__(self, root: Path, max_bytes: int, retention_days: float = 7) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> ArtifactStore:
        root = Path(settings.artifact_dir or Path(settings.data_dir) / "artifacts")
        return cls(root, settings.artifact_max_bytes, settings.artifact_retention_days)

    def _path(self, reference: str) -> Path:
        artifact_id = reference.removeprefix(REFERENCE_PREFIX)
        if not reference.startswith(REFERENCE_PREFIX) or not _ID.fullmatch(artifact_id):
            raise InvalidInput(
                f"{reference!r} is not a stored file; pass a download step's output, "
                'e.g. file: "{{ steps.download.file }}".'
            )
        return self.root / artifact_id

    async def write(self, chunks: AsyncIterable[bytes], *, service: str) -> tuple[str, int]:
        """Store the bytes `chunks` yields; their reference and size. Stops (and keeps
        nothing) once they pass the size limit. Each write first deletes the files
        older than the retention, so the folder stays bounded without a separate job."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_older_than(self.retention_days)
        artifact_id = secrets.token_hex(16)
        final = self.root / artifact_id
        partial = final.with_suffix(".part")
        size = 0
        try:
            with partial.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self.too_large(service)
                    out.write(chunk)
            partial.rename(final)
        finally:
            partial.unlink(missing_ok=True)
        return REFERENCE_PREFIX + artifact_id, size

    async def write_bytes(self, data: bytes, *, service: str) -> tuple[str, int]:
        """Store bytes a service sent whole (e.g. inside a JSON body)."""

        async def whole() -> AsyncIterator[bytes]:
            yield data

        return await self.write(whole(), service=service)

    async def write_response(self, response: httpx.Response, *, service: str) -> tuple[str, int]:
        """Store a streamed response's body as it arrives (see `ServiceHttp.request`'s
        `stream`), refusing at once when its Content-Length is over the limit; the
        response is closed either way."""
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self.too_large(service)
            return await self.write(response.aiter_bytes(), service=service)
        finally:
            await response.aclose()

    def too_large(self, service: str, name: str = "") -> ArtifactTooLarge:
        """The error for a file (`name`, if known) over the size limit."""
        what = f"{name} is" if name else "the file is"
        return ArtifactTooLarge(
            f"{service}: {what} larger than the {self.max_bytes} bytes "
            "a step may pass on (ATOM_ARTIFACT_MAX_BYTES).",
            service=service,
        )

    def read(self, reference: str) -> bytes:
        """The bytes of a stored file."""
        path = self._path(reference)
        if not path.is_file():
            raise NotFound(
                f"The stored file {reference} is gone (files are kept "
                "ATOM_ARTIFACT_RETENTION_DAYS days); run the workflow again."
            )
        return path.read_bytes()

    def remove_older_than(self, days: float, *, now: float | None = None) -> int:
        """Delete stored files written more than `days` ago; how many were deleted."""
        if not self.root.is_dir():
            return 0
        cutoff = (now if now is not None else time.time()) - days * 86400
        expired = [path for path in self.root.iterdir() if path.stat().st_mtime < cutoff]
        for path in expired:
            path.unlink(missing_ok=True)
        return len(expired)
