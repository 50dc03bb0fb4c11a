"""The workflow document: the one definition the planner, validator, Block Kit renderer,
engine and CLI all use.

A document is YAML or JSON:

    name: New GitHub issues to #dev
    trigger: {type: event, event: github.issue_opened, with: {repo: acme/api}}
    steps:
      - id: notify
        action: slack.post_message
        if: "'bug' in trigger.issue.labels"
        with: {channel: "#dev", text: "New issue: {{ trigger.issue.title }}"}

Inputs (`with`) are mappings in the document. OpenAI's strict structured outputs reject
free-form mappings, so the planner talks to the LLM in a *wire form* where every mapping
is a list of `{name, value}` pairs and a nested object is `{"fields": [pairs]}`:
`strict_json_schema()` describes it, `Workflow.from_wire` / `Workflow.to_wire` convert.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from difflib import get_close_matches
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

MAX_DOCUMENT_CHARS = 256_000
MAX_STEPS = 100
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
APPROVAL_ACTION = "approval.request"


# --- field types -----------------------------------------------------------------------


def _check_step_id(value: str) -> str:
    if not value or len(value) > 64 or not (value[0].isalpha() or value[0] == "_"):
        raise ValueError(
            "a step id starts with a letter or _ and has at most 64 letters, digits or _ "
            "(it is used as `steps.<id>` in templates)"
        )
    if not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in value):
        raise ValueError(
            "a step id may only contain ASCII letters, digits and _ "
            "(it is used as `steps.<id>` in templates)"
        )
    return value


def _yaml_scalar_to_text(value: Any) -> Any:
    """`at: 2026-01-05T09:00` arrives as a datetime from some YAML/JSON producers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _bool_to_expression(value: Any) -> Any:
    """`if: true` in YAML is a boolean; as an expression it is the text `true`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


StepId = Annotated[
    str,
    Field(
        description="Unique id of the step, used as `steps.<id>` in later templates.",
        json_schema_extra={"pattern": STEP_ID_PATTERN},
    ),
    AfterValidator(_check_step_id),
]

Inputs = Annotated[
    dict[str, JsonValue],
    Field(
        max_length=200,
        description="Input name -> literal value or `{{ … }}` template.",
    ),
]

Expression = Annotated[str, BeforeValidator(_bool_to_expression), Field(max_length=20_000)]


class _Document(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


# --- triggers --------------------------------------------------------------------------


class ManualTrigger(_Document):
    """Runs when someone asks (a button in Slack, `atom execute`)."""

    type: Literal["manual"]


class ScheduleTrigger(_Document):
    """Runs on a schedule: exactly one of `cron`, `rrule` or `at`."""

    type: Literal["schedule"]
    cron: str | None = Field(
        None, max_length=200, description="Five-field cron expression, e.g. `0 9 * * 1-5`."
    )
    rrule: str | None = Field(
        None,
        max_length=2000,
        description="RFC 5545 recurrence rule, e.g. `FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0`.",
    )
    at: Annotated[str | None, BeforeValidator(_yaml_scalar_to_text)] = Field(
        None, max_length=100, description="One-off ISO 8601 date-time, e.g. `2026-03-01T09:00`."
    )
    timezone: str | None = Field(
        None,
        max_length=100,
        description="IANA time zone, e.g. `Europe/Berlin`; default: the requesting user's.",
    )
    overlap: Literal["skip", "queue"] | None = Field(
        None,
        description="When a fire comes while the previous run is still going: `skip` it "
        "(the default) or `queue` it until that run ends.",
    )

    @model_validator(mode="after")
    def _exactly_one_when(self) -> ScheduleTrigger:
        given = [name for name in ("cron", "rrule", "at") if getattr(self, name) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(
                f"a schedule trigger needs exactly one of `cron`, `rrule` or `at`{found}"
            )
        return self

    @property
    def expression(self) -> str:
        """The one of cron / rrule / at that is set."""
        return self.cron or self.rrule or self.at or ""


class EventTrigger(_Document):
    """Runs when something happens in a connected service."""

    type: Literal["event"]
    event: str = Field(
        max_length=200, description="`<connector>.<event>`, e.g. `github.issue_opened`."
    )
    with_: Inputs = Field(default_factory=dict, alias="with")


Trigger = Annotated[
    ManualTrigger | ScheduleTrigger | EventTrigger,
    Field(discriminator="type", description="When the workflow runs."),
]


# --- steps and the workflow ------------------------------------------------------------


class Step(_Document):
    """One action call. Values in `with` are literals or `{{ … }}` templates over
    `trigger`, `steps.<id>` and `workflow` (plus `item` and `loop` in a `for_each`)."""

    id: StepId
    action: str = Field(
        max_length=200, description="`<connector>.<action>`, e.g. `slack.post_message`."
    )
    with_: Inputs = Field(default_factory=dict, alias="with")
    if_: Expression | None = Field(
        None,
        alias="if",
        description="Jinja2 expression; the step is skipped when it is false.",
    )
    for_each: Expression | list[JsonValue] | None = Field(
        None,
        description="A list, or an expression giving one: the step runs once per item "
        "(available as `item`, with `loop.index`).",
    )

    @property
    def is_approval(self) -> bool:
        return self.action == APPROVAL_ACTION


class Workflow(_Document):
    """A trigger plus the steps it runs, in order."""

    name: str = Field(min_length=1, max_length=200, description="Short title of the workflow.")
    description: str | None = Field(None, max_length=2000)
    trigger: Trigger
    steps: list[Step] = Field(max_length=MAX_STEPS, description="Steps run in order.")

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    @property
    def runs_once(self) -> bool:
        """One run is all it makes: a manual trigger (it runs when approved) or a
        schedule at a single time. After that run it is completed."""
        trigger = self.trigger
        return isinstance(trigger, ManualTrigger) or (
            isinstance(trigger, ScheduleTrigger) and trigger.at is not None
        )

    def to_document(self) -> dict[str, Any]:
        """The document as plain JSON data (`with`/`if` spelled as in YAML)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_document(), sort_keys=False, allow_unicode=True)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_document(), indent=indent, ensure_ascii=False)

    def to_wire(self) -> dict[str, Any]:
        """The strict wire form (see module docstring); inverse of `from_wire`."""
        data = self.model_dump(mode="json", exclude_none=False)
        data["trigger"] = _trigger_to_wire(data["trigger"])
        data["steps"] = [_step_to_wire(step) for step in data["steps"]]
        return data

    @classmethod
    def from_wire(cls, data: Any) -> Workflow:
        """Parse the strict wire form an LLM produced. Raises ValidationError."""
        return cls.model_validate(_wire_to_document(data))


