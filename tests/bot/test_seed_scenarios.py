"""The three requests ATOM was built for, end to end through the sandbox: typed in a DM,
approved, triggered, and carried out against the service emulators."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from bot.blocks.plan import APPROVE
from cli.sandbox_session import SandboxSession
from tests.bot.conftest import GITHUB_WEBHOOK_SECRET
from tests.bot.test_plans import preview_for, run_finished
from tests.bot.test_runs import approved
from workflows.subscriptions import TriggerStore


async def first_poll(session: SandboxSession, timeout: float = 10.0) -> None:
    """Wait until the worker polled once: that poll sets the "from now on" cursor."""
    store = TriggerStore(session.runtime.database)
    for _ in range(int(timeout / 0.1)):
        if any(state.cursor for state in (await store.many()).values()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the event source was never polled")


async def test_new_github_issue_becomes_a_trello_card_and_a_dev_message(
    session: SandboxSession,
) -> None:
    harness, slack = session.harness, session.slack
    done = await approved(
        harness,
        "When a new GitHub issue is opened in acme/api, create a "
        "Trello card in the Inbox list and post a message to #dev",
    )
    assert "I'm watching for it now" in done.content

    github = session.emulator("github")
    issue = github.add_issue("acme/api", "Checkout button does nothing", labels=["bug"])
    delivery = github.webhook_delivery("acme/api", issue.number, GITHUB_WEBHOOK_SECRET)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{session.web_url}/webhooks/github", content=delivery.body, headers=delivery.headers
        )
    assert answer.status_code == 202, answer.text

    status = await run_finished(harness)
    assert "Run done" in status.content
    trello = session.emulator("trello")
    card = next(c for c in trello.cards.values() if c.name == "Checkout button does nothing")
    assert card.desc.endswith(f"/acme/api/issues/{issue.number}")
    dev = slack.channel_by_name("dev")
    message = slack.messages(dev.id)[-1]["text"]
    assert "Checkout button does nothing" in message
    assert f"https://trello.com/c/{card.short_link}/" in message


async def test_important_email_becomes_an_asana_task_and_a_calendar_event(
    session: SandboxSession,
) -> None:
    harness = session.harness
    asana = session.emulator("asana")
    workspace = next(iter(asana.workspaces.values()))
    asana.add_project(workspace.gid, "Operations")
    done = await approved(
        harness,
        "When I get an important email, create an Asana task in "
        "Operations and add a 30-minute event to my calendar "
        "tomorrow at 9am",
    )
    assert "I'm watching for it now" in done.content
    await first_poll(session)

    gmail = session.emulator("gmail")
    gmail.deliver(
        sender="cfo@example.com",
        subject="Budget sign-off needed",
        body="Please approve by Friday.",
        labels=("INBOX", "UNREAD", "IMPORTANT"),
    )
    gmail.deliver(sender="news@example.com", subject="Weekly digest")

    status = await run_finished(harness, timeout=30)
    assert "Run done" in status.content
    tasks = [t for t in asana.tasks.values() if t.name == "Budget sign-off needed"]
    assert len(tasks) == 1
    calendar = session.emulator("google_calendar")
    events = [
        e
        for e in calendar.calendar_events["alice@example.com"].values()
        if e["summary"] == "Budget sign-off needed"
    ]
    assert len(events) == 1 and events[0]["start"]["timeZone"] == "Europe/Berlin"


async def test_team_meeting_with_invites_and_the_agenda_posted(session: SandboxSession) -> None:
    harness, slack = session.harness, session.slack
    done = await approved(
        harness,
        "Schedule a team meeting next Tuesday at 10am with "
        "alice@example.com and bob@example.com, and post the "
        "agenda in #team",
    )
    assert "Running it now" in done.content
    status = await run_finished(harness)
    assert "Run done" in status.content
    calendar = session.emulator("google_calendar")
    meetings = [
        e
        for e in calendar.calendar_events["alice@example.com"].values()
        if e["summary"] == "Team meeting"
    ]
    assert len(meetings) == 1
    assert {a["email"] for a in meetings[0]["attendees"]} == {
        "alice@example.com",
        "bob@example.com",
    }
    assert calendar.invitations  # sendUpdates=all: invites went out
    team = slack.channel_by_name("team")
    agenda = slack.messages(team.id)[-1]["text"]
    assert "Team meeting" in agenda and meetings[0]["htmlLink"] in agenda


async def test_tomorrow_in_an_email_workflow_is_the_day_after_each_email(
    session: SandboxSession,
) -> None:
    """Two important emails from the boss, received on different days, book the day after
    each of them: "tomorrow" is counted when the run happens, from the email's own time."""
    harness = session.harness
    preview = await preview_for(
        harness,
        "When I get an important email from boss@example.com, "
        "block 30 minutes in my calendar tomorrow",
    )
    assert "the day after the email arrives, at 09:00 (assumed)" in preview.content
    await harness.click(preview, APPROVE)
    assert "I'm watching for it now" in (await harness.next_update(preview)).content
    await first_poll(session)

    gmail = session.emulator("gmail")
    first_day = datetime.now(UTC) + timedelta(minutes=1)
    later_day = first_day + timedelta(days=3)
    for number, received in enumerate((first_day, later_day), start=1):
        gmail.deliver(
            sender="Dana Boss <boss@example.com>",
            subject=f"Numbers {number}",
            labels=("INBOX", "UNREAD", "IMPORTANT"),
            received_at=received,
        )
        status = await run_finished(harness, timeout=30)
        assert "Run done" in status.content

    calendar = session.emulator("google_calendar")
    starts = {
        e["summary"]: e["start"]
        for e in calendar.calendar_events["alice@example.com"].values()
        if e["summary"].startswith("Numbers")
    }
    berlin = ZoneInfo("Europe/Berlin")
    expected = {
        f"Numbers {number}": (received.astimezone(berlin) + timedelta(days=1)).date()
        for number, received in enumerate((first_day, later_day), start=1)
    }
    booked = {
        summary: datetime.fromisoformat(start["dateTime"]).astimezone(berlin)
        for summary, start in starts.items()
    }
    assert {summary: moment.date() for summary, moment in booked.items()} == expected
    assert {moment.strftime("%H:%M") for moment in booked.values()} == {"09:00"}
