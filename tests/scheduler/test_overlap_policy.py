"""The workflow document chooses what a fire does while the previous run is still going."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workflows.model import ScheduleTrigger, Workflow
from workflows.scheduling.jobs import OverlapPolicy, overlap_policy


def trigger(**extra: str) -> ScheduleTrigger:
    return ScheduleTrigger.model_validate({"type": "schedule", "cron": "0 9 * * *", **extra})


def test_skip_is_the_default_and_queue_can_be_chosen() -> None:
    assert overlap_policy(trigger()) == OverlapPolicy.SKIP
    assert overlap_policy(trigger(overlap="queue")) == OverlapPolicy.QUEUE


def test_other_policies_are_refused() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        trigger(overlap="parallel")


def test_the_policy_survives_the_strict_wire_form() -> None:
    workflow = Workflow.model_validate(
        {
            "name": "w",
            "trigger": {"type": "schedule", "cron": "0 9 * * *", "overlap": "queue"},
            "steps": [],
        }
    )
    assert Workflow.from_wire(workflow.to_wire()).trigger.overlap == "queue"
