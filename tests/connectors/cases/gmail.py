"""Contract cases for Gmail: the sandbox user's mailbox (empty)."""

from tests.connectors.contract_case import ActionCase

CASES = [
    ActionCase(
        "gmail.send_email",
        {"to": ["bob@example.com"], "subject": "Weekly report", "body": "All green."},
        {"to": ["bob@example"], "subject": "Weekly report", "body": "All green."},
        notes="Gmail answers 400 'Invalid To header' (a domain without a dot)",
    ),
    ActionCase(
        "gmail.create_draft",
        {"to": "bob@example.com, Carol <carol@example.com>", "subject": "Draft", "body": "…"},
        {"to": ["carol@example.com"], "cc": ["carol@localhost"], "subject": "Draft"},
        notes="Gmail answers 400 'Invalid Cc header'",
    ),
]
