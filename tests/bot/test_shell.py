"""`atom shell` and `atom run` without tokens: a newcomer lands in a working chat."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx

from cli.sandbox_session import SandboxSession
from cli.shell import Shell
from tests.bot.conftest import GITHUB_WEBHOOK_SECRET


def scripted(lines: list[str]):
    pending: Iterator[str] = iter(lines)

    async def read_line(_prompt: str) -> str | None:
        return next(pending, None)

    return read_line


async def test_shell_answers_help_and_atom_help(session: SandboxSession) -> None:
    output: list[str] = []
    shell = Shell(session, scripted(["help", "/atom help", ":quit"]), output.append)
    await shell.run()
    transcript = "\n".join(output)
    assert "atom in DM (thread)> " in transcript  # the DM reply
    assert "atom (only you) in DM> " in transcript  # the ephemeral /atom help
    assert transcript.count("/atom list") >= 2


async def test_pressing_a_missing_button_says_so(session: SandboxSession) -> None:
    output: list[str] = []
    await Shell(session, scripted(["3", ":quit"]), output.append).run()
    assert any("no message has buttons yet" in line for line in output)


def test_atom_run_without_tokens_starts_the_sandbox_shell(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ATOM_"))}
    env["ATOM_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "run"],
        input="help\n/atom help\n:quit\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "No Slack tokens are set" in result.stdout
    assert "atom in DM (thread)> " in result.stdout
    assert "atom (only you) in DM> " in result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "sandbox.db").exists()


async def test_shell_presses_buttons_and_fills_modals(session: SandboxSession) -> None:
    output: list[str] = []
    lines = ['post "v1" in #dev', "2", "", "", "v2", "1", ":quit"]
    await Shell(session, scripted(lines), output.append).run()
    transcript = "\n".join(output)
    assert "[1.1] Approve" in transcript and "[1.2] Edit" in transcript
    assert "[Edit workflow]" in transcript
    assert "`text`: v2" in transcript  # the preview, updated after the modal
    assert "Approved by @alice" in transcript  # mentions drawn as names
    assert "<@U0ALICE001>" not in transcript


async def test_buttons_are_addressed_per_message(session: SandboxSession) -> None:
    """`1.1` presses the first preview's Approve although a newer preview came after it."""
    output: list[str] = []
    lines = ['post "first" in #dev', 'post "second" in #ops', "1.1", "2.9", ":quit"]
    await Shell(session, scripted(lines), output.append).run()
    transcript = "\n".join(output)
    assert "[1.1] Approve" in transcript and "[2.1] Approve" in transcript
    approved = next(line for line in output if "Approved by @alice" in line)
    assert "first" in approved and "second" not in approved
    assert "there is no button [2.9] — message 2 has" in transcript


async def test_a_triggered_runs_message_appears_while_the_prompt_is_idle(
    session: SandboxSession,
) -> None:
    output: list[str] = []
    github = session.emulator("github")

    async def open_an_issue_then_wait() -> None:
        issue = github.add_issue("acme/api", "Login page is blank")
        delivery = github.webhook_delivery("acme/api", issue.number, GITHUB_WEBHOOK_SECRET)
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{session.web_url}/webhooks/github",
                content=delivery.body,
                headers=delivery.headers,
            )
        for _ in range(200):  # the prompt stays open: nothing is typed meanwhile
            if any(line.startswith("atom in #dev> ") for line in output):
                return
            await asyncio.sleep(0.05)

    pending = iter(["When an issue is opened in acme/api, post its title to #dev", "1"])

    async def read_line(_prompt: str) -> str | None:
        line = next(pending, None)
        if line is not None:
            return line
        await open_an_issue_then_wait()
        return None

    await Shell(session, read_line, output.append).run()
    posted = next(line for line in output if line.startswith("atom in #dev> "))
    assert "Login page is blank" in posted
