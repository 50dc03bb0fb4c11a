"""Workflow + catalog -> the problems a person can act on.

Each `Problem` has a path into the document (`steps[1].with.channel`) and a message that
says what is wrong and how to fix it. `check_document` also turns load errors (YAML
syntax, wrong structure) into problems, so callers get one list either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.registry import Registry
from core.db import utcnow
from workflows.catalog import full_catalog
from workflows.model import (
    EventTrigger,
    ScheduleTrigger,
    Step,
    Workflow,
    error_lines,
    format_path,
    load_workflow,
)
from workflows.schedules import ScheduleError, next_fire_time, zone
from workflows.templating import (
    LOOP_NAMES,
    METHOD_NAMES,
    ROOT_NAMES,
    Analysis,
    Reference,
    check_expression,
    check_template,
    template_strings,
)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def problems_from_error(error: ValidationError) -> list[Problem]:
    return [Problem(path, message) for path, message in error_lines(error)]


def check_document(
    text: str, catalog: Registry, *, now: datetime | None = None, default_timezone: str = "UTC"
) -> tuple[Workflow | None, list[Problem]]:
    """Load and validate a YAML/JSON document; never raises for a bad document."""
    try:
        workflow = load_workflow(text)
    except ValidationError as exc:
        return None, problems_from_error(exc)
    return workflow, validate(workflow, catalog, now=now, default_timezone=default_timezone)


def validate(
    workflow: Workflow,
    catalog: Registry,
    *,
    now: datetime | None = None,
    default_timezone: str = "UTC",
) -> list[Problem]:
    """Every problem in `workflow` against `catalog` (built-ins are added if missing)."""
    catalog = full_catalog(catalog)
    problems = _check_trigger(workflow, catalog, now or utcnow(), default_timezone)
    problems += _check_steps(workflow, catalog)
    return problems


# --- helpers ------------------------------------------------------------------------------


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _accepted_inputs(model: type[BaseModel]) -> dict[str, str]:
    """Input key as written in `with` -> field name."""
    accepted = {(info.alias or name): name for name, info in model.model_fields.items()}
    if model.model_config.get("validate_by_name") or model.model_config.get("populate_by_name"):
        accepted.update({name: name for name in model.model_fields})
    return accepted


def _has_template(value: Any) -> bool:
    return any(True for _ in template_strings(value, ""))


def _check_inputs(model: type[BaseModel], inputs: Mapping[str, Any], path: str) -> list[Problem]:
    """Unknown, missing and (for literal values) mistyped inputs of an input model."""
    accepted = _accepted_inputs(model)
    problems: list[Problem] = []
    if model.model_config.get("extra") != "allow":
        for key in inputs:
            if key not in accepted:
                hint = _did_you_mean(key, accepted) or f"; it takes {', '.join(sorted(accepted))}"
                problems.append(Problem(f"{path}.{key}", f"unknown input `{key}`{hint}"))
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.is_required() and key not in inputs and name not in inputs:
            about = f": {info.description}" if info.description else ""
            problems.append(Problem(f"{path}.{key}", f"missing required input `{key}`{about}"))
    templated = {key for key, value in inputs.items() if _has_template(value)}
    literal = {key: value for key, value in inputs.items() if key not in templated}
    try:
        model.model_validate(literal)
    except ValidationError as exc:
        problems += _typing_problems(exc, path, templated, accepted)
    return problems


def _typing_problems(
    error: ValidationError, path: str, templated: set[str], accepted: Mapping[str, str]
) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        if item["type"] in ("missing", "extra_forbidden"):
            continue  # reported above with a better message
        if (not loc and templated) or (loc and (loc[0] in templated or loc[0] not in accepted)):
            continue  # depends on a value only known when the run renders it
        message = str(item["msg"]).removeprefix("Value error, ")
        got = f" (got {item['input']!r})" if loc and not isinstance(item["input"], dict) else ""
        where = f"{path}.{format_path(loc)}" if loc else path
        problems.append(Problem(where, f"{message}{got}"))
    return problems


# --- trigger --------------------------------------------------------------------------------


def _check_trigger(
    workflow: Workflow, catalog: Registry, now: datetime, default_timezone: str
) -> list[Problem]:
    trigger = workflow.trigger
    if isinstance(trigger, ScheduleTrigger):
        return _check_schedule(trigger, now, default_timezone)
    if isinstance(trigger, EventTrigger):
        return _check_event(trigger, catalog)
    return []


_NEVER_FIRES = {
    "at": "is in the past, so the workflow would never run; pick a future date-time",
    "cron": "matches no date (e.g. 30 February), so the workflow would never run",
    "rrule": "has no occurrence after now (UNTIL/COUNT already passed or impossible "
    "dates), so the workflow would never run",
}


def _check_schedule(
    trigger: ScheduleTrigger, now: datetime, default_timezone: str
) -> list[Problem]:
    kind = "cron" if trigger.cron is not None else "rrule" if trigger.rrule is not None else "at"
    if trigger.timezone is not None:
        try:
            zone(trigger.timezone)
        except ScheduleError as exc:
            return [Problem("trigger.timezone", str(exc))]
    try:
        fire = next_fire_time(trigger, now, default_timezone)
    except ScheduleError as exc:
        return [Problem(f"trigger.{kind}", str(exc))]
    if fire is None:
        return [Problem(f"trigger.{kind}", f"`{trigger.expression}` {_NEVER_FIRES[kind]}")]
    return []


def _check_event(trigger: EventTrigger, catalog: Registry) -> list[Problem]:
    event = catalog.event(trigger.event)
    if event is None:
        hint = _did_you_mean(trigger.event, catalog.events) or _known_keys(
            trigger.event, catalog.events
        )
        return [Problem("trigger.event", f"unknown event `{trigger.event}`{hint}")]
    problems = [
        Problem(
            path,
            "trigger inputs cannot use templates: they are fixed when the workflow is activated",
        )
        for path, _ in template_strings(trigger.with_, "trigger.with")
    ]
    return problems + _check_inputs(event.config_model, trigger.with_, "trigger.with")


def _known_keys(key: str, keys: Iterable[str]) -> str:
    connector = key.split(".", 1)[0]
    same = sorted(k for k in keys if k.split(".", 1)[0] == connector)
    if same:
        return f"; `{connector}` has {', '.join(same)}"
    return "; run `atom connectors` to see what is available"


# --- steps ----------------------------------------------------------------------------------


def _check_steps(workflow: Workflow, catalog: Registry) -> list[Problem]:
    if not workflow.steps:
        return [Problem("steps", "a workflow needs at least one step")]
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, step in enumerate(workflow.steps):
        if step.id in first_index:
            problems.append(
                Problem(
                    f"steps[{index}].id",
                    f"duplicate step id `{step.id}` (steps[{first_index[step.id]}] has it "
                    "too); give each step its own id",
                )
            )
        first_index.setdefault(step.id, index)
    for index, step in enumerate(workflow.steps):
        problems += _check_step(workflow, catalog, index, step, first_index)
    return problems


def _check_step(
    workflow: Workflow,
    catalog: Registry,
    index: int,
    step: Step,
    first_index: Mapping[str, int],
) -> list[Problem]:
    path = f"steps[{index}]"
    problems: list[Problem] = []
    action = catalog.action(step.action)
    if action is None:
        hint = _did_you_mean(step.action, catalog.actions) or _known_keys(
            step.action, catalog.actions
        )
        problems.append(Problem(f"{path}.action", f"unknown action `{step.action}`{hint}"))
    else:
        problems += _check_inputs(action.input_model, step.with_, f"{path}.with")
    if step.is_approval and step.for_each is not None:
        problems.append(
            Problem(f"{path}.for_each", "an approval step cannot use for_each; ask once instead")
        )
    for where, analysis in _analyses(step, path):
        problems += [Problem(where, error) for error in analysis.errors]
        problems += _check_references(workflow, catalog, index, where, analysis, first_index)
    return problems


def _analyses(step: Step, path: str) -> Iterable[tuple[str, Analysis]]:
    if step.if_ is not None:
        yield f"{path}.if", check_expression(step.if_)
    if isinstance(step.for_each, str):
        yield f"{path}.for_each", check_expression(step.for_each)
    elif isinstance(step.for_each, list):
        for where, text in template_strings(step.for_each, f"{path}.for_each"):
            yield where, check_template(text)
    names = ROOT_NAMES | LOOP_NAMES if step.for_each is not None else ROOT_NAMES
    for where, text in template_strings(step.with_, f"{path}.with"):
        yield where, check_template(text, names)


def _check_references(
    workflow: Workflow,
    catalog: Registry,
    index: int,
    where: str,
    analysis: Analysis,
    first_index: Mapping[str, int],
) -> list[Problem]:
    messages = []
    for reference in dict.fromkeys(analysis.references):
        if reference.root == "trigger":
            message = _trigger_reference_problem(workflow, catalog, reference)
        else:
            message = _step_reference_problem(workflow, catalog, index, reference, first_index)
        if message:
            messages.append(message)
    return [Problem(where, message) for message in dict.fromkeys(messages)]


def _step_reference_problem(
    workflow: Workflow,
    catalog: Registry,
    index: int,
    reference: Reference,
    first_index: Mapping[str, int],
) -> str | None:
    target = first_index.get(reference.name)
    if target is None:
        hint = _did_you_mean(reference.name, first_index)
        return f"`steps.{reference.name}`: there is no step with id `{reference.name}`{hint}"
    if target == index:
        return f"`steps.{reference.name}` is this step's own output, which does not exist yet"
    if target > index:
        return (
            f"`steps.{reference.name}` is used before step `{reference.name}` runs "
            f"(it is steps[{target}]); move it earlier or refer to an earlier step"
        )
    if reference.field is None:
        return None
    return _output_field_problem(workflow.steps[target], catalog, reference.field)


def _output_field_problem(source: Step, catalog: Registry, field: str) -> str | None:
    action = catalog.action(source.action)
    if action is None or source.for_each is not None or field in METHOD_NAMES:
        return None
    model = action.output_model
    if model.model_config.get("extra") == "allow":
        return None
    fields = _accepted_inputs(model)
    if field in fields:
        return None
    hint = _did_you_mean(field, fields) or f"; it has {', '.join(sorted(fields)) or 'no fields'}"
    return f"step `{source.id}` ({source.action}) has no output `{field}`{hint}"


def _trigger_reference_problem(
    workflow: Workflow, catalog: Registry, reference: Reference
) -> str | None:
    trigger = workflow.trigger
    if not isinstance(trigger, EventTrigger) or reference.name in METHOD_NAMES:
        return None
    event = catalog.event(trigger.event)
    if event is None or event.payload_model.model_config.get("extra") == "allow":
        return None
    fields = _accepted_inputs(event.payload_model)
    if reference.name in fields:
        return None
    hint = _did_you_mean(reference.name, fields) or f"; it has {', '.join(sorted(fields))}"
    return f"the `{trigger.event}` event has no field `trigger.{reference.name}`{hint}"
