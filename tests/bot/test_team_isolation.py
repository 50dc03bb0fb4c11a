"""A person of another workspace can neither see, approve, run nor change anything of
this one — every lookup is scoped by team."""

from __future__ import annotations

import pytest

from bot import operations, plans
from bot.operations import NotAllowed
from cli.sandbox_session import SandboxSession
from tests.bot.test_plans import ALICE, preview_for
from tests.bot.test_runs import TEAM, start_approval_run

OTHER_TEAM = "T0OTHERTEAM"


async def test_another_team_cannot_touch_plans_workflows_or_runs(session: SandboxSession) -> None:
    services = session.runtime.services
    preview = await preview_for(session.harness, 'post "mine" in #dev')
    plan_id = next(
        b["value"] for b in preview.blocks[-1]["elements"] if b["action_id"] == "plan_approve"
    )
    with pytest.raises(plans.PlanRefused, match="no longer exists"):
        await plans.claim(services, OTHER_TEAM, plan_id, ALICE, "approved", "approve")

    run_id = await start_approval_run(session)
    run = await services.runs.get(TEAM, run_id)
    with pytest.raises(NotAllowed, match="no longer exists"):
        await operations.decide_approval(services, OTHER_TEAM, "U0BOB00001", run_id, "ok", True)
    with pytest.raises(NotAllowed, match="There is no run"):
        await operations.cancel_run(services, OTHER_TEAM, ALICE, run_id)
    with pytest.raises(NotAllowed, match="There is no workflow"):
        await operations.pause(services, OTHER_TEAM, ALICE, run.workflow_id)
    assert await services.workflows.list_for(OTHER_TEAM) == []
    assert await services.runs.list_for_team(OTHER_TEAM) == []
    assert await services.connections.list(OTHER_TEAM, ALICE) == []
    assert await services.engine.credentials.for_service(OTHER_TEAM, ALICE, "github") is None
