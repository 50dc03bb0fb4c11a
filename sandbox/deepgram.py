"""Deepgram's pre-recorded speech-to-text API on 127.0.0.1: `POST /v1/listen`.

    deepgram = DeepgramEmulator().start()
    deepgram.transcripts.say(clip, "Schedule a team meeting tomorrow at 10.")
    # ATOM with deepgram_base_url=deepgram.url, deepgram_api_key=deepgram.api_key

The wire format is Deepgram's (`shared/specs/deepgram.json`, operation `POST /v1/listen`,
and https://developers.deepgram.com/reference/errors): the key comes as
`Authorization: Token <key>` (or `Bearer <token>` for temporary tokens); options are
query parameters (`model`, `language`, `smart_format`, `punctuate`, …, booleans spelled
`true`/`false`); the body is the raw audio (any Content-Type but JSON), or, with
`Content-Type: application/json`, `{"url": …}` naming audio to fetch. The answer is a
`ListenV1Response`: `metadata` plus `results.channels[0].alternatives[0]` with the
`transcript`, its `confidence` and `words`. A body that is not an audio container gets
Deepgram's 400 "corrupt or unsupported data"; a bad key gets 401 `INVALID_AUTH`. Errors
are `{"err_code", "err_msg", "request_id"}`. Rate limits, outages and slowness come from
the base class's fault injection (`deepgram.fail("/v1/listen", status=503)`).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from sandbox.emulator import Emulator, EmulatorError
from sandbox.speech import TranscriptBook, audio_container, duration_seconds, sha256_hex

# Deepgram's public models (`V1ListenPostParametersModel0` in the description).
MODELS = frozenset(
    {
        "nova-3", "nova-3-general", "nova-3-medical",
        "nova-2", "nova-2-general", "nova-2-meeting", "nova-2-finance",
        "nova-2-conversationalai", "nova-2-voicemail", "nova-2-video", "nova-2-medical",
        "nova-2-drivethru", "nova-2-automotive",
        "nova", "nova-general", "nova-phonecall", "nova-medical",
        "enhanced", "enhanced-general", "enhanced-meeting", "enhanced-phonecall",
        "enhanced-finance",
        "base", "meeting", "phonecall", "finance", "conversationalai", "voicemail", "video",
    }
)  # fmt: skip
DEFAULT_MODEL = "base-general"
# The boolean query parameters of `POST /v1/listen`.
BOOLEAN_PARAMETERS = frozenset(
    {
        "sentiment", "topics", "intents", "detect_entities", "diarize", "dictation",
        "filler_words", "measurements", "multichannel", "numerals", "paragraphs",
        "profanity_filter", "punctuate", "smart_format", "utterances", "mip_opt_out",
    }
)  # fmt: skip
ERROR_CODES = {
    400: "Bad Request",
    401: "INVALID_AUTH",
    402: "ASR_PAYMENT_REQUIRED",
    403: "INSUFFICIENT_PERMISSIONS",
    429: "TOO_MANY_REQUESTS",
}
CORRUPT_AUDIO = "Bad Request: failed to process audio: corrupt or unsupported data"
BAD_JSON = "Content-type was application/json, but we could not process the JSON payload."
_STRIP = ".,!?;:\"'“”‘’()"


@dataclass(frozen=True)
class ListenOptions:
    """The query parameters that shape the answer."""

    model: str
    language: str
    punctuate: bool
    smart_format: bool
    paragraphs: bool

    @property
    def formatted(self) -> bool:
        return self.punctuate or self.smart_format


class DeepgramEmulator(Emulator):
    name = "deepgram"

    def __init__(self) -> None:
        self.transcripts = TranscriptBook()
        self.api_key = "dg-sandbox-" + secrets.token_hex(20)
        super().__init__()
        self.grant(self.api_key, "sandbox")

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/listen", self._listen, methods=["POST"])]

    def settings_overrides(self) -> dict[str, str]:
        return {"deepgram_base_url": self.url, "deepgram_api_key": self.api_key}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        code = extra.get("err_code") or ERROR_CODES.get(status, "INTERNAL_SERVER_ERROR")
        return {"err_code": code, "err_msg": message, "request_id": str(uuid.uuid4())}

    # --- the endpoint ------------------------------------------------------------------

    async def _listen(self, request: Request) -> JSONResponse:
        self._authenticate(request)
        options = _options(request.query_params)
        audio = await _audio(request)
        if not audio or audio_container(audio) is None:
            raise EmulatorError(400, CORRUPT_AUDIO)
        return JSONResponse(self._transcription(audio, options))

    def _authenticate(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme not in {"Token", "Bearer"} or key.strip() not in self.grants:
            raise EmulatorError(401, "Invalid credentials.")

    def _transcription(self, audio: bytes, options: ListenOptions) -> dict[str, Any]:
        spoken = self.transcripts.transcript_for(audio)
        transcript = spoken if options.formatted else _unformatted(spoken)
        duration = duration_seconds(audio)
        words = _words(spoken, duration, options.formatted)
        alternative: dict[str, Any] = {
            "transcript": transcript,
            "confidence": 0.98 if words else 0.0,
            "words": words,
        }
        if (options.smart_format or options.paragraphs) and words:
            alternative["paragraphs"] = _paragraphs(transcript, words)
        model_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepgram-model:{options.model}"))
        metadata = {
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": sha256_hex(audio),
            "created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "duration": round(duration, 3),
            "channels": 1,
            "models": [model_id],
            "model_info": {
                model_id: {
                    "name": f"general-{options.model}",
                    "version": "sandbox",
                    "arch": options.model,
                }
            },
        }
        return {"metadata": metadata, "results": {"channels": [{"alternatives": [alternative]}]}}


def _options(query: QueryParams) -> ListenOptions:
    for name in BOOLEAN_PARAMETERS & set(query.keys()):
        if query[name] not in {"true", "false"}:
            raise EmulatorError(
                400,
                f"Failed to deserialize query parameters: {name}: provided string was not "
                "`true` or `false`",
                err_code="INVALID_QUERY_PARAMETER",
            )
    model = query.get("model", DEFAULT_MODEL)
    if model != DEFAULT_MODEL and model not in MODELS:
        raise EmulatorError(
            400,
            "No such model/language/tier combination found. Use the /v1/models endpoint to "
            "see the models available to your project.",
        )
    return ListenOptions(
        model=model,
        language=query.get("language", "en"),
        punctuate=query.get("punctuate") == "true",
        smart_format=query.get("smart_format") == "true",
        paragraphs=query.get("paragraphs") == "true",
    )


async def _audio(request: Request) -> bytes:
    """The raw body, or with a JSON body the audio at its `url` (hosted files)."""
    body = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return body
    try:
        url = json.loads(body)["url"]
    except (ValueError, KeyError, TypeError):
        raise EmulatorError(400, BAD_JSON) from None
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise EmulatorError(
            400, f"Could not fetch the remote media: {exc}", err_code="REMOTE_CONTENT_ERROR"
        ) from None
    if response.is_error:
        raise EmulatorError(
            400,
            f"The remote server hosting the media returned a client error: "
            f"{response.status_code} {response.reason_phrase}.",
            err_code="REMOTE_CONTENT_ERROR",
        )
    return response.content


def _unformatted(text: str) -> str:
    """How Deepgram writes a transcript without punctuate/smart_format: lower case, bare."""
    return " ".join(_bare(word) for word in text.split() if _bare(word))


def _bare(word: str) -> str:
    return word.strip(_STRIP).lower()


def _words(spoken: str, duration: float, formatted: bool) -> list[dict[str, Any]]:
    tokens = [token for token in spoken.split() if _bare(token)]
    step = duration / len(tokens) if tokens else 0.0
    words = []
    for index, token in enumerate(tokens):
        word: dict[str, Any] = {
            "word": _bare(token),
            "start": round(index * step, 3),
            "end": round((index + 1) * step, 3),
            "confidence": 0.98,
        }
        if formatted:
            word["punctuated_word"] = token
        words.append(word)
    return words


def _paragraphs(transcript: str, words: list[dict[str, Any]]) -> dict[str, Any]:
    start, end = words[0]["start"], words[-1]["end"]
    sentence = {"text": transcript, "start": start, "end": end}
    paragraph = {"sentences": [sentence], "num_words": len(words), "start": start, "end": end}
    return {"transcript": "\n" + transcript, "paragraphs": [paragraph]}
