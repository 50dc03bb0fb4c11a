"""Gmail: send, forward and read e-mail, save drafts and attachments; trigger on new
mail matching a Gmail search (polled).

API: https://developers.google.com/workspace/gmail/api/reference/rest — messages are
RFC 2822 text built with the stdlib `email` package, sent base64url-encoded as `raw`.
Gmail fills in the From header (the connected account) and the Message-ID.

Reading actions take a message by `id` (the trigger's `{{ trigger.id }}`) or the newest
one matching a Gmail search. A forward is a new message: "Fwd: <subject>", the original
headers and text quoted below the note, the original attachments attached again.
Attachments are fetched one by one (messages.attachments.get) into the artifact store,
so a later step uploads each (`for_each` over `files`).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate
from typing import Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from connectors.base import ActionContext, EventItem, NotFound, PollResult
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


class MessageInput(BaseModel):
    id: str | None = Field(None, description='The message id, e.g. "{{ trigger.id }}".')
    query: str | None = Field(
        None,
        description="Or a Gmail search; the newest message matching it is used, e.g. "
        "'from:boss@example.com has:attachment'.",
    )

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        if (self.id is None) == (self.query is None):
            raise ValueError("give exactly one of id (a message id) or query (a Gmail search)")
        return self


class ForwardEmailInput(MessageInput):
    to: AddressList = Field(
        min_length=1, description="Who to forward it to: a list, or one comma-separated string."
    )
    note: str = Field("", description="Text above the forwarded message.")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            check_address(address)
        return value


class AttachmentInfo(BaseModel):
    name: str = Field(description="The attachment's file name.")
    mime_type: str
    size: int
    attachment_id: str = ""


class EmailOutput(BaseModel):
    id: str = Field(description="Gmail message id.")
    thread_id: str
    sender: str = Field("", description="The From header.")
    to: str = ""
    cc: str = ""
    subject: str = ""
    date: str = Field("", description="The Date header.")
    text: str = Field("", description="The plain-text body.")
    labels: list[str] = Field(default_factory=list)
    attachments: list[AttachmentInfo] = Field(default_factory=list)


class SavedAttachment(BaseModel):
    file: str = Field(description="The stored file, for a later step's file input.")
    name: str
    mime_type: str
    size: int


class SavedAttachmentsOutput(BaseModel):
    message_id: str
    files: list[SavedAttachment] = Field(
        description="One stored file per attachment; a for_each step over them uses "
        "{{ item.file }} and {{ item.name }}."
    )
    count: int


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


def _decoded(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _leaf_parts(part: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of a Message payload that carry content, depth first."""
    children = part.get("parts") or []
    return [leaf for child in children for leaf in _leaf_parts(child)] if children else [part]


def _attachments(payload: dict[str, Any]) -> list[AttachmentInfo]:
    return [
        AttachmentInfo(
            name=part["filename"],
            mime_type=part.get("mimeType", "application/octet-stream"),
            size=int(part.get("body", {}).get("size", 0)),
            attachment_id=part.get("body", {}).get("attachmentId", ""),
        )
        for part in _leaf_parts(payload)
        if part.get("filename")
    ]


def _plain_text(payload: dict[str, Any]) -> str:
    for part in _leaf_parts(payload):
        data = part.get("body", {}).get("data")
        if part.get("mimeType") == "text/plain" and not part.get("filename") and data:
            return _decoded(data).decode("utf-8", "replace").replace("\r\n", "\n")
    return ""


def email_output(message: dict[str, Any]) -> EmailOutput:
    """A Message resource in `full` format, as the action's output."""
    payload = message.get("payload", {})
    return EmailOutput(
        id=message["id"],
        thread_id=message.get("threadId", ""),
        sender=_header(message, "From"),
        to=_header(message, "To"),
        cc=_header(message, "Cc"),
        subject=_header(message, "Subject"),
        date=_header(message, "Date"),
        text=_plain_text(payload),
        labels=message.get("labelIds", []),
        attachments=_attachments(payload),
    )


