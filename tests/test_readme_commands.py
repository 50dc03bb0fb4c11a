"""Every command README.md shows in "Trying it without any accounts" and "Commands" works as
written: each is run here in a scratch directory (a newcomer's fresh clone) and its exit
code and a key line of its output are checked. A command added to the README without a
case here fails `test_every_readme_command_has_a_case`."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from cli.main import main
from tests.conftest import PG_ADMIN_URL, _admin

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


@dataclass(frozen=True)
class Case:
    args: list[str]
    code: int
    output: str  # a regex that must match stdout + stderr
    stdin: str = ""
    env: dict[str, str] = field(default_factory=dict)
    before: list[str] = field(default_factory=list)  # a command the README runs first


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def readme_commands() -> set[str]:
    """The `atom …` commands of the Commands section, by their literal words (placeholders
    and options left out), plus each full command line of its code blocks."""
    section = _section("Commands")
    commands: set[str] = set()
    for cell in re.findall(r"^\| `(atom [^|]+?)` \|", section, re.MULTILINE):
        for command in re.findall(r"`?(atom [^`]+)`?", cell):
            words = re.match(r"atom(?: [a-z][a-z-]*)+", command)
            assert words, command
            commands.add(words.group(0))
    for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL):
        commands.update(
            line.split("#")[0].strip() for line in block.splitlines() if line.startswith("atom ")
        )
    return commands


SAMPLE_REQUEST = 'every weekday at 9am post "Stand-up!" in #team'

CASES: dict[str, Case] = {
    "atom shell": Case(["shell"], 0, r"atom in DM \(thread\)> ", stdin="help\n:quit\n"),
    "atom bot": Case(["bot"], 1, r"needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN"),
    "atom db upgrade": Case(["db", "upgrade"], 0, r"database is at revision head"),
    "atom plan": Case(["plan", SAMPLE_REQUEST], 0, r"Every weekday at 09:00"),
    "atom validate": Case(
        ["validate", "examples/standup-reminder.yaml", "examples/important-email-to-asana.yaml"],
        0,
        r"standup-reminder\.yaml: .* is valid",
    ),
    "atom execute": Case(
        ["execute", "examples/standup-reminder.yaml", "--sandbox"], 0, r'"status": "succeeded"'
    ),
    "atom events sample": Case(["events", "sample", "github.issue_opened"], 0, r'"acme/api"'),
    "atom schema": Case(["schema", "--strict"], 0, r'"\$defs"'),
    "atom connectors": Case(["connectors"], 0, r"slack\.post_message"),
    "atom keys generate": Case(["keys", "generate"], 0, r"^[A-Za-z0-9_-]{43}=\s*$"),
    "atom keys rotate": Case(
        ["keys", "rotate"], 0, r"Re-encrypted 0 stored secret", before=["db", "upgrade"]
    ),
    "atom execute examples/standup-reminder.yaml --sandbox": Case(
        ["execute", "examples/standup-reminder.yaml", "--sandbox"], 0, r'"status": "succeeded"'
    ),
    "atom execute examples/github-issue-to-trello-and-slack.yaml --sandbox --approve": Case(
        ["execute", "examples/github-issue-to-trello-and-slack.yaml", "--sandbox", "--approve"],
        0,
        r"using the sample payload of github\.issue_opened",
    ),
    "atom events sample github.issue_opened > issue.json": Case(
        ["events", "sample", "github.issue_opened"], 0, r'"issue"'
    ),
    "atom execute examples/github-issue-to-trello-and-slack.yaml --sandbox --trigger @issue.json": (
        Case(
            [
                "execute",
                "examples/github-issue-to-trello-and-slack.yaml",
                "--sandbox",
                "--approve",
                "--trigger",
                "@issue.json",
            ],
            0,
            r'"status": "succeeded"',
            before=["events", "sample", "github.issue_opened"],
        )
    ),
}
SERVERS = {"atom run", "atom web", "atom worker"}  # long-running: tested below


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A newcomer's checkout: the examples, no settings, no data yet."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def _environment(scratch: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ATOM_"))}
    return {**env, "ATOM_DATA_DIR": str(scratch / ".atom"), "PYTHONPATH": str(ROOT), **extra}


def atom(scratch: Path, args: list[str], stdin: str = "", **env: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_environment(scratch, **env),
        cwd=scratch,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout + result.stderr


def test_every_readme_command_has_a_case() -> None:
    missing = readme_commands() - set(CASES) - SERVERS
    assert not missing, f"README commands without a test case: {sorted(missing)}"


@pytest.mark.parametrize("command", sorted(CASES))
def test_readme_command_works_as_written(
    command: str,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run in this process (`cli.main.main`, as the `atom` script does) for speed; the
    servers and `atom run` below run as real processes."""
    case = CASES[command]
    monkeypatch.chdir(scratch)
    for name in [n for n in os.environ if n.startswith(("SLACK_", "ATOM_"))]:
        monkeypatch.delenv(name)
    for name, value in _environment(scratch, **case.env).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(case.stdin))
    if case.before:
        assert main(case.before) == 0
        (scratch / "issue.json").write_text(capsys.readouterr().out)  # `… > issue.json`
    code = main(case.args)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == case.code, output
    assert re.search(case.output, output, re.MULTILINE), output


