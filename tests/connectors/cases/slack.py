from sandbox.emulator import Emulator
from tests.connectors.contract_case import ActionCase

SEEDED_TS = "1700000000.000001"


def seed_message(emulator: Emulator) -> None:
    """A message in #dev for reactions to land on."""
    channel = emulator.channel_by_name("dev")  # type: ignore[attr-defined]
    channel.messages.append(
        {"type": "message", "user": "U0ALICE001", "text": "shipped", "ts": SEEDED_TS}
    )


CASES = [
    ActionCase(
        "slack.post_message",
        {"channel": "#dev", "text": "Deploy finished"},
        {"channel": "#dev", "text": "x" * 40_001},
    ),
    ActionCase(
        "slack.send_dm",
        {"user": "bob@example.com", "text": "Hi Bob"},
        {"user": "U0BOB00001", "text": "y" * 40_001},
    ),
    ActionCase(
        "slack.add_reaction",
        {"channel": "#dev", "timestamp": SEEDED_TS, "name": "tada"},
        {"channel": "#dev", "timestamp": SEEDED_TS, "name": "not-an-emoji"},
        seed=seed_message,
    ),
]
