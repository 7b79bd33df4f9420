"""One turn of a call: line the callback up with the call's session, run the menus on
the key pressed or the answer recorded, apply what they ask, store the session, answer
with XML. Always valid XML, whatever failed inside.

The journeys, the catalogues, the caller lookup and the effects are the USSD ones; only
the words differ (menus.spoken) and the session lives under its own Redis keys.
Callbacks are not cumulative like USSD's `text`: each carries only what was just
pressed, so a callback with neither keys nor a recording says the current question again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from adapters.voice.africastalking import Callback
from db.sessions import SessionStore
from gateway.limits.rates import Throttled
from gateway.metrics import events
from gateway.ussd.callers import CallerService
from gateway.ussd.host import MenuHost, keep_turn
from gateway.ussd.service import journey_of
from gateway.voice.speech import Speech
from menus import recorded
from menus.context import MenuContext
from menus.engine import Engine, Step
from menus.identifiers import PhoneNumberError, mask_phone, normalise_phone
from menus.spoken import Spoken
from menus.state import SessionState
from menus.text import T

log = logging.getLogger(__name__)

# The provider waits a few seconds for each reply: past this, say "unavailable" in time.
TURN_BUDGET = 8.0
MAX_DIGITS = 40  # far more than a member number or a phone number
KEYS = frozenset("0123456789*#")
CAUSE = re.compile(r"[A-Z_]{1,40}")  # NORMAL_CLEARING...: anything else is not logged


class VoiceService:
    def __init__(
        self,
        engine: Engine,
        store: SessionStore,
        host: MenuHost,
        callers: CallerService,
        speech: Speech,
    ) -> None:
        self.engine = engine
        self.store = store
        self.host = host  # the short code's: the same context and effects
        self.callers = callers
        self.speech = speech
        self.default_language = host.default_language
        self.country = host.country

    async def hang_up(self, call: Callback) -> None:
        """The call is over (`isActive=0`): its session goes; nothing is answered."""
        try:
            phone = normalise_phone(call.caller_number, self.country)
            await self.store.forget(call.session_id, phone)
        except PhoneNumberError:
            return
        except Exception as error:  # it expires by itself; the provider expects no reply
            log.warning("Voice call end not cleaned up: %s", type(error).__name__)
            return
        log.info(
            "Voice call %s from %s ended after %s s (%s)",
            call.session_id,
            mask_phone(phone),
            call.duration_seconds,
            call.hangup_cause if CAUSE.fullmatch(call.hangup_cause) else "no known cause",
        )

    async def answer(self, call: Callback | None) -> str:
        """The XML of this turn. Never raises: a caller must hear something."""
        journey, result = events.NO_JOURNEY, events.ANSWERED
        try:
            if call is None:
                result = events.REFUSED
                return self.refusal()
            phone = normalise_phone(call.caller_number, self.country)
            async with asyncio.timeout(TURN_BUDGET):
                reply, node = await self._answer(call, phone)
            journey = journey_of(node)
            return reply
        except Throttled as throttled:
            text = T("too_many_checks", {"minutes": throttled.verdict.retry_minutes})
            return self.speech.notice(self.default_language, text)
        except PhoneNumberError:
            log.warning("Voice callback with an unusable caller number")
            result = events.REFUSED
            return self.refusal()
        except (RedisError, SQLAlchemyError, OSError, TimeoutError) as error:
            # The type only: a database error's text can carry the names being written.
            log.error("Voice callback failed, service unavailable: %s", type(error).__name__)
            result = events.UNAVAILABLE
            return self.unavailable()
        except Exception as error:
            log.error(
                "Voice callback failed unexpectedly: %s",
                type(error).__name__,
                exc_info=not isinstance(error, SQLAlchemyError),
            )
            result = events.UNAVAILABLE
            return self.unavailable()
        finally:
            events.voice_turn(journey, result)

    def refusal(self) -> str:
        return self.speech.notice(self.default_language, T("bad_request"))

    def unavailable(self) -> str:
        return self.speech.notice(self.default_language, T("service_unavailable"))

    async def _answer(self, call: Callback, phone: str) -> tuple[str, str]:
        """The reply, and the node the call is at after it."""
        loaded = await self.store.load(call.session_id, phone)
        ctx = replace(await self.host.context(), by_voice=True)
        before: list[T] = []
        if loaded.state is None:
            if call.dtmf_digits is not None or call.recording_url is not None:
                # An answer to a question we no longer know (the session expired, or
                # Redis lost it): start again, and say so.
                before.append(T("voice_start_over"))
            step = await self._open(call, phone, loaded.resume, ctx)
        else:
            state = SessionState.loads(loaded.state)
            heard = self._heard(state, call)
            if heard is None or state.ended:
                step = Step(state, state.reply)  # say the question again
            else:
                step = await self._settle(self.engine.advance(state, heard, ctx), call, phone, ctx)
        state = step.state
        if not await keep_turn(
            self.engine, self.store, call.session_id, phone, loaded.version, state
        ):
            # Another callback of this call (a copy, or a late one) was stored first:
            # say what the stored session says, so the caller hears one consistent call.
            again = await self.store.load(call.session_id, phone)
            if again.state is None:
                return self.unavailable(), state.node
            state = SessionState.loads(again.state)
        return self.speech.reply(Spoken.loads(state.reply), state.language, before), state.node

    def _heard(self, state: SessionState, call: Callback) -> str | None:
        """The answer this callback carries for the question at `state.node`; None when
        it carries none (a recording for a keypad question, a repeated first callback)."""
        if call.recording_url is not None and self.engine.is_spoken(state.node):
            return recorded.answer(call.recording_url)
        if call.dtmf_digits is None:
            return None
        keys = "".join(key for key in call.dtmf_digits if key in KEYS)[:MAX_DIGITS]
        return keys.rstrip("#")

    async def _open(
        self, call: Callback, phone: str, raw_resume: str | None, ctx: MenuContext
    ) -> Step:
        caller = await self.callers.caller(phone)
        resume, language = self.host.opening(self.engine, raw_resume, caller)
        step = await self._settle(
            self.engine.start(replace(ctx, resume=resume), language, caller), call, phone, ctx
        )
        log.info("Voice call %s opened by %s", call.session_id, mask_phone(phone))
        return step

    async def _settle(self, step: Step, call: Callback, phone: str, ctx: MenuContext) -> Step:
        return await self.host.settle(self.engine, step, ctx, f"voice:{call.session_id}", phone)
