"""Synthetic voicemail audio: real WAV files (8 kHz, 16-bit, mono) holding a steady tone.

The simulator's voicemails and recordings must be genuine WAV files so that a download can be
checked end to end; a tone is the cheapest honest content. One period of the tone is computed
and repeated, so even a multi-megabyte file is built in milliseconds.
"""

from __future__ import annotations

import io
import math
import wave

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH
HEADER_SIZE = 44
# 400 Hz divides 8 kHz exactly, so one 20-sample period tiles the file without a seam.
_TONE_HZ = 400
_AMPLITUDE = 8000


def _tone_period() -> bytes:
    samples = SAMPLE_RATE // _TONE_HZ
    return b"".join(
        int(_AMPLITUDE * math.sin(2 * math.pi * i / samples)).to_bytes(2, "little", signed=True)
        for i in range(samples)
    )


_PERIOD = _tone_period()


def tone_wav(*, seconds: float | None = None, size: int | None = None) -> bytes:
    """A WAV file lasting `seconds`, or of about `size` bytes in total (exactly, when even)."""
    if (seconds is None) == (size is None):
        raise ValueError("give exactly one of seconds or size")
    if seconds is not None:
        data_size = int(seconds * SAMPLE_RATE) * SAMPLE_WIDTH
    else:
        data_size = max(0, (size or 0) - HEADER_SIZE) // SAMPLE_WIDTH * SAMPLE_WIDTH
    repeats = -(-data_size // len(_PERIOD))
    frames = (_PERIOD * repeats)[:data_size]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(frames)
    return out.getvalue()


def wav_seconds(size: int) -> int:
    """Whole seconds of audio in a WAV of `size` bytes built by `tone_wav`."""
    return max(0, size - HEADER_SIZE) // BYTES_PER_SECOND
