"""What each connector's test module under tests/connectors/cases/ declares so the
contract test (tests/connectors/test_contract.py) can exercise every action uniformly.

A module `tests/connectors/cases/<connector>.py` exports:

    CASES: list[ActionCase]   # at least one per action of the connector
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.emulator import Emulator


@dataclass
class ActionCase:
    action: str  # "github.create_issue"
    valid: dict[str, Any]  # inputs that succeed against a freshly seeded emulator
    invalid: dict[str, Any]  # inputs the service rejects -> InvalidInput
    seed: Callable[[Emulator], None] | None = None  # state the valid input needs
    notes: str = field(default="")
