"""The connector contract, run over every registered connector.

Every connector declares a title, an auth spec, a base URL setting (ATOM_<SETTING>) and
has a sandbox emulator; every action has typed models, a one-line description, scopes
and an idempotency flag; every event has a config and payload model and a way to be
delivered. Every action has at least one case in tests/connectors/cases/<connector>.py
and, against a freshly seeded emulator, succeeds with the case's valid input and fails
with InvalidInput — after the service itself rejected it — with the invalid one.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel

from cli.main import main
from connectors.base import (
    ActionContext,
    Connector,
    InvalidInput,
    NoAuth,
    OAuth2Auth,
    TokenAuth,
)
from connectors.registry import load_registry
from core.settings import Settings
from sandbox.emulator import Emulator
from sandbox.services import EMULATORS, emulator_class
from tests.connectors.contract_case import ActionCase, connector_context

REGISTRY = load_registry()
CONNECTORS = sorted(REGISTRY.connectors)
ACTIONS = sorted(REGISTRY.actions)
EVENTS = sorted(REGISTRY.events)


def load_cases() -> list[ActionCase]:
    cases: list[ActionCase] = []
    for name in CONNECTORS:
        module_name = f"tests.connectors.cases.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # reported by test_every_action_has_a_case
        cases.extend(module.CASES)
    return cases


CASES = load_cases()


def case_id(case: ActionCase) -> str:
    index = [c for c in CASES if c.action == case.action].index(case)
    return f"{case.action}[{index}]"


@pytest.mark.parametrize("name", CONNECTORS)
def test_connector_declares_title_auth_and_base_url(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = REGISTRY.connectors[name]
    assert connector.title.strip(), f"{name}: no title"
    assert isinstance(connector.auth, NoAuth | OAuth2Auth | TokenAuth), f"{name}: no auth spec"
    for setting in _auth_settings(connector):
        assert setting in Settings.model_fields, (
            f"{name}: auth setting {setting!r} is not a setting"
        )
    if isinstance(connector.auth, OAuth2Auth):
        assert connector.auth.authorize_url.startswith("https://")
        assert connector.auth.token_url.startswith("https://")
    setting = connector.base_url_setting
    assert setting in Settings.model_fields, f"{name}: base URL setting {setting!r} is missing"
    monkeypatch.setenv(f"ATOM_{setting.upper()}", "http://127.0.0.1:9/configured")
    assert getattr(Settings(_env_file=None), setting) == "http://127.0.0.1:9/configured"


@pytest.mark.parametrize("name", CONNECTORS)
def test_connector_has_an_emulator_that_points_it_at_itself(name: str) -> None:
    assert name in EMULATORS, f"{name}: no emulator registered in sandbox/services.py"
    with emulator_class(name)() as emulator:
        overrides = emulator.settings_overrides()
        assert overrides.get(REGISTRY.connectors[name].base_url_setting, "").startswith(
            emulator.url
        )


@pytest.mark.parametrize("key", ACTIONS)
def test_action_declaration(key: str) -> None:
    action = REGISTRY.actions[key]
    connector = REGISTRY.connectors[action.connector]
    assert issubclass(action.input_model, BaseModel)
    assert issubclass(action.output_model, BaseModel)
    action.input_model.model_json_schema()
    action.output_model.model_json_schema()
    assert action.description.strip(), f"{key}: no description (the docstring's first line)"
    assert "\n" not in action.description
    assert isinstance(action.idempotent, bool)
    assert isinstance(action.scopes, tuple)
    assert all(isinstance(scope, str) and scope for scope in action.scopes)
    if not isinstance(connector.auth, NoAuth):
        assert action.scopes, f"{key}: an authorised action must declare its scopes"


@pytest.mark.parametrize("key", EVENTS)
def test_event_declaration(key: str) -> None:
    event = REGISTRY.events[key]
    assert event.description.strip()
    assert issubclass(event.config_model, BaseModel)
    assert issubclass(event.payload_model, BaseModel)
    event.config_model.model_json_schema()
    event.payload_model.model_json_schema()
    assert event.poll is not None or event.webhook is not None, f"{key}: no delivery"


@pytest.mark.parametrize("key", EVENTS)
def test_event_sample_is_a_valid_payload(key: str) -> None:
    """`atom execute --sandbox` and `atom events sample` hand this to a workflow."""
    event = REGISTRY.events[key]
    assert event.sample, f"{key}: declare a realistic sample payload"
    parsed = event.payload_model.model_validate(event.sample)
    assert parsed.model_dump(mode="json", exclude_unset=True) == event.sample


@pytest.mark.parametrize("key", [k for k, e in REGISTRY.events.items() if e.occurred_at])
def test_event_time_field_is_an_aware_time_in_the_sample(key: str) -> None:
    """`occurred_at` is what a run's `now` reads: it must name an ISO time with an offset."""
    event = REGISTRY.events[key]
    assert event.occurred_at is not None and event.sample is not None
    value: Any = event.sample
    for part in event.occurred_at.split("."):
        value = value[part]
    assert datetime.fromisoformat(value).tzinfo is not None


def test_every_action_has_a_case() -> None:
    covered = {case.action for case in CASES}
    missing = sorted(set(ACTIONS) - covered)
    assert not missing, f"actions without a case in tests/connectors/cases/: {missing}"
    unknown = sorted(covered - set(ACTIONS))
    assert not unknown, f"cases for actions that are not registered: {unknown}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_action_against_its_emulator(case: ActionCase) -> None:
    action = REGISTRY.actions[case.action]
    async with sandboxed(action.connector, case) as (emulator, ctx):
        with pytest.raises(InvalidInput) as rejected:
            await action.run(ctx, case.invalid)
        assert str(rejected.value).strip(), f"{case.action}: InvalidInput without a message"
        assert emulator.received(), f"{case.action}: rejected before the service saw it"

        output = await action.run(ctx, case.valid)
        assert isinstance(output, action.output_model)


@asynccontextmanager
async def sandboxed(
    connector_name: str, case: ActionCase
) -> AsyncIterator[tuple[Emulator, ActionContext]]:
    """A fresh, seeded emulator and an ActionContext pointed at it."""
    with emulator_class(connector_name)() as emulator:
        if case.seed is not None:
            case.seed(emulator)
        async with connector_context(REGISTRY.connectors[connector_name], emulator) as ctx:
            yield emulator, ctx


def _auth_settings(connector: Connector) -> list[str]:
    auth = connector.auth
    if isinstance(auth, OAuth2Auth):
        return [s for s in (auth.client_id_setting, auth.client_secret_setting) if s]
    if isinstance(auth, TokenAuth):
        return [auth.api_key_setting]
    return []


def test_atom_connectors_prints_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors"]) == 0
    text = capsys.readouterr().out
    for key, action in REGISTRY.actions.items():
        assert f"{key} — {action.description}" in text
        for name in action.input_model.model_json_schema().get("required", []):
            assert f"        {name} (" in text, f"{key}: input {name!r} not listed"
    for key in REGISTRY.events:
        assert f"    {key} — " in text
    assert main(["connectors", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(REGISTRY.catalog()))


def test_atom_connectors_names_an_unknown_connector(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", "nope"]) == 1
    assert "no connector named 'nope'" in capsys.readouterr().err
