"""Households for the renewal journey of the USSD benchmark: enrolled and paid in cash
about eleven months before the real today, so that on the server's own clock their cover
ends within the renewal window and the main menu offers "Renouveler".

Written through the product's own services, told the day instead of moving dates by
hand: `EnrolmentService.enrol(..., today=paid_on)` with its clock on that day, then
`Billing.record_cash` (a cash payment at the desk) with its clock on the same day, which
settles the premium and opens the year's rights as a real payment would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.engine import create_engine_async, create_engine_sync, session_factory, sync_session_factory
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.settings import DEFAULT_TIMEZONE
from menus.effects import EnrolHousehold, PersonDraft
from menus.values import Channel

# The demo scheme's rolling family product (12 months from payment, window opening 60
# days before the end): paid 335 days ago, its cover ends in about a month.
PAID_DAYS_AGO = 335
RENEWAL_PHONE_PREFIX = "+2290196"  # + 6 digits; the enrolment journey dials +2290197...
MUTUAL, PRODUCT = "MS-PARAKOU", "FAMILLE"


def _person(last: str, first: str, sex: str, born: str, relationship: str) -> PersonDraft:
    return PersonDraft(last, first, sex, born, True, relationship)


# The same household as the enrolment journey types: a head and three dependants.
HEAD = _person("Houngbo", "Afi", "F", "1990-01-01", "head")
DEPENDANTS = (
    _person("Houngbo", "Jean", "M", "1988-04-15", "spouse"),
    _person("Houngbo", "Marc", "M", "2016-01-01", "child"),
    _person("Houngbo", "Ella", "F", "2019-01-01", "child"),
)


def renewal_phones(count: int, start: int) -> list[str]:
    return [f"{RENEWAL_PHONE_PREFIX}{(start + i) % 1_000_000:06d}" for i in range(count)]


def seed(database_url: str, phones: list[str], today: date | None = None) -> date:
    """Enrol and pay one household per phone; returns the day they paid."""
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    today = today or datetime.now(zone).date()
    paid_on = today - timedelta(days=PAID_DAYS_AGO)

    def at_ten() -> datetime:  # the services' clock, on the day the households paid
        return datetime.combine(paid_on, time(10), zone)

    engine = create_engine_sync(database_url)
    try:
        enrolment = EnrolmentService(sync_session_factory(engine), now=at_ten)
        asyncio.run(_enrol_and_pay(database_url, enrolment, phones, paid_on, at_ten))
    finally:
        engine.dispose()
    return paid_on


async def _enrol_and_pay(
    database_url: str,
    enrolment: EnrolmentService,
    phones: list[str],
    paid_on: date,
    now: Callable[[], datetime],
) -> None:
    engine = create_engine_async(database_url)
    try:
        billing = Billing(session_factory(engine), DEFAULT_TIMEZONE, now)
        for phone in phones:
            request = EnrolHousehold(MUTUAL, PRODUCT, phone, "fr", HEAD, DEPENDANTS)
            enrolled = await enrolment.enrol(request, f"bench-renewal-{phone}", paid_on)
            if enrolled["outcome"] != "enrolled":
                raise RuntimeError(f"seeding {phone}: enrolment answered {enrolled['outcome']}")
            await billing.record_cash(
                enrolled["member_no"],
                enrolled["premium_due"],
                "Afi Houngbo",
                channel=Channel.AGENT,
                request_key=f"bench-renewal-cash-{phone}",
            )
    finally:
        await engine.dispose()
