"""Data between services: "copy report.pdf from Dropbox to Google Drive", "save email
attachments to Dropbox", "forward the email to bob@example.com".

Each becomes a step that reads (a download, the e-mail's attachments) and a step that
writes what it read, referring to it by template (`{{ steps.download.file }}`), so the
bytes travel as a stored file and nothing the person wrote is taken as a file's content
or a message's body (a forward's note only when quoted). Copies never replace a file
unless the person says so ("replace", "overwrite"): Dropbox then renames the copy on a
clash, and Google Drive always keeps both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workflows.model import Workflow
from workflows.planning.draft import Draft
from workflows.planning.events import DRIVE_FOLDER_URL
from workflows.planning.text import channels, paths
from workflows.planning.values import ActionClause, addresses, any_quote, file_name

Reader = Callable[[ActionClause, Draft], None]
FILE_SERVICES = {
    "dropbox": r"dropbox",
    "google_drive": r"(?:google\s+)?drive|gdrive",
}
COPY_VERBS = frozenset(
    {"copy", "upload", "save", "store", "put", "back up", "move", "transfer", "send", "sync"}
)
OWNER = r"(?:(?:my|our|the|your)\s+)?"
REPLACE = r"\b(?:replac\w*|overwrit\w*)\b"
FILE_QUESTION = "Which file should I copy? Give its name or path, e.g. /Reports/q3.pdf."
FORWARD_QUESTION = (
    "Which email should I forward? For example “when I get an email from "
    "dana@example.com, forward it to bob@example.com”, or “forward the latest email from "
    "dana@example.com to bob@example.com”."
)
LATEST_FROM = re.compile(
    r"\b(?:latest|last|newest|most\s+recent)\s+(?:e-?mail|mail|message)\s+from\s+(\S+@\S+)", re.I
)
# A file by name: "report.pdf", "Reports/q3.pdf", "/Reports/q3.pdf" (an extension).
FILE_REFERENCE = re.compile(
    r"(?<![\w@:/.-])(/?(?:[\w-]+/)*[\w-]+(?:\.[\w-]+)*\.[A-Za-z0-9]{1,5})(?![\w/@])"
)
NOT_FILES = re.compile(r"https?://\S+|\S+@\S+")


# --- which services ---------------------------------------------------------------------------


def _named_after(clause: ActionClause, prepositions: str) -> list[str]:
    """The file services named right after one of `prepositions`, in order."""
    found = []
    for service, pattern in FILE_SERVICES.items():
        match = re.search(rf"\b(?:{prepositions})\s+{OWNER}(?:{pattern})\b", clause.text, re.I)
        if match:
            found.append((match.start(), service))
    return [service for _, service in sorted(found)]


def _source(clause: ActionClause) -> str | None:
    named = _named_after(clause, "from|in|on")
    from_named = _named_after(clause, "from")
    return (from_named or named or [None])[0]


def _destination(clause: ActionClause, source: str | None) -> str | None:
    named = [s for s in _named_after(clause, "to|into|onto|in") if s != source]
    return named[0] if named else None


# --- copies between Dropbox and Google Drive -------------------------------------------------


def _source_inputs(clause: ActionClause, source: str) -> tuple[dict[str, Any], list[str]]:
    """Where the file is (a Dropbox path "/report.pdf", a Drive name or path), and the
    paths the clause names besides it (the destination folder)."""
    text = clause.request.restore(clause.text)
    named = FILE_REFERENCE.search(NOT_FILES.sub(" ", text))
    found = paths(text)
    if named is not None:
        name: str | None = named.group(1)
        found = [p for p in found if p.lstrip("/") != named.group(1).lstrip("/")]
    else:
        name = found.pop(0) if found else file_name(clause)
    if source == "dropbox":
        return {"path": None if name is None else "/" + name.lstrip("/")}, found
    return {"name": None if name is None else name.lstrip("/")}, found


def _drive_destination(clause: ActionClause, name: str, file: str) -> dict[str, Any]:
    link = DRIVE_FOLDER_URL.search(clause.request.restore(clause.text))
    return {"name": name, "file": file, **({"folder_id": link.group(1)} if link else {})}


def _dropbox_destination(
    clause: ActionClause, name: str, file: str, folder: str | None = None
) -> dict[str, Any]:
    """The Dropbox upload: into `folder` (default: the Dropbox root), renamed on a clash
    unless the person asked to replace the file there."""
    path = f"{(folder or '').rstrip('/')}/{name}"
    if re.search(REPLACE, clause.text, re.I):
        return {"path": path, "file": file, "mode": "overwrite"}
    return {"path": path, "file": file, "autorename": True}


def copy_file(clause: ActionClause, draft: Draft) -> None:
    source = _source(clause) or "dropbox"
    destination = _destination(clause, source) or "google_drive"
    located, folders = _source_inputs(clause, source)
    download = draft.add_step_asking(
        f"{source}.download_file",
        located,
        "download",
        questions={k: FILE_QUESTION for k in located},
    )
    file = f"{{{{ steps.{download.id}.file }}}}"
    named = next((v for v in located.values() if v), None)
    # A file named with its extension keeps its name; a Google Doc exported gets one.
    if named and re.search(r"\.\w{1,5}$", named):
        name = named.rsplit("/", 1)[-1]
    else:
        name = f"{{{{ steps.{download.id}.name }}}}"
    if destination == "google_drive":
        draft.add_step("google_drive.upload_file", _drive_destination(clause, name, file), "upload")
        if re.search(REPLACE, clause.text, re.I):
            draft.assume("Google Drive keeps both files: the copy is a new file")
    else:
        draft.add_step(
            "dropbox.upload_file",
            _dropbox_destination(clause, name, file, folders[0] if folders else None),
            "upload",
        )
    if clause.verb == "move":
        draft.assume("the original stays where it is (I copy files, I never delete them)")


# --- e-mails: attachments and forwards ------------------------------------------------------


def _email_reference(clause: ActionClause, draft: Draft, search: str = "") -> dict[str, str]:
    """The e-mail a clause is about: the trigger's or an earlier step's, or the newest
    from the sender it names; {} when it names none."""
    email = draft.latest("email", connector="gmail")
    if email is not None:
        return {"id": f"{{{{ {email.root}.id }}}}"}
    sender = LATEST_FROM.search(clause.request.restore(clause.text))
    if sender is not None:
        return {"query": f"from:{sender.group(1).rstrip('.,')}{search}"}
    return {}


def save_attachments(clause: ActionClause, draft: Draft) -> None:
    reference = _email_reference(clause, draft, " has:attachment")
    if not reference and draft.trigger.get("type") == "manual":
        draft.set_event("gmail.email_received", {"query": "has:attachment"})
        draft.assume("this runs for every new email with attachments")
        reference = _email_reference(clause, draft)
    if not reference:
        reference = {"query": "has:attachment"}
    saved = draft.add_step("gmail.save_attachments", reference, "attachments")
    each = {"name": "{{ item.name }}", "file": "{{ item.file }}"}
    if _destination(clause, None) == "google_drive":
        upload = _drive_destination(clause, each["name"], each["file"])
    else:
        found = paths(clause.request.restore(clause.text))
        upload = _dropbox_destination(clause, each["name"], each["file"], found[0] if found else "")
    step = draft.add_step(
        f"{_destination(clause, None) or 'dropbox'}.upload_file", upload, "upload"
    )
    step.for_each = f"steps.{saved.id}.files"


def forward_email(clause: ActionClause, draft: Draft) -> None:
    reference = _email_reference(clause, draft)
    if not reference:
        draft.ask(FORWARD_QUESTION)
        return
    sender = reference.get("query", "").removeprefix("from:")
    recipients = [a for a in addresses(clause) if a != sender]
    inputs: dict[str, Any] = {**reference, "to": recipients}
    note = any_quote(clause)
    if note:
        inputs["note"] = note
    draft.add_step_asking("gmail.forward_email", inputs, "forward", ask=("to",))


# --- choosing ----------------------------------------------------------------------------------


def transfer_reader(clause: ActionClause, draft: Draft) -> Reader | None:
    """The reader for a clause that moves data between services, or None."""
    if clause.verb == "forward" and addresses(clause) and not channels(clause.text):
        return forward_email
    if clause.verb not in COPY_VERBS:
        return None
    if clause.has(r"\battachments?\b") and _destination(clause, None):
        return save_attachments
    source = _source(clause)
    if source is not None and _destination(clause, source) is not None:
        return copy_file
    return None


READ_ACTIONS = frozenset(
    {
        "dropbox.download_file",
        "google_drive.download_file",
        "gmail.get_email",
        "gmail.save_attachments",
        "gmail.forward_email",
    }
)
CONTENT_INPUTS = frozenset({"content", "body", "text"})


def restates_a_transfer(input_name: str, reply: Workflow | None) -> bool:
    """Whether an answer to "what should the file contain?" (any content, body or text
    input) is in fact the request again, saying where the data comes from ("copy the
    existing report.pdf from my Dropbox"): then it is planned, not written into the file."""
    return (
        input_name in CONTENT_INPUTS
        and reply is not None
        and any(step.action in READ_ACTIONS for step in reply.steps)
    )
