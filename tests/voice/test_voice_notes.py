"""Voice notes end to end: a generated audio clip is shared through the sandbox Slack, ATOM
downloads it, transcribes it through the speech-to-text emulator, says what it heard in
the clip's thread and answers it through the same request path as typed text.

The answer after "I heard" is whatever `bot.requests.handle_request` says (help today, a
plan preview with the planner), so these tests check where it appears, not its words.
"""

from __future__ import annotations

import asyncio
from typing import Any

from cli.sandbox_session import SandboxSession
from sandbox.deepgram import DeepgramEmulator
from sandbox.harness import BotMessage, SlackHarness
from sandbox.slack import BOT_SCOPES, BOT_USER_ID, SlackEmulator, SlackFile
from sandbox.whisper import WhisperEmulator
from tests.voice.audio import tone_wav
from tests.voice.conftest import StartSession

SPOKEN = "Schedule a team meeting tomorrow at 10 with alice@example.com."
RETRY = "voice_retry"
BOB = "U0BOB00001"


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


async def answer_after(harness: SlackHarness, heard: BotMessage) -> BotMessage:
    """The request path's answer, posted after "I heard" in the same thread."""
    return await harness.next(
        lambda m: m.kind == "message" and m.thread_ts == heard.thread_ts and m.ts != heard.ts,
        kinds=("message",),
    )


async def test_clip_is_transcribed_shown_and_answered_like_typed_text(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)
    harness = session.harness

    clip = await share_clip(harness, audio)
    heard = await harness.reply(contains="I heard")
    assert SPOKEN in heard.content
    assert heard.thread_ts == clip["ts"]
    answer = await answer_after(harness, heard)
    assert "I heard" not in answer.content
    assert answer.ts > heard.ts

    [download] = downloads(session.slack)
    assert download.headers["authorization"] == f"Bearer {session.slack.bot_token}"
    [listen] = deepgram.received("/v1/listen", "POST")
    assert listen.headers["authorization"] == f"Token {deepgram.api_key}"
    assert listen.query["model"] == "nova-3"
    assert listen.query["smart_format"] == "true"
    assert listen.query["language"] == "en"
    assert listen.body == audio


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
    start_session: StartSession, deepgram: DeepgramEmulator
) -> None:
    async with start_session(**deepgram.settings_overrides(), voice_max_bytes=4096) as session:
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

    slack.grant(slack.bot_token, BOT_USER_ID, set(BOT_SCOPES))  # an admin reinstalls
    await harness.click(failure, RETRY)
    heard = await harness.next(lambda m: m.ts == failure.ts and "I heard" in m.content)
    assert heard.kind == "update"
    assert heard.action_ids == []
    assert SPOKEN in heard.content
    answer = await harness.next(lambda m: m.kind == "message" and m.thread_ts == clip["ts"])
    assert "I heard" not in answer.content


async def test_deepgram_error_is_reported_and_try_again_recovers(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    harness = session.harness
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)
    deepgram.fail("/v1/listen", status=503)

    clip = await share_clip(harness, audio)
    failure = await harness.reply()
    assert "Deepgram had a problem (503)" in failure.content
    assert failure.action_ids == [RETRY]

    await harness.click(failure, RETRY)
    heard = await harness.next(lambda m: m.ts == failure.ts and "I heard" in m.content)
    assert SPOKEN in heard.content
    answer = await harness.next(lambda m: m.kind == "message" and m.thread_ts == clip["ts"])
    assert "I heard" not in answer.content
    assert len(deepgram.received("/v1/listen")) == 2


