"""The voice section of the settings: Africa's Talking Voice calls on the same journeys.

The callbacks carry AT_CALLBACK_TOKEN and come back to PUBLIC_BASE_URL/voice (both read
elsewhere). What is read here: where the recorded prompts live and where the provider
fetches them, which languages its text-to-speech speaks, how long a caller has, and the
number a call that gets no answer tells people to call back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.settings.environment import Environment

VOICES = ("woman", "man")


@dataclass(frozen=True)
class VoiceSettings:
    prompts_dir: Path  # <dir>/<language>/<catalogue key>.mp3
    # Where the provider fetches them; None: served here, at PUBLIC_BASE_URL/voice/prompts.
    prompts_url: str | None
    tts_languages: tuple[str, ...]  # the provider's text-to-speech speaks these
    tts_voice: str  # "woman" or "man"
    callback_number: str | None  # said when a call ends for lack of an answer
    session_ttl: int  # seconds a call's session is kept in Redis
    digits_timeout: int  # seconds the caller has to press a key
    record_seconds: int  # the longest recorded answer (a name)

    @classmethod
    def _read(cls, env: Environment, data_dir: Path) -> VoiceSettings:
        languages = tuple(
            code.strip().lower()
            for code in env.text("VOICE_TTS_LANGUAGES", "fr,en").split(",")
            if code.strip()
        )
        return cls(
            prompts_dir=Path(env.text("VOICE_PROMPTS_DIR") or data_dir / "voice-prompts"),
            prompts_url=env.text("VOICE_PROMPTS_URL").rstrip("/") or None,
            tts_languages=languages,
            tts_voice=env.choice("VOICE_TTS_VOICE", "woman", VOICES),
            callback_number=env.text("VOICE_CALLBACK_NUMBER") or None,
            session_ttl=env.whole_number("VOICE_SESSION_TTL", 1800, 60, 86_400),
            digits_timeout=env.whole_number("VOICE_DIGITS_TIMEOUT", 15, 3, 60),
            record_seconds=env.whole_number("VOICE_RECORD_SECONDS", 10, 3, 60),
        )