async def message_id(ctx: ActionContext, ref: MessageInput) -> str:
    """The id `ref` gives, or the newest message matching its search."""
    if ref.id is not None:
        return ref.id
    listed = await ctx.http.json(
        "GET", f"{MAILBOX}/messages", idempotent=True, params={"q": ref.query, "maxResults": 1}
    )
    found = (listed or {}).get("messages") or []
    if not found:
        raise NotFound(f"No email in Gmail matches “{ref.query}”.", service=connector.name)
    return str(found[0]["id"])


async def _message(ctx: ActionContext, ref: MessageInput, fmt: str) -> dict[str, Any]:
    return await ctx.http.json(
        "GET",
        f"{MAILBOX}/messages/{segment(await message_id(ctx, ref))}",
        idempotent=True,
        params={"format": fmt},
    )


def forward_message(original: bytes, data: ForwardEmailInput) -> EmailMessage:
    """A forward of the RFC 2822 `original`: "Fwd: …", the note, the original's headers
    and text quoted, and its attachments attached again."""
    source = BytesParser(policy=policy.default).parsebytes(original)
    subject = str(source.get("Subject", ""))
    message = EmailMessage(policy=policy.SMTP)
    message["To"] = ", ".join(data.to)
    message["Subject"] = subject if subject.lower().startswith("fwd:") else f"Fwd: {subject}"
    message["Date"] = formatdate(usegmt=True)
    quoted = "\n".join(
        f"{name}: {source[name]}" for name in ("From", "Date", "Subject", "To") if source[name]
    )
    body = source.get_body(preferencelist=("plain",))
    text = str(body.get_content()) if body is not None else ""
    intro = f"{data.note}\n\n" if data.note else ""
    message.set_content(
        f"{intro}---------- Forwarded message ---------\n{quoted}\n\n{text}", charset="utf-8"
    )
    for part in source.iter_attachments():
        content = part.get_payload(decode=True) or b""
        maintype, subtype = part.get_content_maintype(), part.get_content_subtype()
        message.add_attachment(
            content, maintype=maintype, subtype=subtype, filename=part.get_filename()
        )
    return message


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


@connector.action(scopes=(GMAIL_READONLY,), idempotent=True)
async def get_email(ctx: ActionContext, data: MessageInput) -> EmailOutput:
    """Read an e-mail (the trigger's, or the newest matching a search): sender, subject,
    text and its attachments' names."""
    return email_output(await _message(ctx, data, "full"))


@connector.action(scopes=(GMAIL_READONLY, GMAIL_SEND), idempotent=False)
async def forward_email(ctx: ActionContext, data: ForwardEmailInput) -> SentEmailOutput:
    """Forward an e-mail, with its attachments, to other addresses."""
    original = await _message(ctx, data, "raw")
    forward = forward_message(_decoded(original["raw"]), data)
    sent = await ctx.http.json(
        "POST",
        f"{MAILBOX}/messages/send",
        idempotent=False,
        json={"raw": base64.urlsafe_b64encode(forward.as_bytes()).decode("ascii")},
    )
    return SentEmailOutput(
        id=sent["id"], thread_id=sent.get("threadId", ""), label_ids=sent.get("labelIds", [])
    )


async def _attachment_bytes(ctx: ActionContext, message: str, part: AttachmentInfo) -> bytes:
    body = await ctx.http.json(
        "GET",
        f"{MAILBOX}/messages/{segment(message)}/attachments/{segment(part.attachment_id)}",
        idempotent=True,
    )
    return _decoded(body.get("data", ""))


@connector.action(scopes=(GMAIL_READONLY,), idempotent=True)
async def save_attachments(ctx: ActionContext, data: MessageInput) -> SavedAttachmentsOutput:
    """Keep an e-mail's attachments for later steps (e.g. to upload each to Dropbox)."""
    message = await _message(ctx, data, "full")
    store = ctx.artifact_store()
    parts = _attachments(message.get("payload", {}))
    too_big = [p.name for p in parts if p.size > store.max_bytes]
    if too_big:
        raise store.too_large(connector.name, ", ".join(too_big))
    saved = []
    for part in parts:
        file, size = await store.write_bytes(
            await _attachment_bytes(ctx, message["id"], part), service=connector.name
        )
        saved.append(
            SavedAttachment(file=file, name=part.name, mime_type=part.mime_type, size=size)
        )
    return SavedAttachmentsOutput(message_id=message["id"], files=saved, count=len(saved))


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
