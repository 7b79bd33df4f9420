"""One USSD hop: line up the aggregator's text with the session, run the menus,
apply what they ask, store the session, answer with a screen. Always a screen.

Redis cost per hop: one MGET (session and resume snapshot) and one script call that
writes both if nobody else wrote the session meanwhile. The database is read on the
first hop (who is calling) and written only by effects (enrolment).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from adapters.ussd import africastalking
from adapters.ussd.africastalking import Hop
from db.sessions import SessionStore
from gateway.limits.rates import Throttled
from gateway.metrics import events
from gateway.ussd.callers import CallerService
from gateway.ussd.host import MenuHost, keep_turn
from menus import screens
from menus.context import MenuContext
from menus.engine import Engine, Step
from menus.identifiers import PhoneNumberError, mask_phone, normalise_phone
from menus.state import SessionState
from menus.text import Catalogue, T

log = logging.getLogger(__name__)

# The operator waits about 10 s for a reply: past this, say "unavailable" while we still can.
HOP_BUDGET = 8.0
MAX_TEXT = 1000  # a whole session of typing is far below this
MAX_SESSION_ID = 100  # it names the enrolment request (households.request_key)
MAX_FIRST_HOP_INPUTS = 40


class UssdService:
    def __init__(
        self, engine: Engine, store: SessionStore, host: MenuHost, callers: CallerService
    ) -> None:
        self.engine = engine
        self.store = store
        self.host = host  # the turn's context and effects, shared with calls
        self.callers = callers
        self.max_chars = host.max_chars
        self.default_language = host.default_language
        self.country = host.country

    async def answer(self, hop: Hop | None) -> str:
        """Never raises: a phone must get a proper screen, whatever failed inside."""
        started = time.perf_counter()
        seen = Seen(self.default_language)
        try:
            if hop is None or not _well_formed(hop):
                seen.result = events.REFUSED
                return self.refusal()
            phone = normalise_phone(hop.phone_number, self.country)
            async with asyncio.timeout(HOP_BUDGET):
                reply = await self._answer(hop, phone, seen)
            return screens.clip_to_limit(reply, self.max_chars)
        except Throttled as throttled:
            # A scan of member numbers, or a desk far busier than any: ends here, politely.
            minutes = throttled.verdict.retry_minutes
            return self._screen(seen.language, T("too_many_checks", {"minutes": minutes}))
        except PhoneNumberError:
            log.warning(
                "USSD hop with an unusable phone number (session %s)", hop.session_id if hop else ""
            )
            seen.result = events.REFUSED
            return self.refusal()
        except (RedisError, SQLAlchemyError, OSError, TimeoutError) as error:
            # The type only: a database error's text can carry the names being written.
            log.error("USSD hop failed, service unavailable: %s", type(error).__name__)
            seen.result = events.UNAVAILABLE
            return self._notice(seen.language, "service_unavailable")
        except Exception as error:
            log.error(
                "USSD hop failed unexpectedly: %s",
                type(error).__name__,
                exc_info=_trace_only(error),
            )
            seen.result = events.UNAVAILABLE
            return self._notice(seen.language, "service_unavailable")
        finally:
            events.hop_answered(seen.journey, seen.result, time.perf_counter() - started)

    async def _answer(self, hop: Hop, phone: str, seen: Seen) -> str:
        loaded = await self.store.load(hop.session_id, phone)
        ctx = await self.host.context()
        if loaded.state is None:
            step, inputs = await self._open(hop, phone, loaded.resume, ctx)
        else:
            state = SessionState.loads(loaded.state)
            if africastalking.already_seen(state.consumed, hop.text):
                seen.journey = journey_of(state.node)
                return state.reply  # the aggregator sent this hop again: same answer, applied once
            step, inputs = Step(state), [africastalking.new_input(state.consumed, hop.text)]
        seen.language = step.state.language
        applied: list[tuple[str, bool]] = []
        for text in inputs:
            applied.append((text, self.engine.is_secret(step.state.node)))
            step = await self._settle(self.engine.advance(step.state, text, ctx), hop, phone, ctx)
            seen.language = step.state.language
        state = step.state
        seen.journey = journey_of(state.node)
        # An agent's PIN is in the aggregator's text from its hop on: kept masked.
        state.consumed = africastalking.kept_text(state.consumed, hop.text, applied)
        if not await keep_turn(
            self.engine, self.store, hop.session_id, phone, loaded.version, state
        ):
            return await self._lost_race(hop, phone)
        return state.reply

    async def _open(
        self, hop: Hop, phone: str, raw_resume: str | None, ctx: MenuContext
    ) -> tuple[Step, list[str]]:
        caller = await self.callers.caller(phone)
        # Digits dialled with the code (*384*22*2#) choose from the first screen; they
        # must not answer a resume offer the person has not seen.
        resume, language = self.host.opening(self.engine, None if hop.text else raw_resume, caller)
        step = await self._settle(
            self.engine.start(replace(ctx, resume=resume), language, caller), hop, phone, ctx
        )
        log.info("USSD session %s opened by %s", hop.session_id, mask_phone(phone))
        return step, africastalking.first_inputs(hop.text)[:MAX_FIRST_HOP_INPUTS]

    async def _settle(self, step: Step, hop: Hop, phone: str, ctx: MenuContext) -> Step:
        return await self.host.settle(self.engine, step, ctx, f"ussd:{hop.session_id}", phone)

    async def _lost_race(self, hop: Hop, phone: str) -> str:
        """Another copy of this hop (or a faster next hop) was stored first: show what
        that stored session shows, so the phone sees one consistent journey."""
        loaded = await self.store.load(hop.session_id, phone)
        if loaded.state is None:
            return self._notice(self.default_language, "service_unavailable")
        return SessionState.loads(loaded.state).reply

    def refusal(self) -> str:
        return self._notice(self.default_language, "bad_request")

    def _notice(self, language: str, key: str) -> str:
        return self._screen(language, T(key))

    def _screen(self, language: str, text: T) -> str:
        catalogue: Catalogue = (
            self.engine.catalogues.get(language) or self.engine.catalogues[self.default_language]
        )
        return screens.clip_to_limit(screens.END + catalogue.render(text), self.max_chars)


@dataclass
class Seen:
    """What a hop learnt on its way: the language of its error screen, should it fail,
    and what its metrics are counted under."""

    language: str
    journey: str = events.NO_JOURNEY
    result: str = events.ANSWERED


def journey_of(node: str) -> str:
    """The journey a node belongs to (nodes are named `journey.node`): a fixed list."""
    return node.split(".", 1)[0]


def _well_formed(hop: Hop) -> bool:
    return (
        0 < len(hop.session_id) <= MAX_SESSION_ID
        and 0 < len(hop.phone_number) <= 32
        and len(hop.text) <= MAX_TEXT
    )


def _trace_only(error: Exception) -> bool:
    """Tracebacks for our own bugs; none for database errors, which carry row values."""
    return not isinstance(error, SQLAlchemyError)
