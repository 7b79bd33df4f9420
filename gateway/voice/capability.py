"""Calls: Africa's Talking Voice's callback on the same journeys as the short code, the
recorded prompts it plays, and `alafia voice prompts` (the recordings still missing)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.voice import africastalking
from db.sessions import SessionStore
from gateway.callback_guard import CallbackGuard, Refused
from gateway.capability import Built, Capability
from gateway.catalogues import installed
from gateway.catalogues.offer import offered_screens
from gateway.commands import CommandGroup, Context
from gateway.infrastructure import Shared
from gateway.metrics import events
from gateway.ussd.capability import Ussd
from gateway.voice.prompts import SUFFIX, Prompts
from gateway.voice.service import VoiceService
from gateway.voice.speech import Speech
from menus.engine import Engine
from menus.journeys import all_journeys
from menus.spoken import SpokenRenderer

PROMPTS_PATH = "/voice/prompts"


class Voice(Capability):
    name = "voice"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings, voice = shared.settings, shared.settings.voice
        catalogues = offered_screens(settings)  # the languages USSD offers, in its order
        ussd = built.get(Ussd).service  # its caller lookup and effects, shared
        public = settings.payments.public_base_url
        token = settings.sms.callback_token
        renderer = SpokenRenderer(catalogues, settings.default_language)
        self.guard = CallbackGuard(token, settings.callback_networks)
        self.prompts = Prompts(voice.prompts_dir, voice.prompts_url or public + PROMPTS_PATH)
        speech = Speech(
            renderer,
            catalogues,
            settings.default_language,
            self.prompts,
            callback_url=f"{public}/voice" + (f"?token={quote(token, safe='')}" if token else ""),
            tts_languages=voice.tts_languages,
            voice=voice.tts_voice,
            digits_timeout=voice.digits_timeout,
            record_seconds=voice.record_seconds,
            callback_number=voice.callback_number,
        )
        self.service = VoiceService(
            Engine(all_journeys(), catalogues, renderer=renderer),
            SessionStore(shared.redis, voice.session_ttl, settings.ussd_resume_ttl, "voice"),
            ussd.host,
            ussd.callers,
            speech,
        )

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/voice", self.callback, methods=["POST"]),
            Route(PROMPTS_PATH + "/{language}/{file}", self.prompt, methods=["GET", "HEAD"]),
        ]

    async def callback(self, request: Request) -> Response:
        """Africa's Talking Voice callback: XML for a call going on, empty once it ended."""
        try:
            self.guard.check(request)
        except Refused as refused:
            # Not the provider: nothing is read. A caller still hears a sentence.
            events.voice_turn(events.NO_JOURNEY, events.REFUSED)
            return xml(self.service.refusal(), refused.status, {"X-Refused": refused.reason})
        call = africastalking.parse_callback(await request.body())
        if call is not None and not call.active:
            await self.service.hang_up(call)
            return Response(b"", status_code=200)
        return xml(await self.service.answer(call))

    async def prompt(self, request: Request) -> Response:
        """A recorded prompt, for the provider's `Play`: recordings of the catalogue's
        sentences, public like the menus themselves."""
        language, file = request.path_params["language"], request.path_params["file"]
        found = self.prompts.file(language, file.removesuffix(SUFFIX))
        if found is None or not file.endswith(SUFFIX):
            return PlainTextResponse("no such recording", status_code=404)
        return FileResponse(found, media_type="audio/mpeg")

    @staticmethod
    def add_commands(commands: CommandGroup[Any]) -> None:
        voice = commands.add_parser("voice", help="calls").add_subparsers(title="voice commands")
        prompts = voice.add_parser(
            "prompts", help="the recordings a language still misses (one name a line)"
        )
        prompts.add_argument("--language", required=True, help="a catalogue's code, e.g. fon")
        prompts.set_defaults(run=_missing_prompts)


def xml(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers, media_type=africastalking.CONTENT_TYPE)


def _missing_prompts(context: Context, args: argparse.Namespace) -> int:
    # Drafts too: a language's recordings are made while its texts are being reviewed.
    catalogues = installed.catalogues(installed.SCREENS, context.settings.catalogues_dir)
    catalogue = catalogues.get(args.language)
    if catalogue is None:
        print(
            f"not listed: no catalogue {args.language!r} (there are {', '.join(catalogues)})",
            file=sys.stderr,
        )
        return 2
    voice = context.settings.voice
    prompts = Prompts(voice.prompts_dir, voice.prompts_url or "")
    missing = prompts.missing(catalogue)
    for name in missing:
        print(f"{args.language}/{name}.mp3")
    where = voice.prompts_dir / args.language
    print(f"{len(missing)} recordings missing in {where}", file=sys.stderr)
    return 0
