"""`atom shell` on a real (pseudo-)terminal: a scheduled run's message arrives while the
prompt is idle, above the line the person is typing, and buttons are pressed by address."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    def __init__(self, data_dir: Path) -> None:
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ATOM_"))}
        env.update(
            ATOM_DATA_DIR=str(data_dir), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="200"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "shell"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=data_dir,
            close_fds=True,
        )
        os.close(slave)
        self.screen = ""

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait_for(self, pattern: str, timeout: float) -> str:
        """Read until `pattern` appears after what was read so far; returns the new text."""
        start = len(self.screen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.screen += ANSI.sub(
                        "", os.read(self.master, 65536).decode(errors="replace")
                    )
                except OSError:
                    break
            if re.search(pattern, self.screen[start:]):
                return self.screen[start:]
        raise AssertionError(f"{pattern!r} did not appear; the terminal shows:\n{self.screen}")

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.master)


@pytest.mark.slow
def test_scheduled_message_arrives_while_idle_without_eating_the_typed_line(tmp_path) -> None:
    terminal = Terminal(tmp_path)
    try:
        terminal.wait_for(r"you>", timeout=60)
        terminal.type('post "tick" in #dev every 1 minute\r')
        terminal.wait_for(r"\[1\.1\] Approve", timeout=30)
        terminal.type("1.1\r")
        terminal.wait_for(r"Approved by @alice", timeout=30)
        terminal.type("/atom li")  # half-typed when the schedule fires
        arrived = terminal.wait_for(r"atom in #dev> tick", timeout=75)
        assert "Traceback" not in arrived
        terminal.type("st\r")  # the line typed before the message is still there
        terminal.wait_for(r"Your workflows", timeout=30)
    finally:
        terminal.close()
