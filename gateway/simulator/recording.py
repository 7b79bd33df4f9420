"""What a simulated caller "says" when a voice menu records them: half a second of
silence as a WAV file, served at `/simulator/recording.wav` so that the voice channel
fetches a real recording from a real URL, as it would from Africa's Talking."""

from __future__ import annotations

import io
import wave

RATE = 8000  # telephone audio


def silence(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(RATE)
        audio.writeframes(b"\x00\x00" * int(RATE * seconds))
    return buffer.getvalue()


SILENCE = silence()
