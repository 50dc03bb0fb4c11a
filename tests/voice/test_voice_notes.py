"""Voice notes end to end: a generated audio clip is shared through the sandbox Slack, ATOM
downloads it, transcribes it through the speech-to-text emulator, says what it heard in
the clip's thread and answers it through the same request path as typed text — a plan
preview whose approval creates the calendar event.

Settings a test changes (size limit, key, timeout, provider) are changed on the running
ATOM: they are read afresh for every clip.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.blocks.plan import APPROVE
from cli.sandbox_session import SandboxSession
from sandbox.deepgram import DeepgramEmulator
from sandbox.google import GoogleCalendarEmulator
from sandbox.harness import BotMessage, SlackHarness
from sandbox.slack import BOT_SCOPES, BOT_USER_ID, SlackEmulator, SlackFile
from sandbox.whisper import WhisperEmulator
from tests.voice.audio import tone_wav

SPOKEN = "Schedule a team meeting tomorrow at 10 with alice@example.com."
RETRY = "voice_retry"
BOB = "U0BOB00001"


def configure(session: SandboxSession, monkeypatch: pytest.MonkeyPatch, **values: Any) -> None:
    """Change settings of the running ATOM (restored after the test)."""
    for name, value in values.items():
        monkeypatch.setattr(session.runtime.services.settings, name, value)


def shared_message(slack: SlackEmulator, channel: str) -> dict[str, Any]:
    """The last message in `channel` that shared files."""
    return [m for m in slack.messages(channel) if m.get("files")][-1]


def downloads(slack: SlackEmulator) -> list[Any]:
    return [r for r in slack.received(method="GET") if r.path.startswith("/files-pri")]


async def share_clip(
    harness: SlackHarness, audio: bytes, name: str = "audio_message.webm"
) -> dict[str, Any]:
    """Alice records a clip in her DM with ATOM; the message that shared it."""
    delivery = await harness.upload(name, audio, "audio/webm", subtype="slack_audio")
    assert delivery.status == 200
    assert delivery.ack_seconds < 3.0
    return shared_message(harness.slack, harness.slack.im_with(harness.user).id)


def new_file(slack: SlackEmulator, audio: bytes, user: str = "U0ALICE001") -> SlackFile:
    file = SlackFile(
        id=f"F0VOICE{len(slack.files) + 1:04d}",
        name="audio_message.m4a",
        mimetype="audio/mp4",
        content=audio,
        user=user,
        subtype="slack_audio",
    )
    slack.files[file.id] = file
    return file


def file_shared(slack: SlackEmulator, user: str, file_id: str) -> dict[str, Any]:
    """The `file_shared` event for a file shared in `user`'s DM with ATOM."""
    return {
        "type": "file_shared",
        "channel_id": slack.im_with(user).id,
        "file_id": file_id,
        "user_id": user,
        "file": {"id": file_id},
        "event_ts": slack.next_ts(),
    }


async def answer_after(harness: SlackHarness, heard: BotMessage) -> BotMessage:
    """The request path's answer, posted after "I heard" in the same thread."""
    return await harness.next(
        lambda m: m.kind == "message" and m.thread_ts == heard.thread_ts and m.ts != heard.ts,
        kinds=("message",),
    )


async def heard_after_retry(harness: SlackHarness, failure: BotMessage) -> BotMessage:
    """Press Try again on `failure`; the same message, now saying what was heard."""
    await harness.click(failure, RETRY)
    heard = await harness.next(lambda m: m.ts == failure.ts and "I heard" in m.content)
    assert heard.kind == "update"
    assert heard.action_ids == []
    return heard


