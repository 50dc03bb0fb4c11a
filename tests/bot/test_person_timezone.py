"""A person's time zone: ATOM says once which zone it assumes, and `/atom settings timezone`
changes it for new plans."""

from __future__ import annotations

from cli.sandbox_session import SandboxSession
from tests.bot.test_commands import say
from tests.bot.test_plans import preview_for
from tests.bot.test_runs import TEAM, approved
from workflows.model import ScheduleTrigger

NOTICE = "Times are in"


async def test_the_assumed_zone_is_stated_once_on_the_first_plan_with_a_time(
    session: SandboxSession,
) -> None:
    harness = session.harness
    untimed = await preview_for(harness, 'post "hello" in #dev')
    assert NOTICE not in untimed.content  # nothing to say about zones yet
    first = await preview_for(harness, 'every weekday at 9am post "Stand-up!" in #team')
    assert "Times are in *Europe/Berlin*, your Slack profile's time zone" in first.content
    assert "/atom settings timezone <zone>" in first.content
    second = await preview_for(harness, 'every friday at 4pm post "Weekly wrap-up" in #team')
    assert NOTICE not in second.content


async def test_settings_timezone_changes_the_zone_of_new_plans(session: SandboxSession) -> None:
    harness, services = session.harness, session.runtime.services
    shown = await say(harness, "settings")
    assert "Your time zone: *Europe/Berlin* (your Slack profile's time zone)" in shown.content

    wrong = await say(harness, "settings timezone new york")
    assert "is not a time zone name" in wrong.content and "`America/New_York`" in wrong.content
    assert "Europe/Berlin" in (await say(harness, "settings")).content  # nothing changed

    done = await say(harness, "settings timezone america/new_york")
    assert "Your time zone is now *America/New_York*" in done.content
    assert "*America/New_York* (the time zone you set)" in (await say(harness, "settings")).content

    approval = await approved(harness, 'every weekday at 9am post "Stand-up!" in #team')
    workflow_id = approval.content.split("as `")[1].split("`")[0]
    record = await services.workflows.get(TEAM, workflow_id)
    assert isinstance(record.workflow.trigger, ScheduleTrigger)
    assert record.workflow.trigger.timezone == "America/New_York"


async def test_settings_usage_is_explained(session: SandboxSession) -> None:
    answer = await say(session.harness, "settings colour blue")
    assert "Usage: `/atom settings timezone <zone>`" in answer.content
