"""Questions that ask for one of the person's own things offer them to click, listed from
the connected account (the sandbox's Asana, Trello, GitHub and Slack): a click answers as
typing would, typing still works, and without the connection the question stays as it was."""

from __future__ import annotations

from bot.blocks.plan import ANSWER, ANSWER_MENU
from cli.sandbox_session import SandboxSession
from sandbox.harness import BotMessage
from tests.bot.test_commands import say
from tests.bot.test_plans import BOB


def offered(message: BotMessage) -> list[tuple[str, str]]:
    """(label, answer) of each answer a question offers, as buttons or in a menu."""
    for block in message.blocks:
        if block.get("block_id", "").startswith(f"{ANSWER}_"):
            elements = block["elements"]
            if elements[0]["type"] == "static_select":
                return [(o["text"]["text"], o["value"]) for o in elements[0]["options"]]
            return [(e["text"]["text"], e["value"]) for e in elements]
    return []


async def test_clicking_a_project_answers_the_question(session: SandboxSession) -> None:
    harness = session.harness
    await harness.dm('create an asana task "Fix login"')
    question = await harness.reply()
    assert "Which Asana project" in question.content
    choices = offered(question)
    assert choices, question.content
    assert choices == [("Inbox", "Inbox")]  # the sandbox account's one project
    answer = "Inbox"
    await harness.click(question, f"{ANSWER}_0")
    answered = await harness.next_update(question)
    assert f"chose *{answer}*" in answered.content and answered.action_ids == []
    preview = await harness.reply(contains="Approve")
    assert preview.thread_ts == question.thread_ts
    assert f"`project`: {answer}" in preview.content


async def test_many_projects_come_in_a_menu(session: SandboxSession) -> None:
    harness, asana = session.harness, session.emulator("asana")
    (workspace,) = asana.workspaces.values()
    names = ["Website", "Roadmap", "Hiring", "Launch", "Budget", "Support", "Mobile app"]
    for name in names:
        asana.add_project(workspace.gid, name)
    asana.add_project(workspace.gid, "Old stuff", archived=True)
    await harness.dm('create an asana task "Fix login"')
    question = await harness.reply()
    answers = [answer for _, answer in offered(question)]
    assert set(names) <= set(answers) and "Old stuff" not in answers
    assert ANSWER_MENU in question.action_ids

    await harness.click(question, ANSWER_MENU, value="Mobile app")
    preview = await harness.reply(contains="Approve")
    assert "`project`: Mobile app" in preview.content


async def test_typing_an_answer_still_works(session: SandboxSession) -> None:
    harness = session.harness
    await harness.dm('create a trello card "Fix login"')
    question = await harness.reply()
    assert ("Doing (ATOM Sandbox)", "Doing") in offered(question)
    await harness.dm("Done", thread_ts=question.thread_ts)
    preview = await harness.reply(contains="Approve")
    assert "`list`: Done" in preview.content


async def test_a_repository_for_an_event_and_a_channel_are_offered(
    session: SandboxSession,
) -> None:
    harness = session.harness
    await harness.dm("when a new issue is opened post it to #dev")
    assert ("acme/api", "acme/api") in offered(await harness.reply())
    await harness.dm('post "hi" to slack')
    assert ("#general", "#general") in offered(await harness.reply())


async def test_only_the_asker_answers_and_only_once(session: SandboxSession) -> None:
    harness = session.harness
    await harness.dm('create an asana task "Fix login"')
    question = await harness.reply()
    await harness.click(question, f"{ANSWER}_0", user=BOB)
    refusal = await harness.reply(user=BOB)
    assert "Only the person who asked can answer" in refusal.content
    await harness.click(question, f"{ANSWER}_0")
    await harness.reply(contains="Approve")
    await harness.click(question, f"{ANSWER}_0")
    assert "already answered" in (await harness.reply()).content


async def test_without_the_connection_the_question_offers_nothing(
    session: SandboxSession,
) -> None:
    harness = session.harness
    assert "Disconnected Asana" in (await say(harness, "disconnect asana")).content
    await harness.dm('create an asana task "Fix login"')
    question = await harness.reply()
    assert "Which Asana project" in question.content and offered(question) == []
    assert "Answer in this thread" in question.content