# --- wire form (OpenAI strict structured outputs) ----------------------------------------

_OBJECT_KEY = "fields"


def _pairs(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "value": _value_to_wire(value)} for name, value in mapping.items()]


def _value_to_wire(value: Any) -> Any:
    if isinstance(value, dict):
        return {_OBJECT_KEY: _pairs(value)}
    if isinstance(value, list):
        return [_value_to_wire(item) for item in value]
    return value


def _trigger_to_wire(trigger: dict[str, Any]) -> dict[str, Any]:
    """Every trigger variant on the wire carries every key it has (nulls included)."""
    if "with" in trigger:
        trigger = {**trigger, "with": _pairs(trigger["with"])}
    return trigger


def _step_to_wire(step: dict[str, Any]) -> dict[str, Any]:
    for_each = step["for_each"]
    return {
        **step,
        "with": _pairs(step["with"]),
        "for_each": _value_to_wire(for_each) if isinstance(for_each, list) else for_each,
    }


def _wire_error(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    detail: InitErrorDetails = {
        "type": PydanticCustomError("wire_form", message),
        "loc": loc,
        "input": value,
    }
    return ValidationError.from_exception_data("Workflow", [detail])


def _pairs_to_dict(pairs: Any, loc: tuple[str | int, ...]) -> Any:
    """`[{name, value}]` -> mapping; anything else is left for pydantic to reject."""
    if not isinstance(pairs, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and "value" in p for p in pairs
    ):
        return pairs
    result: dict[str, Any] = {}
    for index, pair in enumerate(pairs):
        if pair["name"] in result:
            raise _wire_error((*loc, index, "name"), f"input `{pair['name']}` is given twice", pair)
        result[pair["name"]] = _value_from_wire(pair["value"], (*loc, index, "value"))
    return result


def _value_from_wire(value: Any, loc: tuple[str | int, ...]) -> Any:
    if isinstance(value, dict) and set(value) == {_OBJECT_KEY}:
        return _pairs_to_dict(value[_OBJECT_KEY], (*loc, _OBJECT_KEY))
    if isinstance(value, list):
        return [_value_from_wire(item, (*loc, i)) for i, item in enumerate(value)]
    return value


def _wire_to_document(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    document = dict(data)
    trigger = document.get("trigger")
    if isinstance(trigger, dict):
        document["trigger"] = _with_from_wire(trigger, ("trigger",))
    steps = document.get("steps")
    if isinstance(steps, list):
        document["steps"] = [
            _with_from_wire(step, ("steps", i)) if isinstance(step, dict) else step
            for i, step in enumerate(steps)
        ]
    return document


def _with_from_wire(part: dict[str, Any], loc: tuple[str | int, ...]) -> dict[str, Any]:
    part = dict(part)
    if "with" in part:
        part["with"] = _pairs_to_dict(part["with"], (*loc, "with"))
    if isinstance(part.get("for_each"), list):
        part["for_each"] = _value_from_wire(part["for_each"], (*loc, "for_each"))
    return part


# --- JSON Schemas ----------------------------------------------------------------------

_UNSUPPORTED_IN_STRICT = {
    "default",
    "discriminator",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "patternProperties",
}

_WIRE_VALUE = {
    "description": "A string, number, boolean, null, list of values, or an object "
    "written as {fields: [{name, value}]}.",
    "anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": "#/$defs/JsonValue"}},
        {
            "type": "object",
            "properties": {_OBJECT_KEY: {"type": "array", "items": {"$ref": "#/$defs/InputPair"}}},
            "required": [_OBJECT_KEY],
            "additionalProperties": False,
        },
    ],
}