async def test_empty_transcript_asks_to_record_again(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    await share_clip(session.harness, tone_wav())  # a tone: no words in it
    reply = await session.harness.reply()
    assert "couldn't make out any words" in reply.content
    assert "type your request" in reply.content
    assert reply.action_ids == [RETRY]
    await asyncio.sleep(0.2)
    assert not [m for m in session.slack.posted if "I heard" in str(m.data.get("text"))]


async def test_without_a_key_the_admin_is_told_what_to_set(
    start_session: StartSession, deepgram: DeepgramEmulator
) -> None:
    async with start_session(deepgram_base_url=deepgram.url, deepgram_api_key=None) as session:
        await share_clip(session.harness, tone_wav())
        reply = await session.harness.reply()
        assert "DEEPGRAM_API_KEY" in reply.content
        assert reply.action_ids == [RETRY]
        assert downloads(session.slack) == []


async def test_slow_transcription_times_out_with_a_clear_message(
    start_session: StartSession, deepgram: DeepgramEmulator
) -> None:
    deepgram.fail("/v1/listen", kind="delay", delay=1.5)
    overrides = {**deepgram.settings_overrides(), "http_timeout_seconds": 0.4}
    async with start_session(**overrides) as session:
        await share_clip(session.harness, tone_wav())
        reply = await session.harness.reply()
        assert "did not answer within 0.4 s" in reply.content
        assert reply.action_ids == [RETRY]


async def test_file_shared_event_alone_is_heard(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    audio = tone_wav(frequency=523.0)
    deepgram.transcripts.say(audio, SPOKEN)
    file = new_file(slack, audio)
    dm = slack.im_with(harness.user).id
    await slack.deliver_event(
        {
            "type": "file_shared",
            "channel_id": dm,
            "file_id": file.id,
            "user_id": harness.user,
            "file": {"id": file.id},
            "event_ts": slack.next_ts(),
        }
    )
    heard = await harness.reply(contains="I heard")
    assert SPOKEN in heard.content
    assert slack.received("/api/files.info")


async def test_a_share_delivered_as_several_events_is_answered_once(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    audio = tone_wav(frequency=660.0)
    deepgram.transcripts.say(audio, SPOKEN)
    clip = await share_clip(harness, audio)
    file_id = clip["files"][0]["id"]
    await slack.deliver_event(
        {
            "type": "file_shared",
            "channel_id": slack.im_with(harness.user).id,
            "file_id": file_id,
            "user_id": harness.user,
            "file": {"id": file_id},
            "event_ts": slack.next_ts(),
        }
    )
    heard = await harness.reply(contains="I heard")
    await answer_after(harness, heard)
    await asyncio.sleep(0.3)
    assert len(deepgram.received("/v1/listen")) == 1
    assert len([p for p in slack.posted if "I heard" in str(p.data.get("text"))]) == 1


async def test_in_a_channel_only_clips_that_mention_atom_are_heard(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    team = slack.channel_by_name("team")
    audio = tone_wav(frequency=330.0)
    deepgram.transcripts.say(audio, SPOKEN)

    quiet = slack.user_message(harness.user, "", team, files=[new_file(slack, audio)])
    await slack.deliver_event(quiet)
    mentioned = slack.user_message(
        harness.user, f"<@{BOT_USER_ID}>", team, files=[new_file(slack, audio)]
    )
    await slack.deliver_event(mentioned)
    await slack.deliver_event({**mentioned, "type": "app_mention"})

    heard = await harness.next(lambda m: m.channel == team.id and "I heard" in m.content)
    assert heard.thread_ts == mentioned["ts"]
    await answer_after(harness, heard)
    await asyncio.sleep(0.3)
    assert len(deepgram.received("/v1/listen")) == 1
    bot_messages = [m for m in slack.messages(team.id) if m.get("bot_id")]
    assert len(bot_messages) == 2  # "I heard" and the answer: the mention was not answered twice


async def test_only_the_speaker_may_retry_their_clip(
    session: SandboxSession, deepgram: DeepgramEmulator
) -> None:
    slack, harness = session.slack, session.harness
    team = slack.channel_by_name("team")
    shared = slack.user_message(
        harness.user, f"<@{BOT_USER_ID}>", team, files=[new_file(slack, tone_wav())]
    )
    await slack.deliver_event(shared)
    failure = await harness.next(lambda m: m.channel == team.id and RETRY in m.action_ids)

    await harness.click(failure, RETRY, user=BOB)
    refusal = await harness.reply(user=BOB)
    assert refusal.kind == "ephemeral"
    assert f"Only <@{harness.user}>" in refusal.content
    assert len(deepgram.received("/v1/listen")) == 1


async def test_a_self_hosted_whisper_server_transcribes_clips(
    start_session: StartSession, self_hosted_whisper: WhisperEmulator
) -> None:
    audio = tone_wav()
    self_hosted_whisper.transcripts.say(audio, SPOKEN)
    async with start_session(**self_hosted_whisper.settings_overrides()) as session:
        clip = await share_clip(session.harness, audio)
        heard = await session.harness.reply(contains="I heard")
        assert SPOKEN in heard.content
        assert heard.thread_ts == clip["ts"]
        await answer_after(session.harness, heard)
    [request] = self_hosted_whisper.received("/v1/audio/transcriptions", "POST")
    assert "authorization" not in request.headers
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="model"\r\n\r\nwhisper-1' in request.body
    assert b'filename="audio_message.webm"' in request.body
