"""The Gmail connector against its emulator, with what it sends and what the emulator
answers checked against Gmail's discovery document."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import (
    ActionContext,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from connectors.gmail import EmailInput, EmailReceivedConfig, connector, poll_received_email
from connectors.google import GMAIL_SEND
from sandbox.google import GmailEmulator, MailMessage, gmail_search
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response, validate_schema

SEND = "/gmail/v1/users/me/messages/send"
DRAFTS = "/gmail/v1/users/me/drafts"
MESSAGES = "/gmail/v1/users/me/messages"


@pytest.fixture
def gmail() -> Iterator[GmailEmulator]:
    with GmailEmulator() as emulator:
        yield emulator


@pytest.fixture
async def ctx(gmail: GmailEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, gmail) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: object):
    return await connector.actions[action].run(ctx, inputs)


# --- send_email and create_draft ---------------------------------------------------------


async def test_send_email_sends_an_rfc_2822_message(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    out = await run(
        ctx,
        "send_email",
        to="Bob <bob@example.com>, carol@example.com",
        cc=["dave@example.com"],
        bcc=["erin@example.com"],
        subject="Grüße aus Köln",
        body="Hallo zusammen,\nalles grün.",
        html="<p>Hallo zusammen, alles <b>grün</b>.</p>",
    )
    [mail] = gmail.sent
    assert out.id == mail.id and out.label_ids == ["SENT"]
    assert mail.headers["Subject"] == "Grüße aus Köln"
    assert mail.addresses("To") == ["bob@example.com", "carol@example.com"]
    assert mail.addresses("Cc") == ["dave@example.com"]
    assert mail.addresses("Bcc") == ["erin@example.com"]
    assert mail.headers["From"] == "sandbox-user@example.com"  # Gmail fills it in
    assert mail.text == "Hallo zusammen,\nalles grün.\n"
    assert mail.html == "<p>Hallo zusammen, alles <b>grün</b>.</p>\n"

    request = gmail.received(SEND, "POST")[-1]
    assert_request_matches("gmail", request)
    raw = request.json()["raw"]
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    source = base64.urlsafe_b64decode(raw)
    assert b"Subject: =?utf-8?" in source  # RFC 2047: headers stay ASCII
    assert b"\r\n" in source and b"\n" not in source.replace(b"\r\n", b"")


async def test_send_and_draft_responses_match_the_discovery_document(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    sent = await run(ctx, "send_email", to=["bob@example.com"], subject="Hi", body="x")
    draft = await run(ctx, "create_draft", to="bob@example.com", subject="Later", body="y")
    token = gmail.issue_token()["access_token"]
    async with httpx.AsyncClient(
        base_url=gmail.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for fmt in ("full", "metadata", "raw", "minimal"):
            got = await client.get(f"{MESSAGES}/{sent.id}", params={"format": fmt})
            validate_response("gmail", f"{MESSAGES}/{sent.id}", "GET", 200, got.json())
        listed = await client.get(MESSAGES)
    validate_response("gmail", MESSAGES, "GET", 200, listed.json())
    assert {m["id"] for m in listed.json()["messages"]} == {sent.id, draft.message_id}

    stored = gmail.drafts[draft.id]
    assert stored.labels == ["DRAFT"] and stored.headers["Subject"] == "Later"
    request = gmail.received(DRAFTS, "POST")[-1]
    assert_request_matches("gmail", request)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"to": ["bob@example"]}, "Invalid To header"),
        ({"to": ["bob@example.com"], "cc": ["carol@localhost"]}, "Invalid Cc header"),
    ],
)
async def test_gmail_rejects_addresses_it_cannot_deliver_to(
    ctx: ActionContext, inputs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await run(ctx, "send_email", subject="x", body="y", **inputs)


@pytest.mark.parametrize(
    "inputs",
    [
        {"to": []},
        {"to": ["bob"]},
        {"to": ["bob@"]},
        {"to": ["a@example.com\nBcc: spy@example.com"]},
        {"to": ["a@example.com"], "subject": "hi\nBcc: spy@example.com"},
    ],
)
def test_malformed_addresses_and_header_injection_are_refused_locally(
    inputs: dict[str, object],
) -> None:
    with pytest.raises(ValidationError):
        EmailInput.model_validate(inputs)


async def test_the_emulator_checks_the_raw_message(gmail: GmailEmulator) -> None:
    token = gmail.issue_token()["access_token"]
    async with httpx.AsyncClient(
        base_url=gmail.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        missing = await client.post(SEND, json={})
        garbled = await client.post(SEND, json={"raw": "not base64!"})
        no_recipient = base64.urlsafe_b64encode(b"Subject: hi\r\n\r\nbody").decode()
        unaddressed = await client.post(SEND, json={"raw": no_recipient})
    assert missing.json()["error"]["message"].startswith("'raw' RFC822 payload message")
    assert garbled.status_code == 400
    assert unaddressed.json()["error"]["message"] == "Recipient address required"
    assert unaddressed.json()["error"]["errors"][0]["reason"] == "invalidArgument"


async def test_sending_needs_a_send_scope(gmail: GmailEmulator) -> None:
    async with connector_context(connector, gmail, scopes={GMAIL_SEND}) as ctx:
        await run(ctx, "send_email", to=["bob@example.com"], subject="ok", body="ok")
        with pytest.raises(PermissionDenied, match="insufficient authentication scopes"):
            await run(ctx, "create_draft", to=["bob@example.com"], subject="no", body="no")
    assert len(gmail.sent) == 1 and not gmail.drafts


# --- email_received ------------------------------------------------------------------------


async def test_email_received_matches_the_search_from_now_on(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    gmail.deliver(
        sender="boss@example.com", subject="old", received_at=datetime.now(UTC) - timedelta(hours=1)
    )
    config = EmailReceivedConfig(query="from:boss@example.com")
    first = await poll_received_email(ctx, config, None)
    assert first.items == []

    wanted = gmail.deliver(
        sender="Boss <boss@example.com>", subject="Q3 numbers", body="See attached."
    )
    gmail.deliver(sender="newsletter@example.com", subject="Deals")
    second = await poll_received_email(ctx, config, first.cursor)
    assert [item.id for item in second.items] == [wanted.id]
    payload = second.items[0].payload
    assert payload["sender"] == "Boss <boss@example.com>"
    assert payload["subject"] == "Q3 numbers"
    assert payload["snippet"] == "See attached."
    assert payload["labels"] == ["INBOX", "UNREAD"]

    third = await poll_received_email(ctx, config, second.cursor)
    assert third.items == []
    listing = gmail.received(MESSAGES, "GET")[-1]
    assert listing.query["q"].startswith("(from:boss@example.com) after:")
    fetch = gmail.received(f"{MESSAGES}/{wanted.id}", "GET")[-1]
    assert fetch.query["format"] == "metadata"
    for request in (listing, fetch):
        assert_request_matches("gmail", request)


async def test_email_received_reports_several_messages_oldest_first(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    config = EmailReceivedConfig(query="is:important")
    cursor = (await poll_received_email(ctx, config, None)).cursor
    now = datetime.now(UTC)
    later = gmail.deliver(
        sender="a@example.com",
        labels=["INBOX", "IMPORTANT"],
        received_at=now + timedelta(seconds=2),
    )
    earlier = gmail.deliver(
        sender="b@example.com",
        labels=["INBOX", "IMPORTANT"],
        received_at=now + timedelta(seconds=1),
    )
    gmail.deliver(sender="c@example.com", labels=["INBOX"], received_at=now + timedelta(seconds=1))
    result = await poll_received_email(ctx, config, cursor)
    assert [item.id for item in result.items] == [earlier.id, later.id]


def message(**headers: str) -> MailMessage:
    source = "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\nbody text"
    return MailMessage(
        id="m1",
        thread_id="m1",
        raw=source.encode(),
        labels=["INBOX", "UNREAD"],
        internal_date=datetime(2030, 1, 2, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("from:alice", True),
        ("from:bob", False),
        ("from:bob OR subject:invoice", True),
        ("-from:alice", False),
        ("(from:bob OR from:carol) subject:invoice", False),
        ("is:unread in:inbox", True),
        ("is:read", False),
        ("after:2030/01/01 before:2030/01/03", True),
        (f"after:{int(datetime(2030, 1, 3, tzinfo=UTC).timestamp())}", False),
        ('subject:"march invoice"', True),
        ("body", True),
        ("label:work", False),
    ],
)
def test_the_emulator_understands_gmail_search(query: str, matches: bool) -> None:
    mail = message(From="Alice <alice@example.com>", To="me@example.com", Subject="March invoice")
    assert gmail_search(query)(mail) is matches


async def test_the_metadata_scope_cannot_search(gmail: GmailEmulator) -> None:
    token = gmail.issue_token(scopes={"https://www.googleapis.com/auth/gmail.metadata"})
    async with httpx.AsyncClient(base_url=gmail.url) as client:
        response = await client.get(
            MESSAGES,
            params={"q": "from:x"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Metadata scope does not support 'q' parameter"


def test_seeded_messages_match_the_message_schema(gmail: GmailEmulator) -> None:
    mail = gmail.deliver(sender="a@example.com", subject="s", body="b")
    for fmt in ("full", "metadata", "raw", "minimal"):
        validate_schema("gmail", "Message", mail.resource(fmt))


# --- reading, forwarding and saving attachments --------------------------------------------

INVOICE = bytes(range(256)) * 4  # binary, not text


def deliver_invoice(gmail: GmailEmulator) -> MailMessage:
    return gmail.deliver(
        sender="Billing <billing@example.com>",
        subject="Invoice 1042",
        body="Hi,\nthe invoice is attached.\n",
        attachments=[
            ("invoice-1042.pdf", "application/pdf", INVOICE),
            ("terms.txt", "text/plain", b"Pay within 30 days."),
        ],
    )


async def test_get_email_by_id_or_search_reads_text_and_attachment_names(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    gmail.deliver(sender="alice@example.com", subject="Lunch?", body="12:30?")
    invoice = deliver_invoice(gmail)
    by_id = await run(ctx, "get_email", id=invoice.id)
    by_search = await run(ctx, "get_email", query="from:billing has:attachment")
    assert by_id == by_search
    assert (by_id.sender, by_id.subject, by_id.text) == (
        "Billing <billing@example.com>",
        "Invoice 1042",
        "Hi,\nthe invoice is attached.\n",
    )
    assert [(a.name, a.mime_type, a.size) for a in by_id.attachments] == [
        ("invoice-1042.pdf", "application/pdf", len(INVOICE)),
        ("terms.txt", "text/plain", 19),
    ]
    with pytest.raises(NotFound, match="No email in Gmail matches “from:nobody”"):
        await run(ctx, "get_email", query="from:nobody")


async def test_forward_sends_fwd_with_the_original_quoted_and_its_attachments(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    invoice = deliver_invoice(gmail)
    original = invoice.raw
    out = await run(
        ctx, "forward_email", id=invoice.id, to="bob@example.com", note="FYI, please pay."
    )
    sent = gmail.messages[out.id]
    assert sent.addresses("To") == ["bob@example.com"]
    assert sent.headers["Subject"] == "Fwd: Invoice 1042"
    assert sent.text.startswith("FYI, please pay.\n\n---------- Forwarded message ---------\n")
    assert "From: Billing <billing@example.com>" in sent.text
    assert "the invoice is attached." in sent.text
    attached = {
        p.get_filename(): p.get_payload(decode=True) for p in sent.parsed.iter_attachments()
    }
    assert attached == {"invoice-1042.pdf": INVOICE, "terms.txt": b"Pay within 30 days."}
    assert gmail.messages[invoice.id].raw == original  # the original is untouched
    request = gmail.received(SEND, "POST")[-1]
    assert_request_matches("gmail", request)


async def test_save_attachments_stores_each_one_for_later_steps(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    invoice = deliver_invoice(gmail)
    out = await run(ctx, "save_attachments", id=invoice.id)
    assert out.count == 2 and out.message_id == invoice.id
    store = ctx.artifact_store()
    assert [(f.name, store.read(f.file)) for f in out.files] == [
        ("invoice-1042.pdf", INVOICE),
        ("terms.txt", b"Pay within 30 days."),
    ]
    fetched = [r.path for r in gmail.received() if "/attachments/" in r.path]
    assert len(fetched) == 2  # one messages.attachments.get per attachment


async def test_an_email_without_attachments_saves_none(
    gmail: GmailEmulator, ctx: ActionContext
) -> None:
    plain = gmail.deliver(sender="alice@example.com", subject="Hi", body="no files")
    out = await run(ctx, "save_attachments", id=plain.id)
    assert (out.count, out.files) == (0, [])


async def test_attachments_over_the_limit_are_refused_before_fetching(
    gmail: GmailEmulator,
) -> None:
    invoice = deliver_invoice(gmail)
    async with connector_context(connector, gmail, artifact_max_bytes=100) as small:
        with pytest.raises(InvalidInput, match=r"invoice-1042\.pdf is larger than the 100 bytes"):
            await run(small, "save_attachments", id=invoice.id)
    assert not [r for r in gmail.received() if "/attachments/" in r.path]


def test_attachment_wire_format(gmail: GmailEmulator) -> None:
    invoice = deliver_invoice(gmail)
    token = gmail.issue_token()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    full = httpx.get(f"{gmail.url}{MESSAGES}/{invoice.id}", headers=headers).json()
    validate_schema("gmail", "Message", full)
    pdf = full["payload"]["parts"][1]
    assert pdf["filename"] == "invoice-1042.pdf" and "data" not in pdf["body"]
    url = f"{gmail.url}{MESSAGES}/{invoice.id}/attachments/{pdf['body']['attachmentId']}"
    body = httpx.get(url, headers=headers).json()
    validate_schema("gmail", "MessagePartBody", body)
    assert base64.urlsafe_b64decode(body["data"]) == INVOICE and body["size"] == len(INVOICE)
    assert httpx.get(f"{gmail.url}{MESSAGES}/zz!", headers=headers).status_code == 400