@pytest.mark.slow
def test_trying_it_without_accounts_as_the_readme_says(scratch: Path) -> None:
    """`make run` with no tokens (= `atom run`): the request, `1.1` to approve, `/atom list`."""
    section = _section("Trying it without any accounts")
    assert SAMPLE_REQUEST in section and "`1.1`" in section and "`/atom list`" in section
    code, output = atom(scratch, ["run"], f"{SAMPLE_REQUEST}\n1.1\n/atom list\n:quit\n")
    assert code == 0, output
    assert "No Slack tokens are set" in output
    assert "Approved by @alice" in output
    assert re.search(r"Your workflows[\s\S]*v1 · active", output), output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(scratch: Path, args: list[str], ready: str, **env: str) -> str:
    """Start a long-running command, wait for `ready` in its log, stop it with SIGTERM as
    a process manager would; returns its output and asserts a clean exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(scratch, ATOM_LOG_JSON="false", **env),
        cwd=scratch,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(ready in line for line in lines):
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    output = "".join(lines) + rest
    assert any(ready in line for line in lines), output
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    return output


@pytest.mark.slow
def test_atom_web_needs_slack_credentials_and_then_serves_health(scratch: Path) -> None:
    code, output = atom(scratch, ["web"])
    assert code == 1 and "needs SLACK_SIGNING_SECRET" in output
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "web"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(
            scratch,
            ATOM_HTTP_PORT=str(port),
            ATOM_HTTP_HOST="127.0.0.1",
            SLACK_SIGNING_SECRET="0" * 32,
            SLACK_BOT_TOKEN="xoxb-not-used-until-a-request-comes",
        ),
        cwd=scratch,
    )
    try:
        answers: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and answers.get("/readyz") != 200:
            time.sleep(0.3)
            for path in ("/healthz", "/readyz", "/metrics"):
                try:
                    answers[path] = httpx.get(f"http://127.0.0.1:{port}{path}").status_code
                except httpx.TransportError:
                    break
        assert answers == {"/healthz": 200, "/readyz": 200, "/metrics": 200}
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert "Traceback" not in errors, errors


@pytest.mark.slow
def test_atom_worker_refuses_sqlite_and_runs_on_postgres(scratch: Path) -> None:
    code, output = atom(scratch, ["worker"])
    assert code == 1 and "through Postgres" in output
    name = f"atom_readme_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as exc:
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    try:
        code, output = atom(scratch, ["db", "upgrade"], ATOM_DATABASE_URL=url)
        assert code == 0, output
        output = _serve(
            scratch,
            ["worker", "--name", "readme"],
            "worker node readme is running",
            ATOM_DATABASE_URL=url,
        )
        assert "is stopping" in output
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
