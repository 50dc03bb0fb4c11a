"""The LLM planner: any OpenAI-compatible chat model with structured outputs.

One call is `POST {OPENAI_BASE_URL}/chat/completions` with `response_format:
json_schema, strict: true` and a schema that allows exactly two answers: a workflow (in
the model's strict *wire form*, see workflows/model.py) or one question. The system
message carries the catalog (every action's and event's inputs and outputs, from the
connectors' models), the person's time zone and clock, and the rules (never guess a
repository, list, channel or recipient: ask).

The answer is parsed and validated; validator problems go back to the model for up to
`MAX_REPAIRS` repair turns. A refusal, text that is not the schema, or a workflow still
invalid after the repairs ends as a Question — never as an invalid plan. Network and
API failures become a `PlannerError` whose message says what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
from openai import AsyncOpenAI
from pydantic import ValidationError

from connectors.base import Action, Event
from connectors.registry import Registry
from core.settings import Settings
from workflows.catalog import full_catalog
from workflows.model import Workflow, strict_json_schema
from workflows.planning.offline import missing_connections
from workflows.planning.results import Plan, PlanContext, PlannerError, Question
from workflows.planning.summary import describe
from workflows.validate import Problem, problems_from_error, validate

MAX_REPAIRS = 2
REPHRASE = "Could you rephrase the request?"
UNREADABLE = f"I couldn't read the planner's answer. {REPHRASE}"
MAX_RETRIES = 1  # one SDK retry on 429/5xx/connection errors: at most two timeouts' wait
CATALOG_PROMPT_CHARS = 60_000
SCHEMA_NAME = "workflow_plan"
INSTRUCTIONS = """\
You are ATOM's planner. Turn what the person asked for into a workflow: a trigger and the
steps it runs, using only the actions and events in the catalog below.

Answer with JSON in the given schema. Either `workflow` is the plan and `question` is null,
or `question` is ONE short, clear question and `workflow` is null (or the partial plan).
Ask a question whenever something you need is missing or ambiguous: never guess a
repository, Trello list or board, Asana project, Slack channel, person or e-mail address.

Rules:
- trigger.type is "manual" (runs once when the person approves), "schedule" (exactly one of
  `cron` with 5 fields where 0 = Sunday, `rrule` (RFC 5545) or `at` (ISO 8601 with the UTC
  offset), plus `timezone`) or "event" (`event` is "<connector>.<event>", `with` its config).
- Schedules and calendar times are in the person's time zone: {timezone}. It is now
  {now} ({weekday}). "me" on Slack is the user {user}.
- A step is {{id, action, with, if, for_each}}; `action` is "<connector>.<action>"; ids are
  short snake_case words, unique. `with` holds the action's inputs by their exact names.
- In the wire form every `with` is a list of {{"name", "value"}} pairs; an object value is
  {{"fields": [pairs]}}. Unused optional keys are null.
