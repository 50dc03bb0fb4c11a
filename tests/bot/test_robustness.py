"""Failures become friendly answers; long content stays inside Slack's limits."""

from __future__ import annotations

from bot.blocks.kit import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.blocks.plan import plan_blocks
from cli.sandbox_session import SandboxSession
from workflows.model import Workflow


async def test_a_failing_database_gets_a_friendly_answer(session: SandboxSession) -> None:
    original = session.runtime.services.pending.open_in_thread

    async def broken(*_args: object) -> None:
        raise ConnectionResetError("database connection lost")

    session.runtime.services.pending.open_in_thread = broken  # type: ignore[method-assign]
    try:
        await session.harness.dm('post "x" in #dev', thread_ts="1700000000.000001")
        answer = await session.harness.reply()
    finally:
        session.runtime.services.pending.open_in_thread = original  # type: ignore[method-assign]
    assert answer.kind == "ephemeral"
    assert "something went wrong on my side (ref `" in answer.content
    assert "Traceback" not in answer.content and "ConnectionReset" not in answer.content


def test_a_huge_plan_is_truncated_to_slacks_limits() -> None:
    steps = [
        {
            "id": f"s{i}",
            "action": "slack.post_message",
            "with": {"channel": "#dev", "text": "x" * 5000},
        }
        for i in range(80)
    ]
    workflow = Workflow.model_validate(
        {"name": "n" * 200, "trigger": {"type": "manual"}, "steps": steps}
    )
    blocks = plan_blocks("p1", workflow, {"slack": "Slack"}, [], "U1")
    assert len(blocks) <= MAX_BLOCKS
    assert blocks[-1]["type"] == "actions"  # Approve / Edit / Cancel survive
    assert all(len(b.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT for b in blocks)
    assert len(blocks[0]["text"]["text"]) <= 150
    assert "left out" in str(blocks[-2])
