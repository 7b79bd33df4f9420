"""One USSD hop: line up the aggregator's text with the session, run the menus,
apply what they ask, store the session, answer with a screen. Always a screen.

Redis cost per hop: one MGET (session and resume snapshot) and one script call that
writes both if nobody else wrote the session meanwhile. The database is read on the
first hop (who is calling) and written only by effects (enrolment).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from db.sessions import SessionStore
from gateway.catalog import CatalogCache
from gateway.effects import EffectRunner
from menus import screens
from menus.context import MenuContext
from menus.engine import Engine, Step
from menus.identifiers import NationalIdRule, PhoneNumberError, mask_phone, normalise_phone
from menus.state import SessionState
from menus.text import Catalogue, T

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # a whole session of typing is far below this
MAX_FIRST_HOP_INPUTS = 40
MAX_EFFECTS_PER_HOP = 4


@dataclass(frozen=True)
class Hop:
    session_id: str
    service_code: str
    phone_number: str
    network_code: str
    text: str


class UssdService:
    def __init__(
        self,
        engine: Engine,
        store: SessionStore,
        catalog: CatalogCache,
        effects: EffectRunner,
        *,
        max_chars: int,
        default_language: str,
        national_id: NationalIdRule,
        country: str,
        timezone: str,
        clock: Callable[[], date] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.catalog = catalog
        self.effects = effects
        self.max_chars = max_chars
        self.default_language = default_language
        self.national_id = national_id
        self.country = country
        self.zone = ZoneInfo(timezone)
        self.clock = clock  # tests fix the day; production reads the scheme's calendar
        # The language menu lists the default language first, the others by code.
        order = sorted(engine.catalogues, key=lambda code: (code != default_language, code))
        self.languages = {code: engine.catalogues[code].texts["language_name"] for code in order}

    def today(self) -> date:
        return self.clock() if self.clock else datetime.now(self.zone).date()

    async def answer(self, hop: Hop) -> str:
        """Never raises: a phone must get a proper screen, whatever failed inside."""
        language = self.default_language
        try:
            if not hop.session_id or not hop.phone_number or len(hop.text) > MAX_TEXT:
                return self._notice(language, "bad_request")
            phone = normalise_phone(hop.phone_number, self.country)
            return await self._answer(hop, phone)
        except PhoneNumberError:
            log.warning("USSD hop with an unusable phone number (session %s)", hop.session_id[:40])
            return self._notice(language, "bad_request")
        except (RedisError, SQLAlchemyError, OSError, TimeoutError) as error:
            log.error("USSD hop failed, service unavailable: %s: %s", type(error).__name__, error)
            return self._notice(language, "service_unavailable")
        except Exception:
            log.exception("USSD hop failed unexpectedly (session %s)", hop.session_id[:40])
            return self._notice(language, "service_unavailable")

    async def _answer(self, hop: Hop, phone: str) -> str:
        loaded = await self.store.load(hop.session_id, phone)
        if loaded.state is None:
            step, inputs = await self._open(hop, phone, loaded.resume)
        else:
            state = SessionState.loads(loaded.state)
            if _already_seen(state.consumed, hop.text):
                return state.reply  # the aggregator sent this hop again: same answer, applied once
            step, inputs = Step(state), [_new_input(state.consumed, hop.text)]
        ctx = await self._context(None)
        for text in inputs:
            step = await self._settle(self.engine.advance(step.state, text, ctx), hop, ctx)
        state = step.state
        state.consumed = hop.text
        snapshot = self.engine.resumable(state)
        forget = state.data.pop("_forget_resume", False) or (snapshot is None and state.ended)
        written = await self.store.save(
            hop.session_id,
            phone,
            loaded.version,
            state.dumps(),
            json.dumps(snapshot, ensure_ascii=False) if snapshot else None,
            keep_resume=snapshot is None and not forget,
        )
        if not written:
            return await self._lost_race(hop, phone)
        return screens.clip_to_limit(state.reply, self.max_chars)

    async def _open(self, hop: Hop, phone: str, raw_resume: str | None) -> tuple[Step, list[str]]:
        caller = await self.effects.rights.caller(phone)
        resume = json.loads(raw_resume) if raw_resume else None
        language = str(
            (resume or {}).get("language") or caller.get("language") or self.default_language
        )
        if language not in self.engine.catalogues:
            language = self.default_language
        ctx = await self._context(resume)
        step = await self._settle(self.engine.start(ctx, language, caller), hop, ctx)
        log.info("USSD session %s opened by %s", hop.session_id[:40], mask_phone(phone))
        # A dial string with extra digits (*384*22*1*2#) arrives as text on the first hop.
        inputs = hop.text.split("*")[:MAX_FIRST_HOP_INPUTS] if hop.text else []
        return step, inputs

    async def _settle(self, step: Step, hop: Hop, ctx: MenuContext) -> Step:
        for _ in range(MAX_EFFECTS_PER_HOP):
            if step.effect is None:
                return step
            result = await self.effects.apply(
                step.effect, request_key=f"ussd:{hop.session_id}", today=ctx.today
            )
            step = self.engine.resume(step.state, result, ctx)
        raise RuntimeError("a journey asked for too many effects in one hop")

    async def _context(self, resume: dict[str, Any] | None) -> MenuContext:
        return MenuContext(
            catalog=await self.catalog.get(),
            today=self.today(),
            max_chars=self.max_chars,
            languages=self.languages,
            national_id=self.national_id,
            resume=resume,
        )

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
        catalogue: Catalogue = (
            self.engine.catalogues.get(language) or self.engine.catalogues[self.default_language]
        )
        return screens.clip_to_limit(screens.END + catalogue.render(T(key)), self.max_chars)


def _already_seen(consumed: str, text: str) -> bool:
    """The same hop again, or an older one arriving late."""
    return text == consumed or consumed.startswith(text + "*") or (text == "" and consumed != "")


def _new_input(consumed: str, text: str) -> str:
    if consumed == "":
        return text
    if text.startswith(consumed + "*"):
        return text[len(consumed) + 1 :]
    # Not a continuation of what we applied: take the last input, as typed.
    return text.rsplit("*", 1)[-1]