_INPUT_PAIR = {
    "type": "object",
    "description": "One input: its name and its value (a literal or a {{ … }} template).",
    "properties": {"name": {"type": "string"}, "value": {"$ref": "#/$defs/JsonValue"}},
    "required": ["name", "value"],
    "additionalProperties": False,
}


def document_json_schema() -> dict[str, Any]:
    """JSON Schema of the document as written in YAML/JSON (`atom schema`)."""
    return Workflow.model_json_schema()


def strict_json_schema() -> dict[str, Any]:
    """JSON Schema of the wire form, valid as an OpenAI strict structured-output schema
    (`response_format={"type": "json_schema", "json_schema": {"name": "Workflow",
    "strict": True, "schema": strict_json_schema()}}`); parse the answer with
    `Workflow.from_wire`."""
    schema = _to_strict(Workflow.model_json_schema())
    schema["$defs"]["JsonValue"] = _WIRE_VALUE
    schema["$defs"]["InputPair"] = _INPUT_PAIR
    return schema


def _to_strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "object" and "properties" not in node:
        return {
            "type": "array",
            "items": {"$ref": "#/$defs/InputPair"},
            **({"description": node["description"]} if "description" in node else {}),
        }
    result = {
        ("anyOf" if key == "oneOf" else key): _to_strict(value)
        for key, value in node.items()
        if key not in _UNSUPPORTED_IN_STRICT and key != "const"
    }
    if "const" in node:
        result["enum"] = [node["const"]]
    if "properties" in node:
        required = set(node.get("required", []))
        # An optional property is null on the wire when its default is None; one with a
        # default factory (an empty `with`) is simply always sent.
        result["properties"] = {
            name: _nullable(prop) if name not in required and "default" in original else prop
            for (name, prop), original in zip(
                result["properties"].items(), node["properties"].values(), strict=True
            )
        }
        result["required"] = list(result["properties"])
        result["additionalProperties"] = False
    return result


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if options is not None and any(o.get("type") == "null" for o in options):
        return schema
    described = {k: v for k, v in schema.items() if k in ("description", "title")}
    inner = {k: v for k, v in schema.items() if k not in ("description", "title")}
    return {**described, "anyOf": [inner, {"type": "null"}]}


