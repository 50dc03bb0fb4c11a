"""Real audio for the tests, made on the spot: a WAV tone from the stdlib `wave` module."""

from __future__ import annotations

import io
import math
import struct
import wave


def tone_wav(seconds: float = 0.5, frequency: float = 440.0, rate: int = 16_000) -> bytes:
    """A mono 16-bit PCM WAV file of a sine tone — a genuine audio container."""
    frames = int(seconds * rate)
    samples = (
        int(12_000 * math.sin(2 * math.pi * frequency * index / rate)) for index in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()
