"""Voice-note messages: what ATOM heard, why it could not, and the "Try again" button."""

from __future__ import annotations

from bot.blocks.kit import Block, actions, button, fallback_text, section

RETRY_ACTION = "voice_retry"
RETRY_BLOCK = "voice_retry"


def mrkdwn_escape(text: str) -> str:
    """Text as Slack shows it literally: a transcript must not become a <!channel> ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def retry_value(file_id: str, thread_ts: str | None) -> str:
    """What the Try again button carries: the clip and the thread its answer goes to."""
    return f"{file_id}|{thread_ts or ''}"


def parse_retry_value(value: str) -> tuple[str, str | None]:
    file_id, _, thread_ts = value.partition("|")
    return file_id, thread_ts or None


def heard(transcript: str) -> tuple[str, list[Block]]:
    """The transcript, shown before it is answered like typed text."""
    return (
        fallback_text(f"I heard: “{mrkdwn_escape(transcript)}”"),
        [section(f":ear: *I heard:* “{mrkdwn_escape(transcript)}”")],
    )


def listening_again(name: str) -> tuple[str, list[Block]]:
    text = f"Listening to {name} again…"
    return text, [section(f":hourglass_flowing_sand: {mrkdwn_escape(text)}")]


def failed(problem: str, retry: str | None) -> tuple[str, list[Block]]:
    """Why a clip could not be heard; with a Try again button when that can help."""
    shown = mrkdwn_escape(problem)
    blocks = [section(f":warning: {shown}")]
    if retry is not None:
        blocks.append(
            actions(button("Try again", RETRY_ACTION, retry, style="primary"), block_id=RETRY_BLOCK)
        )
    return fallback_text(shown), blocks


def not_audio(names: list[str]) -> tuple[str, list[Block]]:
    """A polite note for files that are not voice clips."""
    listed = ", ".join(f"*{mrkdwn_escape(name)}*" for name in names)
    text = (
        f"I can only listen to voice clips, so I left {listed} alone. Type your request, "
        "or record an audio clip and send it to me."
    )
    return fallback_text(text), [section(text)]
