"""The short code: Africa's Talking's USSD callback, the menus behind it, the effects
they ask for, and `alafia dial` (a terminal phone)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.ussd import africastalking
from db.resp import LeanRedis
from db.sessions import SessionStore
from gateway.agents.capability import Agents
from gateway.callback_guard import CallbackGuard, Refused
from gateway.capability import Built, Capability
from gateway.catalogues.offer import offered_screens
from gateway.commands import CommandGroup, Context
from gateway.enrolment.capability import Enrolment
from gateway.infrastructure import Shared
from gateway.metrics import events
from gateway.payments.capability import Payments
from gateway.register.capability import Register
from gateway.scheme.capability import Scheme
from gateway.settings import ConfigError
from gateway.ussd.callers import CallerService
from gateway.ussd.effect_runner import EffectRunner
from gateway.ussd.host import MenuHost
from gateway.ussd.service import UssdService
from menus.engine import Engine
from menus.identifiers import NationalIdRule
from menus.journeys import all_journeys


class Ussd(Capability):
    name = "ussd"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings = shared.settings
        catalogues = offered_screens(settings)
        if settings.default_language not in catalogues:
            raise ConfigError(f"DEFAULT_LANGUAGE {settings.default_language!r} has no catalogue")
        enrolment, payments = built.get(Enrolment), built.get(Payments)
        register, agents = built.get(Register), built.get(Agents)
        callers = CallerService(shared.sessions, shared.callers)
        self.guard = CallbackGuard(settings.ussd_callback_token, settings.callback_networks)
        self.lean = LeanRedis.for_client(shared.redis)
        self.store = SessionStore(
            shared.redis, settings.ussd_session_ttl, settings.ussd_resume_ttl, lean=self.lean
        )
        engine = Engine(all_journeys(), catalogues)
        host = MenuHost(
            built.get(Scheme).cache,
            EffectRunner(
                enrolment.service,
                enrolment.rights,
                callers,
                payments.service,
                register.eligibility,
                agents.pins,
                agents.desk,
                shared.limits.member_checks,
                enrolment.renewal,
            ),
            catalogues,
            max_chars=settings.ussd_max_chars,
            default_language=settings.default_language,
            national_id=NationalIdRule(settings.national_id_length),
            country=settings.country,
            timezone=settings.timezone,
            clock=shared.today,
            payments_available=payments.providers.available,
            resume_minutes=settings.ussd_resume_ttl // 60,
        )
        self.service = UssdService(engine, self.store, host, callers)

    async def stop(self) -> None:
        if self.lean is not None:
            await self.lean.aclose()

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/ussd", self.hop, methods=["POST"])]

    async def hop(self, request: Request) -> Response:
        """Africa's Talking USSD callback: always 200 with `CON ...` or `END ...`. Most
        hops are answered by `fast_path.UssdFastPath` before they reach this route."""
        status, text, headers = await self.respond(request, await request.body())
        return PlainTextResponse(text, status_code=status, headers=headers)

    async def respond(self, request: Request, body: bytes) -> tuple[int, str, dict[str, str]]:
        """(status, screen, headers) for a hop posted with `body`."""
        try:
            self.guard.check(request)
        except Refused as refused:
            # Not the aggregator: whoever can post here could claim any phone number (an
            # agent's included), so nothing is read. A phone still gets an END screen; the
            # reason goes in a header for whoever set the callback URL up.
            events.hop_answered(events.NO_JOURNEY, events.REFUSED, 0.0)
            return 403, self.service.refusal(), {"X-Refused": refused.reason}
        hop = africastalking.parse_hop(body)
        return 200, await self.service.answer(hop), {}

    @staticmethod
    def add_commands(commands: CommandGroup[Any]) -> None:
        dial = commands.add_parser(
            "dial", help="a terminal phone: a USSD session against a running gateway"
        )
        dial.add_argument("--url", default="http://127.0.0.1:8000/ussd")
        dial.add_argument("--phone", default="+2290197000001")
        dial.add_argument("--code", default="*384*22#")
        dial.add_argument("--input", help='answers separated by commas, e.g. "1,1,1,ADJOVI,Koffi"')
        dial.set_defaults(run=_dial)


def _dial(context: Context, args: argparse.Namespace) -> int:
    from gateway.ussd import dial

    answers = dial.scripted_answers(args.input) if args.input is not None else dial.prompt_answers()
    return dial.session(
        args.url, args.phone, args.code, answers, lambda screen: print(f"\n{screen}\n")
    )
