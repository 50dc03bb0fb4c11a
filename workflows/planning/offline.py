"""The offline planner: deterministic rules, no network.

A request is cut into clauses (`text.split_clauses`): a leading trigger or time phrase
and action clauses. The trigger clause is read by `events`, times by `times`/`triggers`,
each action clause by `actions`. What it cannot map, or values it will not guess, become
one Question at a time; everything it returns as a Plan has passed `validate`.
Follow-ups (`revise`) and answers to questions (`answer`) work on the same drafts.
"""

from __future__ import annotations

import re
from dataclasses import replace

from connectors.registry import Registry
from workflows.catalog import full_catalog
from workflows.model import Workflow
from workflows.planning.actions import read_action
from workflows.planning.courtesy import strip_courtesy
from workflows.planning.draft import Draft, StepDraft
from workflows.planning.events import EVENT_HELP, read_event
from workflows.planning.names import protect_names
from workflows.planning.nearest import nearest_actions
from workflows.planning.results import Plan, PlanContext, Question, Slot
from workflows.planning.revise import revise
from workflows.planning.slots import fill_slot
from workflows.planning.spelling import correct
from workflows.planning.summary import describe
from workflows.planning.text import (
    UNSUPPORTED_VERBS,
    Clause,
    Request,
    channels,
    mentions,
    split_clauses,
)
from workflows.planning.times import find_moment, find_schedule
from workflows.planning.transfers import restates_a_transfer
from workflows.planning.triggers import set_moment, set_schedule
from workflows.planning.unused import unused_parts
from workflows.validate import validate

EXAMPLES = (
    "“every weekday at 9am post 'Standup!' in #dev”, "
    "“when an issue is opened in acme/api, create a Trello card in the Inbox list”, "
    "“schedule a meeting with alice@example.com tomorrow at 10am”"
)