- Values may use templates: "{{{{ trigger.<field> }}}}" (the event payload) and
  "{{{{ steps.<id>.<field> }}}}" (an earlier step's output); only `{{{{ … }}}}` expressions, no
  `{{% … %}}` blocks. Use them to carry titles and links forward.
- In an event or repeating schedule workflow, a time said relative to now ("tomorrow",
  "in 2 days", "next Monday", "in an hour") must be counted from each run, not fixed:
  "{{{{ now | in_timezone('{timezone}') | add_days(1) | at('09:00') }}}}". `now` is when the
  run's trigger happened; filters: in_timezone(zone), add_minutes/add_hours/add_days/
  add_weeks/add_months(n), next_weekday('monday'), at('HH:MM'), next_at('HH:MM'),
  day_of_month(n), next_day_of_month(n), date (YYYY-MM-DD). A one-time plan uses the date.
- `name` is a short title of the workflow.

Catalog (connector.action: description; inputs, * = required; -> output fields):
{catalog}
"""
REPAIR = """\
That workflow is not valid:
{problems}
Answer again with the whole corrected workflow, or with one question if the person must
decide something."""


# --- the catalog in the prompt -------------------------------------------------------------


def _type_words(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " | ".join(_type_words(o) for o in schema["anyOf"] if o.get("type") != "null")
    if "enum" in schema:
        return "|".join(json.dumps(v) for v in schema["enum"])
    if schema.get("type") == "array":
        return f"list[{_type_words(schema.get('items', {}))}]"
    if "$ref" in schema:
        return "object"
    return str(schema.get("type") or schema.get("format") or "any")


def _fields(schema: dict[str, Any], with_types: bool) -> str:
    required = set(schema.get("required", []))
    parts = []
    for name, prop in schema.get("properties", {}).items():
        mark = "*" if name in required else ""
        if not with_types:
            parts.append(name)
            continue
        about = f" — {prop['description']}" if prop.get("description") else ""
        parts.append(f"{name}{mark}: {_type_words(prop)}{about}")
    return ("; " if with_types else ", ").join(parts)


def _payload_fields(schema: dict[str, Any]) -> str:
    """Top-level payload fields, with one level of nested objects (issue.title, …)."""
    definitions = schema.get("$defs", {})
    parts = []
    for name, prop in schema.get("properties", {}).items():
        ref = prop.get("$ref", "")
        nested = definitions.get(ref.rsplit("/", 1)[-1]) if ref else None
        if nested:
            parts.append(f"{name}.{{{_fields(nested, with_types=False)}}}")
        else:
            parts.append(name)
    return ", ".join(parts)


def describe_action(action: Action) -> str:
    inputs = _fields(action.input_model.model_json_schema(), with_types=True)
    outputs = _fields(action.output_model.model_json_schema(), with_types=False)
    return f"- {action.key}: {action.description}\n    inputs: {inputs}\n    -> {outputs}"


def describe_event(event: Event) -> str:
    config = _fields(event.config_model.model_json_schema(), with_types=True) or "(none)"
    payload = _payload_fields(event.payload_model.model_json_schema())
    return (
        f"- event {event.key}: {event.description}\n    with: {config}\n"
        f"    trigger fields: {payload}"
    )


def catalog_prompt(catalog: Registry, request: str, max_chars: int = CATALOG_PROMPT_CHARS) -> str:
    """The catalog as text. When it is longer than `max_chars`, connectors the request
    names (by name or title) come first and the rest are added while they fit — a keyword
    filter standing in for relevance retrieval."""
    blocks = {
        name: "\n".join(
            [describe_event(e) for e in connector.events.values()]
            + [describe_action(a) for a in connector.actions.values()]
        )
        for name, connector in catalog.connectors.items()
    }
    lowered = request.lower()

    def named(name: str) -> bool:
        title = catalog.connectors[name].title.lower()
        return name.replace("_", " ") in lowered or title in lowered

    order = sorted(blocks, key=lambda name: (not named(name), name))
    text, used = [], 0
    for name in order:
        if used + len(blocks[name]) > max_chars and text:
            continue
        text.append(blocks[name])
        used += len(blocks[name])
    return "\n".join(text)


def response_schema() -> dict[str, Any]:
    """The strict schema of an answer: {question, workflow} (one of them null)."""
    workflow = strict_json_schema()
    definitions = workflow.pop("$defs", {})
    definitions["Workflow"] = workflow
    return {
        "type": "object",
        "properties": {
            "question": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "One clear question when something needed is missing; else null.",
            },
            "workflow": {
                "anyOf": [{"$ref": "#/$defs/Workflow"}, {"type": "null"}],
                "description": "The workflow, in wire form; null when asking a question.",
            },
        },
        "required": ["question", "workflow"],
        "additionalProperties": False,
        "$defs": definitions,
    }


# --- the conversation ------------------------------------------------------------------------


@dataclass
class Attempt:
    """What one model answer turned out to be."""

    content: str | None = None
    question: str | None = None
    workflow: Workflow | None = None
    problems: tuple[Problem, ...] = ()
    unusable: str | None = None  # why the answer cannot be used at all


class LLMPlanner:
    name = "llm"

    def __init__(
        self, catalog: Registry, settings: Settings, client: AsyncOpenAI | None = None
    ) -> None:
        if client is None and settings.openai_api_key is None:
            raise PlannerError("The LLM planner needs OPENAI_API_KEY (or use the offline planner).")
        self.catalog = full_catalog(catalog)
        self.settings = settings
        self.client = client or AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
            base_url=settings.openai_base_url or None,
            timeout=settings.llm_timeout_seconds,
            max_retries=MAX_RETRIES,
        )

    # --- entry points --------------------------------------------------------------------

    async def plan(self, text: str, context: PlanContext) -> Plan | Question:
        return await self._converse(text, [{"role": "user", "content": text}], context)

    async def answer(self, question: Question, text: str, context: PlanContext) -> Plan | Question:
        previous = {
            "question": question.text,
            "workflow": question.partial.to_wire() if question.partial else None,
        }
        messages = [
            {"role": "user", "content": question.request},
            {"role": "assistant", "content": json.dumps(previous)},
            {"role": "user", "content": text},
        ]
        return await self._converse(f"{question.request}\n{text}", messages, context)

    async def revise(self, workflow: Workflow, text: str, context: PlanContext) -> Plan | Question:
        content = (
            f"This is the pending workflow:\n{workflow.to_json()}\n\n"
            f"Change it as follows and answer with the whole workflow: {text}"
        )
        return await self._converse(text, [{"role": "user", "content": content}], context)

    # --- the loop ------------------------------------------------------------------------

    def _system(self, request: str, context: PlanContext) -> dict[str, str]:
        now = context.current_time()
        content = INSTRUCTIONS.format(
            timezone=context.timezone,
            now=now.isoformat(timespec="minutes"),
            weekday=f"{now:%A}",
            user=context.user or "(unknown: ask who is meant)",
            catalog=catalog_prompt(self.catalog, request),
        )
        return {"role": "system", "content": content}

    async def _converse(
        self, request: str, messages: list[dict[str, str]], context: PlanContext
    ) -> Plan | Question:
        conversation = [self._system(request, context), *messages]
        attempt = Attempt()
        for turn in range(MAX_REPAIRS + 1):
            attempt = self._read(await self._complete(conversation), context)
            if attempt.unusable is not None:
                return Question(attempt.unusable, request, planner=self.name)
            if attempt.question is not None:
                return Question(attempt.question, request, attempt.workflow, planner=self.name)
            if not attempt.problems and attempt.workflow is not None:
                return self._plan(attempt.workflow, context)
            if turn < MAX_REPAIRS:
                problems = "\n".join(f"- {p}" for p in attempt.problems)
                conversation += [
                    {"role": "assistant", "content": attempt.content or ""},
                    {"role": "user", "content": REPAIR.format(problems=problems)},
                ]
        first = attempt.problems[0] if attempt.problems else "no workflow"
        return Question(
            f"I couldn't make a valid workflow from that ({first}). Could you rephrase it or "
            "add the missing detail?",
            request,
            attempt.workflow,
            planner=self.name,
        )

    def _plan(self, workflow: Workflow, context: PlanContext) -> Plan:
        return Plan(
            workflow=workflow,
            summary=describe(workflow, self.catalog, context.timezone),
            missing_connections=missing_connections(workflow, self.catalog, context),
            planner=self.name,
        )

    def _read(self, message: Any, context: PlanContext) -> Attempt:
        """Make sense of one answer: refusal, garbage, question, or a workflow + problems."""
        choice = message.choices[0] if message.choices else None
        if choice is None:
            return Attempt(unusable="The planner gave no answer. Could you try again?")
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            return Attempt(unusable=f"The planner declined that request ({refusal}). {REPHRASE}")
        content = choice.message.content
        if choice.finish_reason == "length" or not content:
            return Attempt(
                unusable="The planner's answer was cut off. Could you ask for something smaller?"
            )
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not ({"question", "workflow"} & set(data)):
            return Attempt(content, unusable=UNREADABLE)
        return self._judge(content, data, context)

    def _judge(self, content: str, data: dict[str, Any], context: PlanContext) -> Attempt:
        workflow, problems = None, []
        if data.get("workflow") is not None:
            try:
                workflow = Workflow.from_wire(data["workflow"])
            except ValidationError as exc:
                problems = problems_from_error(exc)
        question = data.get("question")
        if isinstance(question, str) and question.strip():
            return Attempt(content, question=question.strip(), workflow=workflow)
        if workflow is None and not problems:
            return Attempt(
                content,
                unusable=f"The planner answered with neither a workflow nor a question. {REPHRASE}",
            )
        if workflow is not None:
            problems = validate(
                workflow,
                self.catalog,
                now=context.current_time(),
                default_timezone=context.timezone,
            )
        return Attempt(content, workflow=workflow, problems=tuple(problems))

    async def _complete(self, conversation: list[dict[str, str]]) -> Any:
        try:
            return await self.client.chat.completions.create(
                model=self.settings.llm_model,
                messages=conversation,  # type: ignore[arg-type]
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": SCHEMA_NAME,
                        "schema": response_schema(),
                        "strict": True,
                    },
                },
            )
        except openai.APIError as exc:
            raise PlannerError(self._failure(exc)) from exc

    def _failure(self, exc: openai.APIError) -> str:
        """What to tell the person when the model could not be asked."""
        host = urlsplit(str(self.client.base_url)).netloc or "the model server"
        words = next((w for kind, w in FAILURE_WORDS if isinstance(exc, kind)), None)
        if words is not None:
            return words.format(
                model=self.settings.llm_model,
                host=host,
                timeout=self.settings.llm_timeout_seconds,
            )
        if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
            return f"The planner model at {host} rejected the request: {_message(exc)}"
        return f"The planner model at {host} had an error. Try again in a moment."


# What each failure to reach the model means for the person (the first matching class
# wins: APITimeoutError is an APIConnectionError). Fields: {model}, {host}, {timeout}.
FAILURE_WORDS: tuple[tuple[type[openai.APIError], str], ...] = (
    (
        openai.APITimeoutError,
        "The planner model ({model} at {host}) did not answer within {timeout:g} seconds. "
        "Try again in a moment.",
    ),
    (
        openai.APIConnectionError,
        "I couldn't reach the planner model at {host}. Check OPENAI_BASE_URL and the network.",
    ),
    (
        openai.AuthenticationError,
        "The planner model at {host} rejected the API key. Check OPENAI_API_KEY.",
    ),
    (
        openai.PermissionDeniedError,
        "The API key may not use {model} at {host}. Check the key's permissions.",
    ),
    (
        openai.NotFoundError,
        "The model {model} does not exist at {host}. Set ATOM_LLM_MODEL to a model it serves.",
    ),
    (
        openai.RateLimitError,
        "The planner model at {host} is rate-limiting requests. Try again in a minute.",
    ),
)


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc.message)
