"""Gmail: send e-mail, save drafts; trigger on new mail matching a Gmail search (polled).

API: https://developers.google.com/workspace/gmail/api/reference/rest — messages are
RFC 2822 text built with the stdlib `email` package, sent base64url-encoded as `raw`.
Gmail fills in the From header (the connected account) and the Message-ID.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from pydantic import BaseModel, Field, field_validator

from connectors.base import ActionContext, EventItem, PollResult
from connectors.cursors import TimeCursor
from connectors.google import (
    GMAIL_COMPOSE,
    GMAIL_READONLY,
    GMAIL_SEND,
    MAX_POLL_PAGES,
    AddressList,
    google_connector,
    list_pages,
    segment,
)

connector = google_connector(
    name="gmail",
    title="Gmail",
    description="Send e-mail and save drafts from the user's Gmail; react to new mail.",
    base_url_setting="gmail_base_url",
)

MAILBOX = "/gmail/v1/users/me"
LIST_PAGE_SIZE = 100
METADATA_HEADERS = ("From", "To", "Subject", "Date")


# --- models --------------------------------------------------------------------------


class EmailInput(BaseModel):
    to: AddressList = Field(
        min_length=1, description="Recipients: a list, or one comma-separated string."
    )
    subject: str = Field("", description="Subject line (any language).")
    body: str = Field("", description="Plain-text body.")
    html: str | None = Field(
        None, description="HTML body, sent as an alternative to the plain-text body."
    )
    cc: AddressList = Field(default_factory=list, description="Cc recipients.")
    bcc: AddressList = Field(default_factory=list, description="Bcc recipients (hidden).")
    reply_to: str | None = Field(None, description="Reply-To address.")

    @field_validator("subject")
    @classmethod
    def _single_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("must be a single line")
        return value

    @field_validator("to", "cc", "bcc")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            check_address(address)
        return value

    @field_validator("reply_to")
    @classmethod
    def _reply_address(cls, value: str | None) -> str | None:
        if value is not None:
            check_address(value)
        return value


class SentEmailOutput(BaseModel):
    id: str = Field(description="Gmail message id.")
    thread_id: str
    label_ids: list[str] = Field(default_factory=list)


class DraftOutput(BaseModel):
    id: str = Field(description="Gmail draft id.")
    message_id: str
    thread_id: str


class EmailReceivedConfig(BaseModel):
    query: str = Field(
        "",
        description="Gmail search, e.g. 'from:boss@example.com' or 'is:important "
        "subject:invoice'. Empty: every new message.",
    )


class EmailPayload(BaseModel):
    id: str = Field(description="Gmail message id.")
    thread_id: str
    sender: str = Field("", description="The From header.")
    to: str = Field("", description="The To header.")
    subject: str = ""
    snippet: str = Field("", description="The start of the text, as Gmail shows it.")
    received_at: datetime = Field(description="When Gmail received the message.")
    labels: list[str] = Field(default_factory=list)


# --- helpers -------------------------------------------------------------------------


def check_address(text: str) -> None:
    """Reject what cannot be an address header entry ("bob", "a@b\nBcc: …"); whether the
    mailbox exists or the domain is acceptable is Gmail's call."""
    try:
        header = policy.SMTP.header_factory("To", text)
    except (IndexError, ValueError, HeaderParseError) as exc:  # the stdlib parser can raise
        raise ValueError(f"{text!r} is not an e-mail address") from exc
    addresses = getattr(header, "addresses", ())
    if header.defects or len(addresses) != 1 or not addresses[0].domain:
        raise ValueError(f"{text!r} is not an e-mail address")


def build_message(data: EmailInput) -> EmailMessage:
    """An RFC 2822 message; the SMTP policy gives CRLF line ends and RFC 2047 encoded
    non-ASCII headers."""
    message = EmailMessage(policy=policy.SMTP)
    message["To"] = ", ".join(data.to)
    if data.cc:
        message["Cc"] = ", ".join(data.cc)
    if data.bcc:
        message["Bcc"] = ", ".join(data.bcc)
    if data.reply_to:
        message["Reply-To"] = data.reply_to
    message["Subject"] = data.subject
    message["Date"] = formatdate(usegmt=True)
    message.set_content(data.body, charset="utf-8")
    if data.html is not None:
        message.add_alternative(data.html, subtype="html", charset="utf-8")
    return message


