"""Recognising clips, downloading them from Slack, and the messages about them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bot.blocks import voice as blocks
from bot.voice import Clip, ClipTooLarge, DownloadFailed, DownloadRefused, download, is_audio_clip
from sandbox.slack import SlackEmulator, SlackFile
from tests.voice.audio import tone_wav


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        yield client


def hosted_clip(slack: SlackEmulator, content: bytes, *, size_known: bool = True) -> Clip:
    file = SlackFile(
        id="F0CLIP0001",
        name="audio_message.m4a",
        mimetype="audio/mp4",
        content=content,
        user="U0ALICE001",
        subtype="slack_audio",
    )
    slack.files[file.id] = file
    described = file.to_api(slack.url)
    if not size_known:
        described.pop("size")
    return Clip.from_slack(described)


@pytest.mark.parametrize(
    ("file", "audio"),
    [
        ({"subtype": "slack_audio", "mimetype": "audio/mp4", "name": "audio_message.m4a"}, True),
        ({"subtype": "slack_audio", "mimetype": "video/mp4", "name": "audio_message.mp4"}, True),
        ({"mimetype": "audio/webm", "name": "memo.webm"}, True),
        ({"mimetype": "audio/mpeg", "name": "song.mp3"}, True),
        ({"mimetype": "video/mp4", "name": "audio_message.mp4"}, True),  # mislabelled clip
        ({"mimetype": "video/webm", "name": "audio_message.webm"}, True),
        ({"mimetype": "video/mp4", "name": "holiday.mp4"}, False),  # a real video
        ({"mimetype": "application/pdf", "name": "report.pdf"}, False),
        ({"mimetype": "image/png", "name": "audio_message.png"}, False),
        ({}, False),
    ],
)
def test_audio_clips_are_recognised(file: dict[str, Any], audio: bool) -> None:
    assert is_audio_clip(file) is audio


@pytest.mark.parametrize(
    ("name", "mimetype", "upload_name"),
    [
        ("audio_message.m4a", "audio/mp4", "audio_message.m4a"),
        ("audio_message", "audio/mp4", "audio_message.m4a"),
        ("voice", "audio/webm", "voice.webm"),
        ("clip", "video/mp4", "clip.mp4"),
    ],
)
def test_uploads_are_named_after_their_container(
    name: str, mimetype: str, upload_name: str
) -> None:
    clip = Clip.from_slack({"id": "F1", "name": name, "mimetype": mimetype})
    assert clip.upload_name == upload_name


async def test_download_uses_the_bot_token(slack: SlackEmulator, http: httpx.AsyncClient) -> None:
    audio = tone_wav()
    clip = hosted_clip(slack, audio)
    assert await download(http, clip, slack.bot_token, 1024 * 1024) == audio
    [request] = [r for r in slack.received(method="GET") if r.path.startswith("/files-pri-dl/")]
    assert request.headers["authorization"] == f"Bearer {slack.bot_token}"


async def test_slacks_sign_in_page_is_an_auth_failure(
    slack: SlackEmulator, http: httpx.AsyncClient
) -> None:
    clip = hosted_clip(slack, tone_wav())
    with pytest.raises(DownloadRefused, match="sign-in page") as refused:
        await download(http, clip, "xoxb-revoked-token", 1024 * 1024)
    assert refused.value.retryable
    assert "xoxb-revoked-token" not in str(refused.value)


async def test_the_size_limit_holds_even_when_slack_does_not_say_the_size(
    slack: SlackEmulator, http: httpx.AsyncClient
) -> None:
    audio = tone_wav(seconds=2.0)  # 64 KB
    with pytest.raises(ClipTooLarge, match="up to 16 KB") as declared:
        await download(http, hosted_clip(slack, audio), slack.bot_token, 16 * 1024)
    assert not declared.value.retryable
    assert slack.received(method="GET") == []  # refused before downloading

    with pytest.raises(ClipTooLarge, match="over 16 KB"):
        await download(http, hosted_clip(slack, audio, size_known=False), slack.bot_token, 16384)


async def test_a_deleted_file_is_reported(slack: SlackEmulator, http: httpx.AsyncClient) -> None:
    clip = hosted_clip(slack, tone_wav())
    del slack.files[clip.id]
    with pytest.raises(DownloadFailed, match="no longer exists"):
        await download(http, clip, slack.bot_token, 1024 * 1024)


async def test_an_unreachable_slack_is_a_download_failure(http: httpx.AsyncClient) -> None:
    clip = Clip("F1", "audio_message.m4a", "audio/mp4", 10, "http://127.0.0.1:9/f", "U1")
    with pytest.raises(DownloadFailed, match="Press Try again"):
        await download(http, clip, "xoxb-token", 1024)


def test_transcripts_cannot_ping_anyone() -> None:
    text, shown = blocks.heard("tell <!channel> & <@U0BOB00001> hi")
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U0BOB00001&gt;" in shown[0]["text"]["text"]


def test_the_retry_button_names_the_clip_and_its_thread() -> None:
    _text, failed = blocks.failed("Deepgram had a problem.", blocks.retry_value("F1", "1.000200"))
    button = failed[-1]["elements"][0]
    assert button["action_id"] == blocks.RETRY_ACTION
    assert blocks.parse_retry_value(button["value"]) == ("F1", "1.000200")
    assert blocks.parse_retry_value(blocks.retry_value("F2", None)) == ("F2", None)
    _text, final = blocks.failed("Too large.", None)
    assert [b["type"] for b in final] == ["section"]
