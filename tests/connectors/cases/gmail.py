"""Contract cases for Gmail: the sandbox user's mailbox, with an invoice e-mail (a PDF
attached) for the actions that read one."""

from sandbox.emulator import Emulator
from sandbox.google import GmailEmulator
from tests.connectors.contract_case import ActionCase


def seed_invoice(emulator: Emulator) -> None:
    assert isinstance(emulator, GmailEmulator)
    emulator.deliver(
        sender="billing@example.com",
        subject="Invoice 1042",
        body="Attached.",
        attachments=[("invoice-1042.pdf", "application/pdf", b"%PDF-1.4 invoice")],
    )


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
    ActionCase(
        "gmail.get_email",
        {"query": "subject:Invoice"},
        {"id": "not-a-message-id"},
        seed=seed_invoice,
        notes="Gmail answers 400 'Invalid id value'",
    ),
    ActionCase(
        "gmail.forward_email",
        {"query": "subject:Invoice", "to": "bob@example.com"},
        {"query": "subject:Invoice", "to": "bob@example"},
        seed=seed_invoice,
        notes="Gmail answers 400 'Invalid To header'",
    ),
    ActionCase(
        "gmail.save_attachments",
        {"query": "has:attachment"},
        {"id": "not-a-message-id"},
        seed=seed_invoice,
        notes="Gmail answers 400 'Invalid id value'",
    ),
]
