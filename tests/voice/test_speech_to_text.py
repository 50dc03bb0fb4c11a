"""The speech-to-text providers against their emulators, and the emulators against the
services' official descriptions (shared/specs/deepgram.json, openai.json)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bot.voice import (
    Clip,
    DeepgramTranscriber,
    SpeechToTextNotConfigured,
    TranscriptionFailed,
    WhisperTranscriber,
    make_transcriber,
)
from sandbox.deepgram import DeepgramEmulator
from sandbox.server import EmulatorServer
from sandbox.whisper import WhisperEmulator
from tests.specs import (
    SpecMismatch,
    find_operation,
    load_spec,
    validate_response,
    validate_schema,
)
from tests.voice.audio import tone_wav
from tests.voice.conftest import voice_settings

SPOKEN = "Schedule a team meeting tomorrow at 10 with alice@example.com."
CLIP = Clip(
    id="F0CLIP0001",
    name="audio_message.webm",
    mimetype="audio/webm",
    size=None,
    download_url=None,
    owner="U0ALICE001",
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def check_listen_request(request: Any) -> None:
    """Every query parameter is one Deepgram documents for `POST /v1/listen`, with a
    valid value. (The description types `model` as `oneOf: [enum, string]`, which no
    public model name can satisfy, so it is checked against the enum branch.)"""
    operation = find_operation("deepgram", "POST", request.path)
    declared = {p.name: p for p in operation.parameters if p.location == "query"}
    assert set(request.query) <= set(declared), set(request.query) - set(declared)
    schemas = load_spec("deepgram")["components"]["schemas"]
    assert request.query["model"] in schemas["V1ListenPostParametersModel0"]["enum"]
    for name, value in request.query.items():
        if declared[name].schema.get("type") == "boolean":
            assert value in {"true", "false"}
    assert "authorization" in {p.name.lower() for p in operation.parameters}


# --- Deepgram ----------------------------------------------------------------------------


async def test_deepgram_transcribes_with_nova_3_and_smart_formatting(
    deepgram: DeepgramEmulator, http: httpx.AsyncClient
) -> None:
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)
    transcriber = DeepgramTranscriber(voice_settings(**deepgram.settings_overrides()), http)
    assert await transcriber.transcribe(CLIP, audio) == SPOKEN

    [request] = deepgram.received("/v1/listen", "POST")
    assert request.headers["authorization"] == f"Token {deepgram.api_key}"
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.query == {"model": "nova-3", "smart_format": "true", "language": "en"}
    assert request.body == audio
    check_listen_request(request)


@pytest.mark.parametrize(
    ("query", "registered"),
    [
        ({"model": "nova-3", "smart_format": "true"}, SPOKEN),
        ({"model": "nova-2", "punctuate": "false", "paragraphs": "true"}, SPOKEN),
        ({"language": "en-US"}, ""),  # a clip with no speech in it
    ],
)
async def test_deepgram_answers_match_the_official_description(
    deepgram: DeepgramEmulator, http: httpx.AsyncClient, query: dict[str, str], registered: str
) -> None:
    audio = tone_wav(seconds=0.8)
    if registered:
        deepgram.transcripts.say(audio, registered)
    response = await http.post(
        f"{deepgram.url}/v1/listen",
        params=query,
        content=audio,
        headers={"Authorization": f"Token {deepgram.api_key}", "Content-Type": "audio/wav"},
    )
    assert response.status_code == 200
    body = response.json()
    validate_response("deepgram", "/v1/listen", "POST", 200, body)
    alternative = body["results"]["channels"][0]["alternatives"][0]
    assert body["metadata"]["duration"] == pytest.approx(0.8)
    assert len(alternative["words"]) == len(registered.split())
    if query.get("smart_format") == "true":
        assert alternative["transcript"] == SPOKEN
        assert alternative["words"][-1]["punctuated_word"] == "alice@example.com."
    elif registered:  # unformatted: lower case, no punctuation, as Deepgram writes it
        assert alternative["transcript"] == SPOKEN.lower().rstrip(".")
    else:
        assert alternative["transcript"] == ""


async def test_deepgram_fetches_audio_named_by_a_json_url(
    deepgram: DeepgramEmulator, http: httpx.AsyncClient
) -> None:
    audio = tone_wav()
    deepgram.transcripts.say(audio, SPOKEN)

    async def hosted(_request: Any) -> Response:
        return Response(audio, media_type="audio/wav")

    with EmulatorServer(Starlette(routes=[Route("/clip.wav", hosted)])) as host:
        response = await http.post(
            f"{deepgram.url}/v1/listen?smart_format=true",
            json={"url": f"{host.url}/clip.wav"},
            headers={"Authorization": f"Token {deepgram.api_key}"},
        )
    assert response.status_code == 200
    assert response.json()["results"]["channels"][0]["alternatives"][0]["transcript"] == SPOKEN


@pytest.mark.parametrize(
    ("body", "headers", "query", "status", "err_code", "err_msg"),
    [
        (b"<html>not audio</html>", {}, {}, 400, "Bad Request", "corrupt or unsupported data"),
        (b"", {}, {}, 400, "Bad Request", "corrupt or unsupported data"),
        (b"{not json", {"Content-Type": "application/json"}, {}, 400, "Bad Request", "JSON"),
        (None, {}, {"smart_format": "yes"}, 400, "INVALID_QUERY_PARAMETER", "smart_format"),
        (None, {}, {"model": "nova-9"}, 400, "Bad Request", "No such model"),
        (None, {"Authorization": "Token wrong"}, {}, 401, "INVALID_AUTH", "Invalid credentials"),
    ],
)
async def test_deepgram_rejects_what_deepgram_rejects(
    deepgram: DeepgramEmulator,
    http: httpx.AsyncClient,
    body: bytes | None,
    headers: dict[str, str],
    query: dict[str, str],
    status: int,
    err_code: str,
    err_msg: str,
) -> None:
    response = await http.post(
        f"{deepgram.url}/v1/listen",
        params=query,
        content=tone_wav() if body is None else body,
        headers={"Authorization": f"Token {deepgram.api_key}", **headers},
    )
    assert response.status_code == status
    error = response.json()
    assert error["err_code"] == err_code
    assert err_msg in error["err_msg"]
    assert set(error) == {"err_code", "err_msg", "request_id"}
    # The description documents a 400 body as a ListenV1Response, which Deepgram's
    # published error bodies (reference/errors) are not: it cannot be held to that.
    with pytest.raises(SpecMismatch):
        validate_response("deepgram", "/v1/listen", "POST", 400, error)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 503}, "Deepgram had a problem (503)"),
        ({"status": 429, "retry_after": 1}, "rate-limiting ATOM"),
        ({"status": 402}, "out of credit"),
    ],
)
async def test_deepgram_failures_become_messages(
    deepgram: DeepgramEmulator, http: httpx.AsyncClient, fault: dict[str, Any], expected: str
) -> None:
    deepgram.fail("/v1/listen", **fault)
    transcriber = DeepgramTranscriber(voice_settings(**deepgram.settings_overrides()), http)
    with pytest.raises(TranscriptionFailed, match=re.escape(expected)) as failure:
        await transcriber.transcribe(CLIP, tone_wav())
    assert failure.value.retryable


async def test_deepgram_problems_carry_deepgrams_words_and_no_key(
    deepgram: DeepgramEmulator, http: httpx.AsyncClient
) -> None:
    transcriber = DeepgramTranscriber(voice_settings(**deepgram.settings_overrides()), http)
    with pytest.raises(TranscriptionFailed, match="corrupt or unsupported data"):
        await transcriber.transcribe(CLIP, b"this is not audio")

    wrong = voice_settings(
        deepgram_base_url=deepgram.url, deepgram_api_key=SecretStr("dg-wrong-key")
    )
    with pytest.raises(TranscriptionFailed, match="refused ATOM's API key") as refused:
        await DeepgramTranscriber(wrong, http).transcribe(CLIP, tone_wav())
    assert "dg-wrong-key" not in str(refused.value)


async def test_deepgram_timeout_and_unreachable(
    deepgram: DeepgramEmulator, http: httpx.AsyncClient
) -> None:
    deepgram.fail("/v1/listen", kind="delay", delay=1.0)
    slow = voice_settings(**deepgram.settings_overrides(), http_timeout_seconds=0.3)
    with pytest.raises(TranscriptionFailed, match=r"did not answer within 0\.3 s"):
        await DeepgramTranscriber(slow, http).transcribe(CLIP, tone_wav())

    gone = voice_settings(deepgram_base_url="http://127.0.0.1:9", deepgram_api_key="dg-key")
    with pytest.raises(TranscriptionFailed, match="couldn't reach Deepgram"):
        await DeepgramTranscriber(gone, http).transcribe(CLIP, tone_wav())


# --- OpenAI-compatible (Whisper) ---------------------------------------------------------


async def test_whisper_transcribes_through_the_openai_wire_format(
    whisper: WhisperEmulator, http: httpx.AsyncClient
) -> None:
    audio = tone_wav()
    whisper.transcripts.say(audio, SPOKEN)
    transcriber = make_transcriber(voice_settings(**whisper.settings_overrides()), http)
    assert isinstance(transcriber, WhisperTranscriber)
    assert await transcriber.transcribe(CLIP, audio) == SPOKEN

    [request] = whisper.received("/v1/audio/transcriptions", "POST")
    assert request.headers["authorization"] == f"Bearer {whisper.api_key}"
    assert b'name="language"\r\n\r\nen\r\n' in request.body
    assert b'name="response_format"\r\n\r\njson\r\n' in request.body
    assert b'filename="audio_message.webm"\r\nContent-Type: audio/webm' in request.body


@pytest.mark.parametrize("response_format", ["json", "text"])
async def test_whisper_answers_match_the_official_description(
    whisper: WhisperEmulator, http: httpx.AsyncClient, response_format: str
) -> None:
    audio = tone_wav()
    whisper.transcripts.say(audio, SPOKEN)
    response = await http.post(
        f"{whisper.url}/v1/audio/transcriptions",
        headers={"Authorization": f"Bearer {whisper.api_key}"},
        data={"model": "whisper-1", "response_format": response_format},
        files={"file": ("clip.wav", audio, "audio/wav")},
    )
    assert response.status_code == 200
    if response_format == "text":
        assert response.text == SPOKEN + "\n"
        return
    validate_response("openai", "/v1/audio/transcriptions", "POST", 200, response.json())
    assert response.json()["text"] == SPOKEN


async def test_whisper_rejections_are_openai_errors(
    whisper: WhisperEmulator, http: httpx.AsyncClient
) -> None:
    transcriber = WhisperTranscriber(voice_settings(**whisper.settings_overrides()), http)
    with pytest.raises(TranscriptionFailed, match="Invalid file format"):
        await transcriber.transcribe(CLIP, b"not audio at all")

    wrong = voice_settings(openai_base_url=f"{whisper.url}/v1", openai_api_key="sk-wrong-key")
    with pytest.raises(TranscriptionFailed, match="refused ATOM's API key") as refused:
        await WhisperTranscriber(wrong, http).transcribe(CLIP, tone_wav())
    assert "sk-wrong-key" not in str(refused.value)

    response = await http.post(
        f"{whisper.url}/v1/audio/transcriptions",
        headers={"Authorization": f"Bearer {whisper.api_key}"},
        files={"file": ("clip.wav", tone_wav(), "audio/wav")},
    )
    assert response.status_code == 400
    validate_schema("openai", "ErrorResponse", response.json())
    assert response.json()["error"]["param"] == "model"


async def test_a_self_hosted_whisper_server_needs_no_key(
    self_hosted_whisper: WhisperEmulator, http: httpx.AsyncClient
) -> None:
    audio = tone_wav()
    self_hosted_whisper.transcripts.say(audio, SPOKEN)
    overrides = self_hosted_whisper.settings_overrides()
    assert "openai_api_key" not in overrides
    transcriber = make_transcriber(voice_settings(**overrides), http)
    assert await transcriber.transcribe(CLIP, audio) == SPOKEN
    [request] = self_hosted_whisper.received("/v1/audio/transcriptions")
    assert "authorization" not in request.headers


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"stt_provider": "deepgram", "deepgram_api_key": None}, "DEEPGRAM_API_KEY"),
        (
            {"stt_provider": "openai", "openai_api_key": None, "openai_base_url": None},
            "ATOM_OPENAI_BASE_URL",
        ),
        ({"stt_provider": "watson"}, "ATOM_STT_PROVIDER"),
    ],
)
async def test_missing_configuration_says_what_to_set(
    http: httpx.AsyncClient, values: dict[str, Any], names: str
) -> None:
    with pytest.raises(SpeechToTextNotConfigured, match=names):
        make_transcriber(voice_settings(**values), http)


def test_emulator_settings_point_atom_at_the_emulators(
    deepgram: DeepgramEmulator, self_hosted_whisper: WhisperEmulator
) -> None:
    assert deepgram.settings_overrides() == {
        "deepgram_base_url": deepgram.url,
        "deepgram_api_key": deepgram.api_key,
    }
    assert self_hosted_whisper.settings_overrides() == {
        "openai_base_url": f"{self_hosted_whisper.url}/v1",
        "stt_provider": "openai",
    }