# --- loading and dumping ------------------------------------------------------------------


class _DocumentLoader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2-style scalars: only `true`/`false` are booleans (so `on`,
    `yes`, `no` stay text), timestamps stay text, and aliases are refused (an alias bomb
    would otherwise expand into an exponentially large document)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not supported in workflows", event.start_mark
            )
        return super().compose_node(parent, index)


_DocumentLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DocumentLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _load_error(message: str, text: str) -> ValidationError:
    detail: InitErrorDetails = {
        "type": PydanticCustomError("document_syntax", message),
        "loc": (),
        "input": text[:200],
    }
    return ValidationError.from_exception_data("Workflow", [detail])


_SURROGATE = re.compile("[\ud800-\udfff]")


def _join_surrogates(value: Any) -> Any:
    """YAML decodes a JSON-style escape pair such as \\ud83d\\ude00 into two halves;
    join them into the one character JSON means (a lone half is an error)."""
    if isinstance(value, str):
        if not _SURROGATE.search(value):
            return value
        try:
            return value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError(
                "the document contains an invalid \\u escape (a lone surrogate)"
            ) from None
    if isinstance(value, list):
        return [_join_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_join_surrogates(k): _join_surrogates(v) for k, v in value.items()}
    return value


def parse_document(text: str) -> Any:
    """YAML or JSON text -> plain data. Raises ValidationError on syntax errors."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise _load_error(
            f"the document is {len(text)} characters long; the limit is {MAX_DOCUMENT_CHARS}",
            text,
        )
    try:
        return _join_surrogates(yaml.load(text, Loader=_DocumentLoader))  # a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise _load_error(f"not valid YAML or JSON: {exc.problem or exc}{where}", text) from None
    except yaml.YAMLError as exc:
        raise _load_error(f"not valid YAML or JSON: {exc}", text) from None
    except RecursionError:
        raise _load_error("the document is nested too deeply", text) from None
    except ValueError as exc:
        raise _load_error(str(exc), text) from None


def load_workflow(text: str) -> Workflow:
    """Parse a YAML or JSON document. Raises pydantic ValidationError (and nothing
    else) when it is not a workflow; `problems_from_error` turns that into lines."""
    data = parse_document(text)
    try:
        return Workflow.model_validate(data)
    except RecursionError:
        raise _load_error("the document is nested too deeply", text) from None


# --- readable errors ---------------------------------------------------------------------

_DOCUMENT_KEYS = (
    "name",
    "description",
    "trigger",
    "steps",
    "type",
    "cron",
    "rrule",
    "at",
    "timezone",
    "event",
    "with",
    "id",
    "action",
    "if",
    "for_each",
)


def format_path(loc: Iterable[str | int]) -> str:
    """('steps', 1, 'with', 'channel') -> 'steps[1].with.channel'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _document_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator labels (`schedule`, `function-after[...]`)."""
    cleaned: list[str | int] = []
    for index, part in enumerate(loc):
        if isinstance(part, str) and (
            "[" in part or (index == 1 and loc[0] == "trigger" and part in _TRIGGER_TAGS)
        ):
            continue
        cleaned.append(part)
    return tuple(cleaned)


_TRIGGER_TAGS = ("manual", "schedule", "event")


def _readable(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden" and loc and isinstance(loc[-1], str):
        close = get_close_matches(loc[-1], _DOCUMENT_KEYS, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return f"unknown field `{loc[-1]}`{hint}"
    if kind == "model_type":
        return (
            "expected a mapping here"
            if loc
            else "a workflow is a mapping with name, trigger and steps"
        )
    if kind == "missing":
        return "this field is required"
    if kind == "union_tag_not_found":
        return "`type` is required: one of manual, schedule, event"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"unknown trigger type {tag!r}: use manual, schedule or event"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def error_lines(error: ValidationError) -> list[tuple[str, str]]:
    """(path, message) for each error in a ValidationError about a document."""
    lines = []
    for item in error.errors(include_url=False):
        path = format_path(_document_loc(tuple(item["loc"]))) or "(document)"
        lines.append((path, _readable(item)))
    return lines
