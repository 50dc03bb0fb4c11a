"""The full catalog: every registered connector plus the engine's built-in actions.

`approval.request` is declared like any connector action (input and output models, a
description, an idempotency flag) so the validator, the planner's catalog and the Block
Kit renderer treat it uniformly; the engine carries it out itself (it pauses the run).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from connectors.base import ActionContext, Connector, ConnectorError, NoAuth
from connectors.registry import Registry
from workflows.model import APPROVAL_ACTION

MAX_APPROVAL_SECONDS = 30 * 24 * 3600
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a text like `90s`, `30m`, `4h`, `2d`, `1w`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text like 30m, 4h, 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration: write e.g. 30m, 4h, 2d")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if not 0 < seconds <= MAX_APPROVAL_SECONDS:
        raise ValueError("a duration must be more than 0 and at most 30 days")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": "Seconds, or a duration such as 30m, 4h, 2d (at most 30 days).",
        }
    ),
]


class ApprovalRequest(BaseModel):
    approvers: list[str] = Field(
        description="Slack user IDs (U…) of the people who may approve; at least one.",
        json_schema_extra={"minItems": 1},
    )
    message: str = Field(min_length=1, description="What the approvers are asked to approve.")
    min_approvals: int = Field(1, ge=1, description="How many approvers must approve.")
    timeout: Duration = Field(
        24 * 3600.0, description="How long to wait for a decision before the run fails."
    )

    @field_validator("approvers")
    @classmethod
    def _named_approvers(cls, approvers: list[str]) -> list[str]:
        if not approvers:
            raise ValueError(
                "an approval step needs at least one approver: list the Slack user IDs "
                "(such as U012ABCDEF) of the people who may approve"
            )
        wrong = [a for a in approvers if not _SLACK_USER.match(a)]
        if wrong:
            named = ", ".join(map(repr, wrong))
            raise ValueError(f"approvers are Slack user IDs such as U012ABCDEF, not {named}")
        return list(dict.fromkeys(approvers))

    @model_validator(mode="after")
    def _enough_approvers(self) -> ApprovalRequest:
        if self.min_approvals > len(self.approvers):
            raise ValueError(
                f"min_approvals is {self.min_approvals} but only {len(self.approvers)} "
                "approver(s) are listed"
            )
        return self


class ApprovalDecision(BaseModel):
    approver: str
    approved: bool
    at: datetime


class ApprovalResult(BaseModel):
    approved: bool = Field(description="True when enough approvers approved.")
    approved_by: list[str] = Field(description="Who approved.")
    decisions: list[ApprovalDecision] = Field(description="Every decision, in order.")


approval = Connector(
    name="approval",
    title="Approvals",
    auth=NoAuth(),
    base_url_setting="",
    description="Built in: pause a run until the named people approve it in Slack.",
)


@approval.action(idempotent=True, name="request")
async def request(ctx: ActionContext, data: ApprovalRequest) -> ApprovalResult:
    """Pause the run until the approvers approve it; it fails if they reject or time out."""
    raise ConnectorError(
        f"{APPROVAL_ACTION} is carried out by the workflow engine; it cannot be called directly",
        service="approval",
    )


BUILTIN_CONNECTORS = (approval,)


def full_catalog(registry: Registry) -> Registry:
    """`registry` plus the built-in actions; what the validator, planner and renderer read."""
    if all(c.name in registry.connectors for c in BUILTIN_CONNECTORS):
        return registry
    catalog = Registry(dict(registry.connectors))
    for connector in BUILTIN_CONNECTORS:
        if connector.name not in catalog.connectors:
            catalog.add(connector)
    return catalog
