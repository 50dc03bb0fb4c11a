"""What a workflow's steps can destroy, in words a plan shows in bold: "Overwrites
/report.pdf if it exists", "Deletes calendar event ‹event id›".

The words come from the actions' own declarations (`Action.destroys`), so a new
connector's overwriting or deleting action is warned about without a change here.
"""

from __future__ import annotations

from typing import Any

from connectors.base import Action, Destroys
from connectors.registry import Registry
from workflows.model import Step
from workflows.planning.words import TEMPLATE, readable


def _input(step: Step, action: Action, name: str) -> Any:
    if name in step.with_:
        return step.with_[name]
    field = action.input_model.model_fields.get(name)
    return None if field is None else field.get_default(call_default_factory=True)


def _applies(destroys: Destroys, step: Step, action: Action) -> bool:
    """Whether the step's inputs make the action destroy: a template value is decided
    only at run time, so it counts as "may"."""
    for name, value in destroys.when:
        given = _input(step, action, name)
        if not (isinstance(given, str) and TEMPLATE.search(given)) and given != value:
            return False
    return True


def _words(destroys: Destroys, step: Step, action: Action) -> str:
    target = _input(step, action, destroys.target)
    named = readable(target) if target not in (None, "", []) else "?"
    what = f"{destroys.thing} {named}" if destroys.thing else named
    if destroys.effect == "deletes":
        return f"Deletes {what}"
    return f"Overwrites {what} if it exists"


def step_hazards(step: Step, catalog: Registry) -> list[str]:
    """What `step` can overwrite or delete, one phrase each; [] when nothing."""
    action = catalog.action(step.action)
    if action is None:
        return []
    return [_words(d, step, action) for d in action.destroys if _applies(d, step, action)]


def bold_hazards(step: Step, catalog: Registry) -> str:
    """The step's hazards in Slack bold ("*Overwrites /a.txt if it exists*"), or ""."""
    return "; ".join(f"*{hazard}*" for hazard in step_hazards(step, catalog))