def raw_message(data: EmailInput) -> str:
    """The message as Gmail's `raw` field: base64url of the RFC 2822 bytes."""
    return base64.urlsafe_b64encode(build_message(data).as_bytes()).decode("ascii")


def _header(message: dict[str, Any], name: str) -> str:
    for header in message.get("payload", {}).get("headers", []):
        if header.get("name", "").lower() == name.lower():
            return str(header.get("value", ""))
    return ""


def received_at(message: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(message["internalDate"]) / 1000, UTC)


def email_payload(message: dict[str, Any]) -> EmailPayload:
    return EmailPayload(
        id=message["id"],
        thread_id=message.get("threadId", ""),
        sender=_header(message, "From"),
        to=_header(message, "To"),
        subject=_header(message, "Subject"),
        snippet=message.get("snippet", ""),
        received_at=received_at(message),
        labels=message.get("labelIds", []),
    )


def search_since(query: str, since: datetime) -> str:
    """`query` limited to mail from `since` on. `after:` takes epoch seconds; one second
    of slack keeps the boundary second whatever Gmail's rounding (the cursor filters)."""
    after = f"after:{int(since.timestamp()) - 1}"
    return f"({query}) {after}" if query.strip() else after


# --- actions -------------------------------------------------------------------------


@connector.action(scopes=(GMAIL_SEND,), idempotent=False)
async def send_email(ctx: ActionContext, data: EmailInput) -> SentEmailOutput:
    """Send an e-mail from the user's Gmail account."""
    sent = await ctx.http.json(
        "POST",
        f"{MAILBOX}/messages/send",
        idempotent=False,
        json={"raw": raw_message(data)},
    )
    return SentEmailOutput(
        id=sent["id"], thread_id=sent.get("threadId", ""), label_ids=sent.get("labelIds", [])
    )


@connector.action(scopes=(GMAIL_COMPOSE,), idempotent=False)
async def create_draft(ctx: ActionContext, data: EmailInput) -> DraftOutput:
    """Save an e-mail as a draft in the user's Gmail, for them to review and send."""
    draft = await ctx.http.json(
        "POST",
        f"{MAILBOX}/drafts",
        idempotent=False,
        json={"message": {"raw": raw_message(data)}},
    )
    message = draft.get("message", {})
    return DraftOutput(
        id=draft["id"], message_id=message.get("id", ""), thread_id=message.get("threadId", "")
    )


# --- events --------------------------------------------------------------------------


async def poll_received_email(ctx: ActionContext, config: Any, cursor: str | None) -> PollResult:
    """Messages matching the search that arrived since the cursor, oldest first."""
    if cursor is None:
        return PollResult(items=[], cursor=TimeCursor.start().encode())
    settings = EmailReceivedConfig.model_validate(config)
    position = TimeCursor.decode(cursor)
    listed = await list_pages(
        ctx.http,
        f"{MAILBOX}/messages",
        {"q": search_since(settings.query, position.since), "maxResults": LIST_PAGE_SIZE},
        items_key="messages",
        limit=LIST_PAGE_SIZE * MAX_POLL_PAGES,
    )
    fetched = [
        await ctx.http.json(
            "GET",
            f"{MAILBOX}/messages/{segment(item['id'])}",
            idempotent=True,
            params={"format": "metadata", "metadataHeaders": list(METADATA_HEADERS)},
        )
        for item in listed
        if item["id"] not in position.seen
    ]
    new, advanced = position.take(fetched, lambda m: m["id"], received_at)
    return PollResult(
        items=[
            EventItem(id=m["id"], payload=email_payload(m).model_dump(mode="json")) for m in new
        ],
        cursor=advanced.encode(),
    )


connector.event(
    name="email_received",
    description="A new e-mail matching a Gmail search arrives in the user's mailbox.",
    config_model=EmailReceivedConfig,
    payload_model=EmailPayload,
    poll=poll_received_email,
    occurred_at="received_at",
    scopes=(GMAIL_READONLY,),
    sample={
        "id": "18c3f2a9b4d7e601",
        "thread_id": "18c3f2a9b4d7e601",
        "sender": "Dana Boss <dana@example.com>",
        "to": "alice@example.com",
        "subject": "Quarterly numbers due Friday",
        "snippet": "Hi Alice, please send me the Q4 figures by Friday noon so I can "
        "prepare the board deck.",
        "received_at": "2026-12-04T07:42:00Z",
        "labels": ["INBOX", "IMPORTANT", "UNREAD"],
    },
)
