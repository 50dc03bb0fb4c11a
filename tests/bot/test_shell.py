"""`atom shell` and `atom run` without tokens: a newcomer lands in a working chat."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

from cli.sandbox_session import SandboxSession
from cli.shell import Shell


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
    assert "atom> " in transcript  # the DM reply
    assert "atom (only you)> " in transcript  # the ephemeral /atom help
    assert transcript.count("/atom list") >= 2


async def test_pressing_a_missing_button_says_so(session: SandboxSession) -> None:
    output: list[str] = []
    await Shell(session, scripted(["3", ":quit"]), output.append).run()
    assert any("there is no button [3]" in line for line in output)


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
    assert "atom> " in result.stdout
    assert "atom (only you)> " in result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "sandbox.db").exists()


async def test_shell_presses_buttons_and_fills_modals(session: SandboxSession) -> None:
    output: list[str] = []
    lines = ['post "v1" in #dev', "2", "", "", "v2", "1", ":quit"]
    await Shell(session, scripted(lines), output.append).run()
    transcript = "\n".join(output)
    assert "[1] Approve" in transcript and "[2] Edit" in transcript
    assert "[Edit workflow]" in transcript
    assert "`text`: v2" in transcript  # the preview, updated after the modal
    assert "Approved by <@U0ALICE001>" in transcript