async def test_clip_is_heard_planned_and_approved_into_a_calendar_event(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)
    harness = session.harness

    clip = await share_clip(harness, audio)
    heard = await harness.reply(contains="I heard")
    assert SPOKEN in heard.content
    assert heard.thread_ts == clip["ts"]
    preview = await answer_after(harness, heard)
    assert APPROVE in preview.action_ids  # the same plan preview typed text gets
    assert "alice@example.com" in preview.content

    [download] = downloads(session.slack)
    assert download.headers["authorization"] == f"Bearer {session.slack.bot_token}"
    [listen] = deepgram.received("/v1/listen", "POST")
    assert listen.headers["authorization"] == f"Token {deepgram.api_key}"
    assert listen.query == {"model": "nova-3", "smart_format": "true", "language": "en"}
    assert listen.body == audio

    await harness.click(preview, APPROVE)
    done = await harness.next(lambda m: "Run done" in m.content, timeout=20.0)
    assert "Google Calendar" in done.content
    calendar = session.emulator("google_calendar")
    assert isinstance(calendar, GoogleCalendarEmulator)
    events = [e for events in calendar.calendar_events.values() for e in events.values()]
    assert [[a["email"] for a in e.get("attendees", [])] for e in events] == [["alice@example.com"]]


async def test_other_files_are_left_alone_politely(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    harness = session.harness
    await harness.upload("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf")
    note = await harness.reply()
    assert "only listen to voice clips" in note.content
    assert "report.pdf" in note.content
    assert note.action_ids == []

    await harness.upload("notes.txt", b"plain text", "text/plain", text="hello there")
    answer = await harness.reply()
    assert "only listen to voice clips" not in answer.content  # the typed text was a request
    assert answer.thread_ts == shared_message(session.slack, note.channel)["ts"]

    assert downloads(session.slack) == []
    assert deepgram.received() == []


async def test_oversized_clip_is_refused_with_the_limit(
    session: SandboxSession, deepgram: DeepgramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(session, monkeypatch, voice_max_bytes=4096)
    await share_clip(session.harness, tone_wav(seconds=1.0))
    refusal = await session.harness.reply()
    assert "up to 4 KB" in refusal.content
    assert "shorter voice note" in refusal.content
    assert refusal.action_ids == []  # the same clip would be refused again
    assert downloads(session.slack) == []
    assert deepgram.received() == []


async def test_refused_download_is_reported_and_try_again_recovers(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)
    slack.grant(slack.bot_token, BOT_USER_ID, BOT_SCOPES - {"files:read"})

    clip = await share_clip(harness, audio)
    failure = await harness.reply()
    assert "sign-in page" in failure.content
    assert "files:read" in failure.content
    assert failure.thread_ts == clip["ts"]
    assert failure.action_ids == [RETRY]
    assert deepgram.received() == []

    slack.grant(slack.bot_token, BOT_USER_ID, set(BOT_SCOPES))  # an admin reinstalls ATOM
    heard = await heard_after_retry(harness, failure)
    assert SPOKEN in heard.content
    answer = await harness.next(lambda m: m.kind == "message" and m.thread_ts == clip["ts"])
    assert APPROVE in answer.action_ids


async def test_deepgram_errors_and_timeouts_are_reported_and_try_again_recovers(
    session: SandboxSession, deepgram: DeepgramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = session.harness
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)

    deepgram.fail("/v1/listen", status=503)
    await share_clip(harness, audio)
    failure = await harness.reply()
    assert "Deepgram had a problem (503)" in failure.content
    assert failure.action_ids == [RETRY]
    assert SPOKEN in (await heard_after_retry(harness, failure)).content

    configure(session, monkeypatch, http_timeout_seconds=0.4)
    deepgram.fail("/v1/listen", kind="delay", delay=1.5)
    await share_clip(harness, tone_wav(frequency=500.0))
    slow = await harness.reply(contains="did not answer")
    assert "Deepgram did not answer within 0.4 s" in slow.content
    assert slow.action_ids == [RETRY]


async def test_empty_transcript_asks_to_record_again(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    await share_clip(session.harness, tone_wav())  # a tone: no words in it
    reply = await session.harness.reply()
    assert "couldn't make out any words" in reply.content
    assert "type your request" in reply.content
    assert reply.action_ids == [RETRY]
    await asyncio.sleep(0.2)
    assert not [p for p in session.slack.posted if "I heard" in str(p.data.get("text"))]
    assert len(deepgram.received("/v1/listen")) == 1


async def test_unconfigured_speech_to_text_tells_the_admin_and_retry_works_once_set(
    session: SandboxSession,
    self_hosted_whisper: WhisperEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = session.harness
    audio = tone_wav()
    self_hosted_whisper.transcripts.say(audio, SPOKEN)
    configure(session, monkeypatch, deepgram_api_key=None)
    await share_clip(harness, audio)
    failure = await harness.reply()
    assert "DEEPGRAM_API_KEY" in failure.content
    assert failure.action_ids == [RETRY]
    assert downloads(session.slack) == []

    # An admin points ATOM at a self-hosted Whisper server (no key needed).
    configure(
        session,
        monkeypatch,
        stt_provider="openai",
        openai_base_url=f"{self_hosted_whisper.url}/v1",
    )
    assert SPOKEN in (await heard_after_retry(harness, failure)).content
    [request] = self_hosted_whisper.received("/v1/audio/transcriptions", "POST")
    assert "authorization" not in request.headers
    assert b'name="model"\r\n\r\nwhisper-1' in request.body
    assert b'filename="audio_message.webm"' in request.body


async def test_a_share_is_answered_once_whichever_events_deliver_it(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)

    # `file_shared` alone (it carries only the file id: ATOM asks files.info).
    file = new_file(slack, audio)
    await slack.deliver_event(file_shared(slack, harness.user, file.id))
    heard = await harness.reply(contains="I heard")
    assert SPOKEN in heard.content
    assert slack.received("/api/files.info")
    await answer_after(harness, heard)

    # The `message` and the `file_shared` event of one share.
    clip = await share_clip(harness, audio)
    await slack.deliver_event(file_shared(slack, harness.user, clip["files"][0]["id"]))
    heard = await harness.reply(contains="I heard")
    await answer_after(harness, heard)
    await asyncio.sleep(0.3)
    assert len(deepgram.received("/v1/listen")) == 2
    assert len([p for p in slack.posted if "I heard" in str(p.data.get("text"))]) == 2


async def test_in_a_channel_clips_that_mention_atom_are_heard_and_only_the_speaker_retries(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    team = slack.channel_by_name("team")
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)

    quiet = slack.user_message(harness.user, "", team, files=[new_file(slack, audio)])
    await slack.deliver_event(quiet)
    mentioned = slack.user_message(
        harness.user, f"<@{BOT_USER_ID}>", team, files=[new_file(slack, audio)]
    )
    await slack.deliver_event({**mentioned, "type": "app_mention"})
    await slack.deliver_event(mentioned)

    heard = await harness.next(lambda m: m.channel == team.id and "I heard" in m.content)
    assert heard.thread_ts == mentioned["ts"]
    await answer_after(harness, heard)
    await asyncio.sleep(0.3)
    assert len(deepgram.received("/v1/listen")) == 1
    bot_messages = [m for m in slack.messages(team.id) if m.get("bot_id")]
    assert len(bot_messages) == 2  # "I heard" and the plan: the mention was answered once

    silent = slack.user_message(
        harness.user, f"<@{BOT_USER_ID}>", team, files=[new_file(slack, tone_wav(seconds=0.3))]
    )
    await slack.deliver_event({**silent, "type": "app_mention"})
    failure = await harness.next(lambda m: m.channel == team.id and RETRY in m.action_ids)
    await harness.click(failure, RETRY, user=BOB)
    refusal = await harness.reply(user=BOB)
    assert refusal.kind == "ephemeral"
    assert f"Only <@{harness.user}> can retry" in refusal.content
    assert len(deepgram.received("/v1/listen")) == 2
