"""Contract case for the generic HTTP connector, against the echo emulator's /items
resource (relative URLs resolve against ATOM_HTTP_BASE_URL, set to the emulator)."""

from tests.connectors.contract_case import ActionCase

CASES = [
    ActionCase(
        "http.request",
        {"method": "POST", "url": "/items", "body": {"name": "Widget", "tags": ["new"]}},
        {"method": "POST", "url": "/items", "body": {"tags": ["nameless"]}},
        notes="the target answers 400 with its own message for an item without a name",
    ),
]
