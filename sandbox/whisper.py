"""OpenAI's speech-to-text endpoint on 127.0.0.1: `POST /v1/audio/transcriptions` — the
wire format self-hosted Whisper servers (faster-whisper-server/speaches, LocalAI,
whisper.cpp's server) speak too. It extends the OpenAI emulator, so one server answers
the planner's chat completions and the voice notes' transcriptions, as OpenAI does.

    whisper = WhisperEmulator().start()                 # OpenAI: a Bearer key is required
    local = WhisperEmulator(require_key=False).start()  # a self-hosted server: no key
    whisper.transcripts.say(clip, "Schedule a team meeting tomorrow at 10.")

The request is `multipart/form-data` (`CreateTranscriptionRequest` in
`shared/specs/openai.json`): the audio as the `file` part (with a filename), `model`,
and optionally `language`, `prompt`, `temperature`, `response_format` (`json` → a
`CreateTranscriptionResponseJson` object, `text` → the bare text). A file that is not an
audio container gets OpenAI's 400 "Invalid file format"; errors are OpenAI's
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import cast

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import EmulatorError
from sandbox.openai import OpenAIEmulator
from sandbox.speech import TranscriptBook, audio_container, duration_seconds

TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
SUPPORTED_FORMATS = "['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']"
RESPONSE_FORMATS = ("json", "text")


@dataclass(frozen=True)
class FormPart:
    filename: str | None
    content_type: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class WhisperEmulator(OpenAIEmulator):
    def __init__(self, require_key: bool = True) -> None:
        self.transcripts = TranscriptBook()
        self.require_key = require_key
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        return [
            *super().routes(),
            Route(TRANSCRIPTIONS_PATH, self._transcriptions, methods=["POST"]),
        ]

    def settings_overrides(self) -> dict[str, str]:
        overrides = {**super().settings_overrides(), "stt_provider": "openai"}
        if not self.require_key:
            overrides.pop("openai_api_key")
        return overrides

    async def _transcriptions(self, request: Request) -> Response:
        if self.require_key:
            self._authenticate(request)
        form = _form(request.headers.get("content-type", ""), await request.body())
        audio = form.get("file")
        if audio is None or audio.filename is None:
            raise EmulatorError(400, "you must provide a file parameter", param="file")
        model = form.get("model")
        if model is None or not model.text.strip():
            raise EmulatorError(400, "you must provide a model parameter", param="model")
        response_format = form["response_format"].text if "response_format" in form else "json"
        if response_format not in RESPONSE_FORMATS:
            raise EmulatorError(
                400,
                f"response_format {response_format!r} is not served by the ATOM sandbox "
                f"(it serves {', '.join(RESPONSE_FORMATS)})",
                param="response_format",
            )
        if audio_container(audio.data) is None:
            raise EmulatorError(400, f"Invalid file format. Supported formats: {SUPPORTED_FORMATS}")
        text = self.transcripts.transcript_for(audio.data)
        if response_format == "text":
            return PlainTextResponse(text + "\n")
        seconds = math.ceil(duration_seconds(audio.data))
        return JSONResponse({"text": text, "usage": {"type": "duration", "seconds": seconds}})


def _form(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The parts of a multipart/form-data body, by field name."""
    if not content_type.startswith("multipart/form-data"):
        raise EmulatorError(
            400,
            "Invalid Content-Type header: the request must be multipart/form-data "
            f"(got {content_type or 'none'!r})",
        )
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = cast(EmailMessage, BytesParser(policy=HTTP).parsebytes(head + body))
    if not message.is_multipart():
        raise EmulatorError(400, "Could not parse multipart form")
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = FormPart(part.get_filename(), part.get_content_type(), payload)
    return parts
