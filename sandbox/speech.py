"""What the speech-to-text emulators (Deepgram, OpenAI-compatible Whisper) share.

They do not recognise speech. A test says what a piece of audio "says":

    deepgram.transcripts.say(clip_bytes, "Schedule a team meeting tomorrow at 10.")

and the emulator answers with that transcript whenever it receives those exact bytes
(matched by SHA-256). Audio nobody registered transcribes to "" — what a real service
returns for a clip with no speech in it, such as a generated tone.

What they do check, like the real services, is that the body is an audio (or video)
container at all: `audio_container` reads the file signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import wave

# (offset, signature, container) — the first bytes of each container the services accept.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"OggS", "ogg"),
    (0, b"fLaC", "flac"),
    (0, b"ID3", "mp3"),
    (0, b"\x1a\x45\xdf\xa3", "webm"),  # EBML: WebM and Matroska
    (4, b"ftyp", "mp4"),  # ISO base media: mp4, m4a, mov
)

# A bit rate to estimate durations of compressed audio (a voice clip at ~128 kbit/s).
_COMPRESSED_BYTES_PER_SECOND = 16_000


def audio_container(data: bytes) -> str | None:
    """The container format of `data` ("wav", "ogg", "mp3", …), or None if it is not one."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    for offset, signature, container in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return container
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:  # an MPEG frame sync
        return "mp3"
    return None


def duration_seconds(data: bytes) -> float:
    """The audio's length: exact for WAV, estimated from the size for compressed audio."""
    if audio_container(data) == "wav":
        with (
            contextlib.suppress(wave.Error, EOFError, ZeroDivisionError),
            wave.open(io.BytesIO(data)) as clip,
        ):
            return clip.getnframes() / float(clip.getframerate())
    return round(len(data) / _COMPRESSED_BYTES_PER_SECOND, 3)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TranscriptBook:
    """What each registered piece of audio says, keyed by the SHA-256 of its bytes."""

    def __init__(self) -> None:
        self._by_hash: dict[str, str] = {}
        self._lock = threading.Lock()

    def say(self, audio: bytes, transcript: str) -> None:
        """Make `audio` transcribe to `transcript` (as spoken, with punctuation)."""
        with self._lock:
            self._by_hash[sha256_hex(audio)] = transcript

    def transcript_for(self, audio: bytes) -> str:
        with self._lock:
            return self._by_hash.get(sha256_hex(audio), "")
