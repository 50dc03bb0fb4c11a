"""Voice notes: an audio clip shared with ATOM becomes text, then a request like any other.

    is_audio_clip(file) → download it with the bot token (size limit; Slack's sign-in page
    means the token was refused) → speech to text (Deepgram, or any OpenAI-compatible
    `/audio/transcriptions` server such as a self-hosted Whisper; `ATOM_STT_PROVIDER`)
    → "I heard: …" in the clip's thread → `bot.requests.handle_request`, as typed text.

Every failure a user can meet is a `VoiceError` that says what happened and what to do;
the bot posts it with a "Try again" button when trying again can help. Neither tokens nor
audio nor transcripts are logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from deepgram import AsyncDeepgramClient
from deepgram.core.api_error import ApiError
from deepgram.environment import DeepgramClientEnvironment
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import voice as blocks
from bot.requests import Conversation, handle_request
from bot.services import BotServices
from core.settings import Settings

log = logging.getLogger(__name__)

AUDIO_SUBTYPE = "slack_audio"
# Slack serves some recorded clips as video (openclaw/openclaw#14941): trust those only
# when Slack's own clip name says they are audio messages.
MISLABELLED_AUDIO = frozenset({"video/mp4", "video/webm"})
SLACK_CLIP_NAME = "audio_message"
DEEPGRAM_MODEL = "nova-3"
WHISPER_MODEL = "whisper-1"
OPENAI_BASE_URL = "https://api.openai.com/v1"
# OpenAI-compatible servers tell the container from the file name's extension.
EXTENSIONS = {
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/flac": "flac",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
MEGABYTE = 1024 * 1024


# --- what a clip is ----------------------------------------------------------------------


def is_audio_clip(file: Mapping[str, Any]) -> bool:
    """A recorded clip (`slack_audio`), an audio file, or a clip Slack labelled as video."""
    mimetype = str(file.get("mimetype") or "").lower()
    if file.get("subtype") == AUDIO_SUBTYPE or mimetype.startswith("audio/"):
        return True
    return mimetype in MISLABELLED_AUDIO and str(file.get("name", "")).startswith(SLACK_CLIP_NAME)


@dataclass(frozen=True)
class Clip:
    """An audio file shared in Slack, as `files.info` (or the event) describes it."""

    id: str
    name: str
    mimetype: str
    size: int | None
    download_url: str | None
    owner: str | None

    @classmethod
    def from_slack(cls, file: Mapping[str, Any]) -> Clip:
        size = file.get("size")
        return cls(
            id=str(file["id"]),
            name=str(file.get("name") or file.get("title") or file["id"]),
            mimetype=str(file.get("mimetype") or "application/octet-stream"),
            size=size if isinstance(size, int) else None,
            download_url=file.get("url_private_download") or file.get("url_private"),
            owner=file.get("user"),
        )

    @property
    def upload_name(self) -> str:
        """The name to upload under, with an extension that names the container."""
        if "." in self.name.rsplit("/", 1)[-1]:
            return self.name
        return f"{self.name}.{EXTENSIONS.get(self.mimetype.lower(), 'm4a')}"


# --- what can go wrong -------------------------------------------------------------------


class VoiceError(Exception):
    """A clip could not be heard. `str(error)` is the message for the user."""

    retryable = True


class ClipTooLarge(VoiceError):
    retryable = False


class DownloadRefused(VoiceError):
    """Slack would not hand the file to the bot token."""


class DownloadFailed(VoiceError):
    """The clip could not be downloaded (network, size, Slack error)."""


class SpeechToTextNotConfigured(VoiceError):
    """No speech-to-text key or server is configured."""


class TranscriptionFailed(VoiceError):
    """The speech-to-text service answered with an error or timed out."""


class NothingHeard(VoiceError):
    """The transcript came back empty."""


def _size(count: int) -> str:
    return f"{count / MEGABYTE:.1f} MB" if count >= MEGABYTE else f"{max(1, count // 1024)} KB"


def _too_large(clip: Clip, size: int | str, limit: int) -> ClipTooLarge:
    shown = _size(size) if isinstance(size, int) else size
    return ClipTooLarge(
        f"Your clip {clip.name} is {shown}; I can only transcribe clips up to "
        f"{_size(limit)}. Record a shorter voice note (or split it in two) and send it again, "
        "or type your request."
    )


# --- downloading from Slack --------------------------------------------------------------


def check_declared_size(clip: Clip, max_bytes: int) -> None:
    """Refuse a clip Slack says is too large, without downloading it."""
    if clip.size is not None and clip.size > max_bytes:
        raise _too_large(clip, clip.size, max_bytes)


async def download(http: httpx.AsyncClient, clip: Clip, token: str, max_bytes: int) -> bytes:
    """The clip's bytes, fetched with the bot token; at most `max_bytes` of them."""
    check_declared_size(clip, max_bytes)
    if not clip.download_url:
        raise DownloadFailed(
            f"Slack gave me no download link for {clip.name}. Share the clip again, then "
            "press Try again."
        )
    try:
        async with http.stream(
            "GET", clip.download_url, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            _check_download(response, clip)
            return await _read_limited(response, clip, max_bytes)
    except httpx.TimeoutException:
        raise DownloadFailed(
            f"Slack took too long to hand me {clip.name}. Press Try again in a moment."
        ) from None
    except httpx.HTTPError as exc:
        raise DownloadFailed(
            f"I couldn't download {clip.name} from Slack ({type(exc).__name__}). "
            "Press Try again in a moment."
        ) from None


def _check_download(response: httpx.Response, clip: Clip) -> None:
    """Slack answers a refused token with its HTML sign-in page and status 200."""
    html = response.headers.get("content-type", "").startswith("text/html")
    if response.status_code in (401, 403) or (response.status_code == 200 and html):
        raise DownloadRefused(
            f"Slack wouldn't let me download {clip.name}: it sent its sign-in page instead, "
            "so ATOM's bot token was refused or lacks the `files:read` scope. An admin should "
            "reinstall ATOM to the workspace with `files:read`; then press Try again."
        )
    if response.status_code == 404:
        raise DownloadFailed(
            f"Slack says {clip.name} no longer exists — was it deleted? Share the clip again."
        )
    if response.status_code != 200:
        raise DownloadFailed(
            f"Slack answered {response.status_code} when I downloaded {clip.name}. "
            "Press Try again in a moment."
        )


async def _read_limited(response: httpx.Response, clip: Clip, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(clip, f"over {_size(max_bytes)}", max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


# --- speech to text ----------------------------------------------------------------------


class Transcriber(Protocol):
    """Speech to text. Raises TranscriptionFailed with a message for the user."""

    service: str

    async def transcribe(self, clip: Clip, audio: bytes) -> str: ...


class DeepgramTranscriber:
    """Deepgram's pre-recorded API through the official SDK (`nova-3`, smart formatting)."""

    service = "Deepgram"

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        key = settings.deepgram_api_key.get_secret_value() if settings.deepgram_api_key else ""
        if not key:
            raise SpeechToTextNotConfigured(
                "Voice notes are not set up yet: ATOM has no Deepgram API key. An admin can "
                "set `DEEPGRAM_API_KEY` (or `ATOM_STT_PROVIDER=openai` with a Whisper server "
                "at `ATOM_OPENAI_BASE_URL`); then press Try again. Meanwhile, type your request."
            )
        base = settings.deepgram_base_url.rstrip("/")
        socket = "ws" + base.removeprefix("http")
        self.client = AsyncDeepgramClient(
            api_key=key,
            environment=DeepgramClientEnvironment(
                base=base, production=socket, agent=socket, agent_rest=base
            ),
            httpx_client=http,
            timeout=settings.http_timeout_seconds,
            max_retries=settings.http_max_retries,
        )
        self.language = settings.stt_language
        self.timeout = settings.http_timeout_seconds

    async def transcribe(self, clip: Clip, audio: bytes) -> str:
        try:
            response = await self.client.listen.v1.media.transcribe_file(
                request=audio, model=DEEPGRAM_MODEL, smart_format=True, language=self.language
            )
        except ApiError as exc:
            problem = _service_problem(self.service, exc.status_code, exc.body)
            raise TranscriptionFailed(problem) from exc
        except httpx.TimeoutException:
            raise _timed_out(self.service, self.timeout) from None
        except httpx.HTTPError as exc:
            raise _unreachable(self.service, exc) from None
        try:
            return str(response.results.channels[0].alternatives[0].transcript or "")
        except (AttributeError, IndexError, TypeError):
            raise TranscriptionFailed(
                "Deepgram answered without a transcript. Press Try again in a moment."
            ) from None


class WhisperTranscriber:
    """An OpenAI-compatible `POST {base}/audio/transcriptions`: OpenAI itself, or a
    self-hosted Whisper server at `ATOM_OPENAI_BASE_URL` (which may need no key)."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        if not key and not settings.openai_base_url:
            raise SpeechToTextNotConfigured(
                "Voice notes are not set up yet: `ATOM_STT_PROVIDER=openai` needs "
                "`OPENAI_API_KEY`, or `ATOM_OPENAI_BASE_URL` pointing at a self-hosted "
                "Whisper server. An admin can set one; then press Try again. Meanwhile, type "
                "your request."
            )
        self.service = "the speech-to-text server" if settings.openai_base_url else "OpenAI"
        self.url = (settings.openai_base_url or OPENAI_BASE_URL).rstrip("/")
        self.url += "/audio/transcriptions"
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.language = settings.stt_language.split("-")[0]  # ISO-639-1, e.g. "en"
        self.timeout = settings.http_timeout_seconds
        self.http = http

    async def transcribe(self, clip: Clip, audio: bytes) -> str:
        form = {"model": WHISPER_MODEL, "language": self.language, "response_format": "json"}
        try:
            response = await self.http.post(
                self.url,
                headers=self.headers,
                data=form,
                files={"file": (clip.upload_name, audio, clip.mimetype)},
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise _timed_out(self.service, self.timeout) from None
        except httpx.HTTPError as exc:
            raise _unreachable(self.service, exc) from None
        body = _json_or_text(response)
        if response.is_error:
            raise TranscriptionFailed(_service_problem(self.service, response.status_code, body))
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise TranscriptionFailed(
                f"{_capitalised(self.service)} answered without a transcript. Press Try again "
                "in a moment."
            )
        return body["text"]


def make_transcriber(settings: Settings, http: httpx.AsyncClient) -> Transcriber:
    """The provider `settings.stt_provider` names (deepgram | openai)."""
    provider = settings.stt_provider.strip().lower()
    if provider == "deepgram":
        return DeepgramTranscriber(settings, http)
    if provider == "openai":
        return WhisperTranscriber(settings, http)
    raise SpeechToTextNotConfigured(
        f"Voice notes are misconfigured: `ATOM_STT_PROVIDER` is {provider!r}, but it must be "
        "`deepgram` or `openai`. An admin can fix it; then press Try again."
    )


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _error_detail(body: Any) -> str:
    """The service's own words: Deepgram `err_msg`, OpenAI `error.message`, or `detail`."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
        for key in ("err_msg", "message", "detail", "error"):
            if body.get(key):
                return str(body[key])
    return body.strip()[:200] if isinstance(body, str) else ""


def _capitalised(service: str) -> str:
    return service[0].upper() + service[1:]


def _service_problem(service: str, status: int | None, body: Any) -> str:
    name = _capitalised(service)
    detail = _error_detail(body)
    said = f" (“{detail}”)" if detail else ""
    if status in (401, 403):
        return (
            f"{name} refused ATOM's API key{said}. An admin should check the key in ATOM's "
            "settings; then press Try again."
        )
    if status == 402:
        return f"{name} says the account is out of credit{said}. An admin should top it up."
    if status == 429:
        return f"{name} is rate-limiting ATOM right now{said}. Wait a minute, then press Try again."
    if status is not None and 400 <= status < 500:
        return (
            f"{name} could not process your clip{said}. Record it again (or type your "
            "request); if the clip plays fine, press Try again."
        )
    return f"{name} had a problem ({status}){said}. Press Try again in a moment."


def _timed_out(service: str, seconds: float) -> TranscriptionFailed:
    return TranscriptionFailed(
        f"{_capitalised(service)} did not answer within {seconds:g} s. "
        "Press Try again in a moment, or type your request."
    )


def _unreachable(service: str, exc: Exception) -> TranscriptionFailed:
    return TranscriptionFailed(
        f"I couldn't reach {service} ({type(exc).__name__}). Press Try again in a moment; "
        "if it keeps failing, an admin should check ATOM's speech-to-text settings."
    )


# --- from clip to transcript -------------------------------------------------------------


async def hear(clip: Clip, token: str, settings: Settings) -> str:
    """Download and transcribe `clip`; the transcript, or a VoiceError."""
    check_declared_size(clip, settings.voice_max_bytes)  # before anything else can fail
    started = time.monotonic()
    async with httpx.AsyncClient(
        timeout=settings.http_timeout_seconds, follow_redirects=True
    ) as http:
        transcriber = make_transcriber(settings, http)
        audio = await download(http, clip, token, settings.voice_max_bytes)
        transcript = " ".join((await transcriber.transcribe(clip, audio)).split())
    log.info(
        "voice clip %s: %d bytes transcribed by %s into %d characters in %.2fs",
        clip.id,
        len(audio),
        transcriber.service,
        len(transcript),
        time.monotonic() - started,
    )
    if not transcript:
        raise NothingHeard(
            f"I couldn't make out any words in {clip.name}. Record it again a little closer "
            "to the microphone (or type your request), or press Try again."
        )
    return transcript


# --- in Slack -----------------------------------------------------------------------------


async def answer_files(
    files: Sequence[Mapping[str, Any]],
    where: Conversation,
    services: BotServices,
    client: AsyncWebClient,
    text: str = "",
) -> None:
    """Answer the files of one share: each new audio clip is heard and answered; other
    files are left alone (the typed `text`, if any, is still a request)."""
    heard_any, others = False, []
    for shared in files:
        file = await _full_file(client, shared)
        if file is None or not await _first_time(services, where, file["id"]):
            continue
        if is_audio_clip(file):
            heard_any = True
            await answer_clip(file, where, services, client)
        else:
            others.append(str(file.get("name") or file["id"]))
    if heard_any or not others:
        return
    if text.strip():
        await handle_request(text.strip(), where, services, client)
    else:
        note, note_blocks = blocks.not_audio(others)
        await client.chat_postMessage(
            channel=where.channel_id, thread_ts=where.thread_ts, text=note, blocks=note_blocks
        )


async def answer_clip(
    file: Mapping[str, Any],
    where: Conversation,
    services: BotServices,
    client: AsyncWebClient,
    replace_ts: str | None = None,
) -> None:
    """Hear one clip, say what was heard in the thread, then answer it as a request. With
    `replace_ts` the outcome replaces that message (the one whose Try again was pressed)."""
    clip = Clip.from_slack(file)
    try:
        transcript = await hear(clip, client.token or "", services.settings)
    except VoiceError as problem:
        log.info("voice clip %s not heard: %s", clip.id, type(problem).__name__)
        retry = blocks.retry_value(clip.id, where.thread_ts) if problem.retryable else None
        await _show(client, where, replace_ts, *blocks.failed(str(problem), retry))
        return
    except Exception:
        log.exception("voice clip %s: unexpected failure", clip.id)
        problem_text = (
            "Something unexpected went wrong while I listened to your clip (it is in ATOM's "
            "log). Press Try again; if it keeps failing, type your request."
        )
        retry = blocks.retry_value(clip.id, where.thread_ts)
        await _show(client, where, replace_ts, *blocks.failed(problem_text, retry))
        return
    await _show(client, where, replace_ts, *blocks.heard(transcript))
    await handle_request(transcript, where, services, client)


async def retry_clip(
    file_id: str,
    where: Conversation,
    message_ts: str,
    services: BotServices,
    client: AsyncWebClient,
) -> None:
    """The Try again button: fetch the clip's details afresh and hear it again, in place
    of the failure message. Only the person who recorded the clip may retry it."""
    file = await _full_file(client, {"id": file_id})
    if file is None:
        text, failure = blocks.failed(
            "That clip is no longer in Slack (was it deleted?). Record it again.", None
        )
        await _show(client, where, message_ts, text, failure)
        return
    if file.get("user") and file["user"] != where.user_id:
        await client.chat_postEphemeral(
            channel=where.channel_id,
            user=where.user_id,
            text=f"Only <@{file['user']}> can retry their voice note.",
        )
        return
    await _show(client, where, message_ts, *blocks.listening_again(Clip.from_slack(file).name))
    await answer_clip(file, where, services, client, replace_ts=message_ts)


async def _full_file(client: AsyncWebClient, file: Mapping[str, Any]) -> dict[str, Any] | None:
    """The file's full description: events may carry only its id (`file_shared`, or
    `hidden_by_limit`), so ask `files.info` when the download link is missing."""
    if file.get("url_private_download") and file.get("mimetype"):
        return dict(file)
    try:
        response = await client.files_info(file=str(file["id"]))
    except SlackApiError as exc:
        log.info("files.info %s failed: %s", file.get("id"), exc.response.get("error"))
        return None
    found = response.get("file")
    return dict(found) if isinstance(found, dict) else None


async def _first_time(services: BotServices, where: Conversation, file_id: str) -> bool:
    """A share reaches ATOM as a `message` and a `file_shared` event (and an `app_mention`
    when it names ATOM): whichever comes first answers it, once, across processes."""
    return await services.dedupe.first_delivery(f"file:{where.channel_id}:{file_id}", where.team_id)


async def _show(
    client: AsyncWebClient,
    where: Conversation,
    replace_ts: str | None,
    text: str,
    message_blocks: list[dict[str, Any]],
) -> None:
    if replace_ts:
        await client.chat_update(
            channel=where.channel_id, ts=replace_ts, text=text, blocks=message_blocks
        )
    else:
        await client.chat_postMessage(
            channel=where.channel_id, thread_ts=where.thread_ts, text=text, blocks=message_blocks
        )