class OfflinePlanner:
    name = "offline"

    def __init__(self, catalog: Registry) -> None:
        self.catalog = full_catalog(catalog)

    # --- entry points --------------------------------------------------------------------

    def plan(self, text: str, context: PlanContext) -> Plan | Question:
        draft = self.read(text, context)
        return self.finish(draft)

    def answer(self, question: Question, text: str, context: PlanContext) -> Plan | Question:
        """Continue after `question` with the person's reply."""
        lowered = text.strip().lower()
        for choice in question.choices:
            if lowered and (choice.label.lower() in lowered or lowered in choice.label.lower()):
                return self.plan(choice.request, context)
        if question.partial is None:
            return self.plan(text, context)
        if not question.slots:
            return self.revise(question.partial, text, context)
        slot, rest = question.slots[0], question.slots[1:]
        restated = self.plan(text, context)
        if isinstance(restated, Plan) and restates_a_transfer(
            slot.path.rsplit(".", 1)[-1], restated.workflow
        ):
            return restated
        filled = fill_slot(question.partial, slot.path, text, context)
        if filled is None:
            return Question(
                f"Sorry, I didn't get that. {slot.question}",
                question.request,
                question.partial,
                question.slots,
            )
        if rest:
            return Question(rest[0].question, question.request, filled, rest)
        return self.checked(filled, context, question.request)

    def revise(self, workflow: Workflow, text: str, context: PlanContext) -> Plan | Question:
        """Apply a follow-up ("make it 10am", "also post to #ops") to a pending plan."""
        return revise(self, workflow, text, context)

    # --- reading --------------------------------------------------------------------------

    def read(self, text: str, context: PlanContext) -> Draft:
        read = Request.read(text.strip())
        request = replace(read, masked=strip_courtesy(correct(read.masked)))
        request, kept_times = protect_names(request, context.current_time())
        draft = Draft(request, context, self.catalog, context.current_time())
        for words in kept_times:
            draft.assume(f"“{words}” is part of the text, not when the workflow runs")
        for clause in split_clauses(request.masked):
            if draft.question is not None:
                break
            self._read_clause(clause, draft)
        return draft

    def _read_clause(self, clause: Clause, draft: Draft) -> None:
        restored = draft.request.restore(clause.text)
        steps_before = len(draft.steps)
        if clause.verb is None:
            understood = self._read_preamble(clause, draft)
        elif _texts_on_slack(clause):  # "text @bob that …": a Slack message, not an SMS
            text = re.sub(r"^\w+", "message", clause.text)
            understood = read_action(text, "message", draft.request, draft)
        elif clause.verb in UNSUPPORTED_VERBS:
            understood = False
        else:
            understood = read_action(clause.text, clause.verb, draft.request, draft)
        if not understood and self._can_leave_out(clause, draft):
            draft.unused.append(restored)
        elif not understood:
            draft.unknown.append(restored)
        elif draft.question is None:
            self._note_unused(clause, draft, draft.steps[steps_before:])

    @staticmethod
    def _can_leave_out(clause: Clause, draft: Draft) -> bool:
        """An action clause that maps to nothing ("and make it sticky") after others that
        did is left out and named (the plan asks about it); a verb ATOM has no action for
        ("delete", "archive") or a trigger it cannot watch is refused instead."""
        return (
            bool(draft.steps)
            and clause.verb is not None
            and clause.verb not in UNSUPPORTED_VERBS
            and draft.question is None
        )

    def _note_unused(self, clause: Clause, draft: Draft, steps: list[StepDraft]) -> None:
        """Remember the words of `clause` that neither its steps nor the trigger use."""
        if clause.verb is None:
            keys = [str(draft.trigger.get("event", ""))]
            values: list[object] = [draft.trigger.get("with", {}), draft.condition]
        else:
            keys = [step.action for step in steps]
            values = [step.inputs for step in steps] + [step.condition for step in steps]
        for part in unused_parts(
            clause.text, clause.verb, keys, values, draft.request, self.catalog, draft.now
        ):
            if part not in draft.unused:
                draft.unused.append(part)

    def _read_preamble(self, clause: Clause, draft: Draft) -> bool:
        if clause.is_when:
            return read_event(clause.text, draft) or self._read_time(clause.text, draft)
        return self._read_time(clause.text, draft) or read_event(clause.text, draft)

    @staticmethod
    def _read_time(text: str, draft: Draft) -> bool:
        schedule = find_schedule(text)
        if schedule is not None:
            set_schedule(draft, schedule.value)
            return True
        moment = find_moment(text, draft.now)
        if moment is not None:
            set_moment(draft, moment.value)
            return True
        return False

    # --- results --------------------------------------------------------------------------

    def finish(self, draft: Draft) -> Plan | Question:
        request = draft.request.restore(draft.request.masked)
        if not draft.request.masked:
            return Question(f"What should I automate? For example {EXAMPLES}.", request)
        if draft.question is not None:
            return Question(
                draft.question, request, self._partial(draft), choices=tuple(draft.choices)
            )
        if draft.unknown:
            return self._cannot(draft, request)
        if not draft.steps:
            when = f"on “{draft.trigger_words.lower()}”" if draft.trigger_words else "then"
            return Question(
                f"What should happen {when}? "
                "For example: post to #channel, create a Trello card in a list, email someone.",
                request,
                self._partial(draft),
            )
        partial = self._partial(draft)
        if draft.missing:
            slots = tuple(
                Slot(_slot_path(draft, m.where, m.field), m.question) for m in draft.missing
            )
            return Question(slots[0].question, request, partial, slots)
        if partial is None:
            return Question(
                f"I couldn't build a workflow from that. Try for example {EXAMPLES}.", request
            )
        return self.checked(
            partial, draft.context, request, tuple(draft.assumptions), tuple(draft.unused)
        )

    def _cannot(self, draft: Draft, request: str) -> Question:
        """A refusal that helps: the nearest things ATOM can do and where the rest are
        listed; no invitation to answer, since no answer can make it possible."""
        what = draft.unknown[0]
        if draft.trigger.get("type") == "manual" and re.match(
            r"^(?:when|whenever|if|once)\b", what, re.I
        ):
            detail = f"I can start a workflow on {EVENT_HELP}."
        else:
            nearest = nearest_actions(self.catalog, what)
            detail = (
                f"The nearest things I can do: {'; '.join(nearest)}."
                if nearest
                else f"For example: {EXAMPLES}."
            )
        return Question(
            f"I can't do “{what}” yet. {detail} `/atom connectors` lists everything I can do.",
            request,
            self._partial(draft),
            answerable=False,
        )

    @staticmethod
    def _partial(draft: Draft) -> Workflow | None:
        try:
            return draft.workflow()
        except ValueError:
            return None

    def checked(
        self,
        workflow: Workflow,
        context: PlanContext,
        request: str,
        assumptions: tuple[str, ...] = (),
        unused: tuple[str, ...] = (),
    ) -> Plan | Question:
        """A Plan if `workflow` passes validation, else a Question naming the problem."""
        problems = validate(
            workflow, self.catalog, now=context.current_time(), default_timezone=context.timezone
        )
        if problems:
            return Question(
                f"I couldn't make a valid workflow from that ({problems[0]}). Could you say it "
                "differently?",
                request,
                workflow,
            )
        return Plan(
            workflow=workflow,
            summary=describe(workflow, self.catalog, context.timezone),
            assumptions=assumptions,
            unused=unused,
            missing_connections=missing_connections(workflow, self.catalog, context),
            planner=self.name,
        )


def _texts_on_slack(clause: Clause) -> bool:
    return clause.verb in ("text", "sms") and bool(mentions(clause.text) or channels(clause.text))


def _slot_path(draft: Draft, where: str, field: str) -> str:
    if where == "trigger":
        return "trigger.at" if field == "at" else f"trigger.with.{field}"
    index = next(i for i, step in enumerate(draft.steps) if step.id == where)
    return f"steps[{index}].with.{field}"


def missing_connections(
    workflow: Workflow, catalog: Registry, context: PlanContext
) -> tuple[str, ...]:
    """Services the workflow uses that need a connection the person has not made."""
    if context.connected is None:
        return ()
    used = [step.action.split(".", 1)[0] for step in workflow.steps]
    event = getattr(workflow.trigger, "event", None)
    if event:
        used.insert(0, event.split(".", 1)[0])
    missing = []
    for name in dict.fromkeys(used):
        connector = catalog.connectors.get(name)
        if (
            connector is not None
            and connector.auth.kind != "none"
            and name not in context.connected
        ):
            missing.append(name)
    return tuple(missing)
