"""Spoken phrases into Africa's Talking's XML: recordings where they exist, the
provider's text-to-speech elsewhere, and what happens when the caller says nothing.

A phrase is played from its recordings when every one of them is there for the call's
language; otherwise it is said by text-to-speech, in the call's language when the
provider speaks it (VOICE_TTS_LANGUAGES), else in the default language's words (a Fon
catalogue without a recording for a phrase is heard in French).

A question is asked up to three times in one reply: the provider plays what follows a
`GetDigits` (or a `Record`) when nothing comes, so silence hears the question again
twice, then a goodbye with the number to call back.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.voice.africastalking import (
    Action,
    GetDigits,
    Play,
    Prompt,
    Record,
    Say,
    response,
)
from gateway.voice.prompts import Prompts
from menus.spoken import Phrase, Spoken, SpokenRenderer, Wants
from menus.text import Catalogue, T

ASKED = 3  # the question, then twice again on silence


class Speech:
    def __init__(
        self,
        renderer: SpokenRenderer,
        catalogues: dict[str, Catalogue],
        default_language: str,
        prompts: Prompts,
        *,
        callback_url: str,
        tts_languages: Sequence[str],
        voice: str,
        digits_timeout: int,
        record_seconds: int,
        callback_number: str | None,
    ) -> None:
        self.renderer = renderer
        self.catalogues = catalogues
        self.default_language = default_language
        self.prompts = prompts
        self.callback_url = callback_url
        self.tts_languages = frozenset(tts_languages)
        self.voice = voice
        self.digits_timeout = digits_timeout
        self.record_seconds = record_seconds
        self.callback_number = callback_number

    def reply(self, spoken: Spoken, language: str, before: Sequence[T] = ()) -> str:
        """The XML for one turn of the call: `before` (a notice of ours), then what the
        menus said, asked again on silence unless the call ends."""
        # The menus' phrases are looked up once (each recording is a file to find) and
        # said in all three asks.
        question = self._prompts(spoken.phrases, language)
        said = self._prompts(self._phrases(before, language), language) + question
        if spoken.wants is Wants.NOTHING:
            return response(said)
        again = self._prompts(self._phrases([T("voice_no_answer")], language), language) + question
        asks = [self._ask(spoken.wants, said)]
        asks += [self._ask(spoken.wants, again) for _ in range(ASKED - 1)]
        return response([*asks, *self._goodbye(language)])

    def notice(self, language: str, text: T) -> str:
        """A reply that only says `text`; the call ends after it."""
        return response(self._prompts(self._phrases([text], language), language))

    def _ask(self, wants: Wants, prompts: list[Prompt]) -> Action:
        if wants is Wants.SPEECH:
            return Record(
                prompts, self.callback_url, finish_on_key="#", max_length=self.record_seconds
            )
        return GetDigits(
            prompts,
            self.callback_url,
            timeout=self.digits_timeout,
            num_digits=1 if wants is Wants.KEY else None,
        )

    def _goodbye(self, language: str) -> list[Prompt]:
        text = (
            T("voice_goodbye_call", {"number": self.callback_number})
            if self.callback_number
            else T("voice_goodbye")
        )
        return self._prompts(self._phrases([text], language), language)

    def _phrases(self, texts: Sequence[T], language: str) -> list[Phrase]:
        catalogue = self.catalogues.get(language) or self.catalogues[self.default_language]
        return [self.renderer.phrase(text, catalogue) for text in texts]

    def _prompts(self, phrases: Sequence[Phrase], language: str) -> list[Prompt]:
        played: list[Prompt] = []
        for phrase in phrases:
            urls = [self.prompts.url(language, name) for name in phrase.recordings]
            if urls and all(urls):
                played += [Play(url) for url in urls if url]
            elif language in self.tts_languages or phrase.fallback is None:
                played.append(Say(phrase.text, self.voice))
            else:
                played.append(Say(phrase.fallback, self.voice))
        return played
