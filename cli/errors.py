"""The one exception commands raise for a user-facing failure."""

from __future__ import annotations


class CommandError(Exception):
    """A failure to report as `error: <message>` with `exit_code` (no traceback)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
