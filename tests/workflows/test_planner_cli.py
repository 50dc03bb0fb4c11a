"""`atom plan`: a plan in plain words or as JSON (exit 0), a question on stdout (exit 2),
an error on stderr (exit 1) — with the offline planner, and with the LLM planner against
the sandbox OpenAI emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from sandbox.openai import OpenAIEmulator, Reply
from workflows.model import load_workflow

REQUEST = (
    "When a new GitHub issue is opened in acme/api, create a Trello card in the Inbox list "
    "and post a message to #dev"
)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LLM key from the environment or a .env file unless a test sets one."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "OPENAI_API_KEY",
        "ATOM_OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ATOM_OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator() as emulator:
        monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", f"{emulator.url}/v1")
        yield emulator


def test_a_plan_in_plain_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", REQUEST, "--timezone", "Europe/Berlin"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("New issue in acme/api: Trello card, #dev\n")
    assert "1. Create a Trello card “‹issue title›” in the Inbox list." in out
    assert "2. Post to #dev:" in out


def test_a_plan_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "plan",
            "Tomorrow",
            "at",
            "3pm",
            "post",
            "'Demo",
            "time'",
            "to",
            "#dev",
            "--json",
            "--timezone",
            "Europe/Berlin",
            "--now",
            "2026-11-25T14:30",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    workflow = load_workflow(json.dumps(document))
    assert document["trigger"] == {
        "type": "schedule",
        "at": "2026-11-26T15:00:00+01:00",
        "timezone": "Europe/Berlin",
    }
    assert workflow.steps[0].with_ == {"channel": "#dev", "text": "Demo time"}


def test_a_question_exits_2_with_the_question_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "When a file is added, post to #files"]) == 2
    assert capsys.readouterr().out.splitlines() == [
        "Where should I watch for new files: Dropbox or Google Drive?",
        "  - Dropbox",
        "  - Google Drive",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--now", "yesterday"], "--now 'yesterday' is not an ISO date-time"),
    ],
)
def test_bad_options_exit_1(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["plan", "post 'hi' to #dev", *args]) == 1
    assert message in capsys.readouterr().err


def test_with_a_key_the_llm_plans(
    openai_emulator: OpenAIEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = {
        "name": "Hello",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "id": "post",
                "action": "slack.post_message",
                "with": {"channel": "#dev", "text": "hi"},
            }
        ],
    }
    openai_emulator.script(
        Reply.json({"question": None, "workflow": load_workflow(json.dumps(plan)).to_wire()})
    )
    assert main(["plan", "post hi to #dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == plan
    assert openai_emulator.chat_requests()[0]["messages"][-1]["content"] == "post hi to #dev"


def test_an_llm_failure_exits_1(
    openai_emulator: OpenAIEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_emulator.fail("/v1/chat/completions", status=500, times=5)
    assert main(["plan", "post hi to #dev"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        "error: The planner model at 127.0.0.1" in captured.err and "had an error" in captured.err
    )
