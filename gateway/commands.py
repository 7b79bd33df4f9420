"""What every CLI command is given, and the helpers commands share.

A command is `run(context, args) -> exit status`: 0 done, 1 nothing done on purpose (the
operator said no), 2 refused with the reason on stderr. It runs its database work on an
engine of its own (`context.with_sessions`) and reads the time from `context.now`, which
tests fix.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from gateway.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy only for the commands that need it: `--help` stays quick
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    settings: Settings
    now: Callable[[], datetime]

    def with_sessions(self, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
        """Run one piece of async database work on an engine of its own."""
        from db.engine import create_engine_async, session_factory
        from gateway.caller_changes import for_commands

        async def run() -> T:
            engine = create_engine_async(self.settings.database_url)
            try:
                return await work(session_factory(engine, for_commands(self.settings)))
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def phones(self, typed: Iterable[str]) -> list[str]:
        """Phone numbers as typed, in E.164; ValueError names the one that is not."""
        from menus.identifiers import PhoneNumberError, normalise_phone

        phones = []
        for phone in typed:
            try:
                phones.append(normalise_phone(phone, self.settings.country))
            except PhoneNumberError:
                raise ValueError(f"{phone!r} is not a valid phone number") from None
        return phones

    def phone(self, typed: str) -> str:
        return self.phones([typed])[0]


CommandGroup = argparse._SubParsersAction  # what `add_subparsers()` returns: `alafia <group>`


class Command(Protocol):
    def __call__(self, context: Context, args: argparse.Namespace) -> int: ...


def refused(verb: str, error: Exception) -> int:
    """`not <verb>: <reason>` on stderr, exit status 2."""
    print(f"not {verb}: {error}", file=sys.stderr)
    return 2
