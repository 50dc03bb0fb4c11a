"""Natural language -> workflow.

    planner = build_planner(settings, load_registry())
    result = await planner.plan("When an issue is opened in acme/api, post it to #dev", context)
    if isinstance(result, Plan): ...            # result.workflow passed validation
    else: ...                                    # a Question: ask it, then
    result = await planner.answer(result, "acme/api", context)
    result = await planner.revise(plan.workflow, "also post to #ops", context)

With OPENAI_API_KEY set, the LLM planner (workflows/planning/llm.py: structured outputs
against the workflow schema, validator-driven repair turns) answers; without it, the
deterministic offline planner (workflows/planning/offline.py) does. Either way a Plan's
workflow is valid and everything else is a Question; only an unreachable/broken LLM
raises `PlannerError`. Nothing here imports Slack or an HTTP framework.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from connectors.registry import Registry, load_registry
from core.settings import Settings, get_settings
from workflows.model import Workflow
from workflows.planning.llm import LLMPlanner
from workflows.planning.offline import OfflinePlanner
from workflows.planning.results import (
    Choice,
    Plan,
    PlanContext,
    PlannerError,
    Question,
    Slot,
)

__all__ = [
    "Choice",
    "Plan",
    "PlanContext",
    "Planner",
    "PlannerError",
    "Question",
    "Slot",
    "answer",
    "build_planner",
    "plan",
    "revise",
]


class Planner:
    """The planner ATOM uses: the LLM planner when one is configured, else the offline one."""

    def __init__(self, catalog: Registry, llm: LLMPlanner | None = None) -> None:
        self.offline = OfflinePlanner(catalog)
        self.llm = llm

    @property
    def name(self) -> str:
        return self.llm.name if self.llm else self.offline.name

    async def plan(self, text: str, context: PlanContext) -> Plan | Question:
        """A plan for `text`, or one question. With `context.editing` set, `text` is a
        follow-up to that pending workflow (same as `revise`)."""
        if context.editing is not None:
            return await self.revise(context.editing, text, replace(context, editing=None))
        if self.llm is not None:
            return await self.llm.plan(text, context)
        return self.offline.plan(text, context)

    async def revise(self, workflow: Workflow, text: str, context: PlanContext) -> Plan | Question:
        """Apply a follow-up ("make it 10am", "also post to #ops", "not Trello, Asana")."""
        if self.llm is not None:
            return await self.llm.revise(workflow, text, context)
        return self.offline.revise(workflow, text, context)

    async def answer(self, question: Question, text: str, context: PlanContext) -> Plan | Question:
        """Continue after `question` with the person's reply."""
        if self.llm is not None and question.planner == self.llm.name:
            return await self.llm.answer(question, text, context)
        return self.offline.answer(question, text, context)


def build_planner(settings: Settings | None = None, catalog: Registry | None = None) -> Planner:
    settings = settings or get_settings()
    catalog = catalog if catalog is not None else load_registry()
    llm = LLMPlanner(catalog, settings) if settings.openai_api_key is not None else None
    return Planner(catalog, llm)


@lru_cache
def default_planner() -> Planner:
    return build_planner()


async def plan(text: str, context: PlanContext) -> Plan | Question:
    return await default_planner().plan(text, context)


async def revise(
    workflow: Workflow, text: str, context: PlanContext | None = None
) -> Plan | Question:
    return await default_planner().revise(workflow, text, context or PlanContext())


async def answer(question: Question, text: str, context: PlanContext) -> Plan | Question:
    return await default_planner().answer(question, text, context)
