"""`atom run` with a bot token and signing secret serves Slack's HTTP endpoint: a real
process, a real port, the Slack emulator delivering to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox.harness import SlackHarness
from sandbox.slack import SlackEmulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def atom_http(slack: SlackEmulator, tmp_path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ATOM_"))}
    env |= {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "ATOM_SLACK_API_URL": f"{slack.url}/api/",
        "ATOM_HTTP_PORT": str(port),
        "ATOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'atom.db'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(process.communicate(timeout=5)[1].decode()[-2000:])
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
        assert slack.bot_token.encode() not in stderr  # secrets never logged


async def test_http_mode_answers_slack(slack: SlackEmulator, atom_http: str) -> None:
    slack.request_url = f"{atom_http}/slack/events"
    harness = SlackHarness(slack)
    await harness.dm("hello")
    reply = await harness.reply()
    assert "what I can do" in reply.content
    await harness.command("help")
    assert "/atom list" in (await harness.reply()).content
