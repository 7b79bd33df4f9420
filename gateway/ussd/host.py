"""What every channel that runs the menus shares, the short code and calls alike: the
context a turn runs in (the day, the scheme, the languages offered) and the effects its
steps ask for, applied until the engine has something to show."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from db.sessions import SessionStore
from gateway.scheme.cache import SchemeCache
from gateway.ussd.effect_runner import EffectRunner
from menus.context import MenuContext
from menus.engine import Engine, Step
from menus.identifiers import NationalIdRule
from menus.state import SessionState
from menus.text import Catalogue

MAX_EFFECTS_PER_TURN = 4


class MenuHost:
    def __init__(
        self,
        scheme: SchemeCache,
        effects: EffectRunner,
        catalogues: Mapping[str, Catalogue],
        *,
        max_chars: int,
        default_language: str,
        national_id: NationalIdRule,
        country: str,
        timezone: str,
        clock: Callable[[], date] | None = None,
        payments_available: bool = False,
        resume_minutes: int = 10,
    ) -> None:
        self.scheme = scheme
        self.effects = effects
        self.payments_available = payments_available
        self.resume_minutes = resume_minutes  # how long a dropped journey is kept
        self.max_chars = max_chars
        self.default_language = default_language
        self.national_id = national_id
        self.country = country
        self.zone = ZoneInfo(timezone)
        self.clock = clock  # tests fix the day; production reads the scheme's calendar
        # The catalogues are the languages offered, in the language menu's order
        # (gateway/catalogues/offer.py decides both).
        self.languages = {code: c.texts["language_name"] for code, c in catalogues.items()}

    def opening(
        self, engine: Engine, raw_resume: str | None, caller: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, str]:
        """What a new session may continue (the phone's dropped journey, if the engine
        still has its node) and the language it starts in: the snapshot's, the caller's
        own, or the default, whichever is first and still offered."""
        resume = orjson.loads(raw_resume) if raw_resume else None
        if resume is not None and resume.get("node") not in engine.nodes:
            resume = None  # a snapshot from a journey that has since changed
        if resume is not None and resume.get("language") not in engine.catalogues:
            resume = {**resume, "language": self.default_language}  # no longer offered
        language = str(
            (resume or {}).get("language") or caller.get("language") or self.default_language
        )
        if language not in engine.catalogues:
            language = self.default_language
        return resume, language

    def today(self) -> date:
        return self.clock() if self.clock else datetime.now(self.zone).date()

    async def context(self) -> MenuContext:
        """Once per turn: the day and the scheme hold for all of it."""
        return MenuContext(
            scheme=await self.scheme.get(),
            today=self.today(),
            max_chars=self.max_chars,
            languages=self.languages,
            national_id=self.national_id,
            country=self.country,
            payments=self.payments_available,
            resume_minutes=self.resume_minutes,
        )

    async def settle(
        self, engine: Engine, step: Step, ctx: MenuContext, request_key: str, phone: str
    ) -> Step:
        """`step` once every effect it asks for is applied (`request_key` names the turn's
        session, so that an enrolment is recorded once)."""
        for _ in range(MAX_EFFECTS_PER_TURN):
            if step.effect is None:
                return step
            result = await self.effects.apply(
                step.effect, request_key=request_key, today=ctx.today, phone=phone
            )
            step = engine.resume(step.state, result, ctx)
        raise RuntimeError("a journey asked for too many effects in one turn")


async def keep_turn(
    engine: Engine,
    store: SessionStore,
    session_id: str,
    phone: str,
    version: int,
    state: SessionState,
) -> bool:
    """Store the turn's session and what a dropped one may be continued from; False when
    another turn of the same session was stored first."""
    snapshot = engine.resumable(state)
    if snapshot is not None:
        state.owns_resume = True
    # Only the session that wrote the snapshot clears it on an outcome: one that merely
    # passed a closed campaign must not erase another, unfinished enrolment.
    forget = state.forget_resume or (state.owns_resume and engine.finished_resumable(state))
    state.forget_resume = False  # done by this save
    return await store.save(
        session_id,
        phone,
        version,
        state.dumps(),
        orjson.dumps(snapshot, option=orjson.OPT_NON_STR_KEYS).decode() if snapshot else None,
        keep_resume=snapshot is None and not forget,
    )
