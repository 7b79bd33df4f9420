"""Renewal reminders say how much and how: `cover_ending`, `grace_started`, `lapsed` and
the `campaign_renew` campaign carry next year's amount (gateway/sms/renewal_amounts.py)
and how to pay it (the short code, or an agent), in one GSM-7 SMS.

The amount is checked against the pricing contract itself (`pricing.quote` of the
household's current members for `calendar.next_year`), the way a renewal would price
the year; once a renewal is opened, what is still due on it; once paid, no reminder."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from gateway.catalogues.checks import sms_words
from gateway.enrolment.pricing import persons_of, quote
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.scheme.calendar import calendar_of, next_year
from gateway.sms.campaigns import Campaigns, Segment
from gateway.sms.outbox import Outbox
from menus import gsm
from menus.text import load_catalogues
from tests.conftest import TODAY
from tests.sms.test_reminders import now, pay_in_full, reminders_for, sessions
from tests.support.clock import Now
from tests.support.households import enrol_household

__all__ = ["now", "sessions"]  # the fixtures, shared with the reminders' tests

COVERED_UNTIL = date(2027, 12, 22)  # FAMILLE paid on TODAY: 30 days waiting, 12 months
GRACE_UNTIL = COVERED_UNTIL + timedelta(days=30)
RENEWAL_TEMPLATES = ("cover_ending", "grace_started", "lapsed", "campaign_renew")


def renewal_messages(db: Session) -> list[dict[str, Any]]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT template, params, text, encoding, segments FROM messages"
            " WHERE template IN ('cover_ending', 'grace_started', 'lapsed', 'campaign_renew')"
            " ORDER BY id"
        )
    ).mappings()
    return [dict(row) for row in rows]


def params_of(row: dict[str, Any]) -> dict[str, Any]:
    params = row["params"]
    return json.loads(params) if isinstance(params, str) else dict(params)


def priced(db: Session, today: date) -> int:
    """What renewing the household's latest year costs today, by the pricing contract."""
    db.expire_all()
    period = db.scalars(select(models.CoveragePeriod).order_by(models.CoveragePeriod.id)).first()
    assert period is not None
    household = db.get(models.Household, period.household_id)
    assert household is not None
    product = db.get(models.Product, household.product_id)
    assert product is not None
    year = next_year(calendar_of(product), period, today)
    persons = persons_of(db, household.id, today)
    return quote(db, product, household.category, persons, year, today).household_share


async def paid_household(
    enrolment: EnrolmentService, sessions: async_sessionmaker[AsyncSession], now: Now
) -> str:
    member_no = await enrol_household(enrolment)
    await pay_in_full(sessions, now, member_no)
    return member_no


def open_renewal(db: Session, *, paid: int, paid_in_full: bool) -> None:
    """A renewal of the household's year, opened (by the USSD, an agent) on 2027-11-01."""
    db.execute(
        text(
            "INSERT INTO coverage_periods (household_id, product_id, starts_on, persons,"
            " premium_due, amount_paid, paid_in_full_on, sponsor_share, sponsor_paid,"
            " waits_for_sponsor, waiting_days, cover_months, grace_days, status,"
            " renewal_of_id, channel, threshold_percent, carried_in)"
            " SELECT household_id, product_id, :opened, persons, 4725, :paid, :paid_on, 0, 0,"
            " waits_for_sponsor, 0, cover_months, grace_days, :status, id, 'ussd', 100, 0"
            " FROM coverage_periods"
        ),
        {
            "opened": date(2027, 11, 1),
            "paid": paid,
            "paid_on": date(2027, 11, 2) if paid_in_full else None,
            "status": "waiting" if paid_in_full else "pending_payment",
        },
    )
    db.commit()


async def test_cover_ending_says_next_years_amount_and_how_to_pay(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await paid_household(enrolment, sessions, now)
    day = COVERED_UNTIL - timedelta(days=30)
    now.day(day)

    await reminders_for(sessions, now).sweep(now())

    [message] = renewal_messages(db)
    amount = params_of(message)["amount"]
    assert amount == priced(db, day) > 0
    words = re.fullmatch(
        rf"Rappel: les droits de votre famille \(membre {member_no}\) prennent fin le "
        r"22/12/2027, dans 30 jours\. Renouvelez pour (.+?): \*384\*22# ou chez "
        r"un agent\.",
        message["text"],
    )
    assert words is not None, message["text"]
    assert words.group(1) == load_catalogues("gateway.sms", "templates")["fr"].money(amount)
    assert (message["encoding"], message["segments"]) == ("gsm7", 1)


async def test_cover_ending_counts_the_overpayment_a_renewal_would_carry(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    """Review #10: the SMS said the full premium while the renewal screen asked for it
    less the carried overpayment."""
    await paid_household(enrolment, sessions, now)
    db.execute(text("UPDATE payments SET refund_due = 700"))
    db.commit()
    day = COVERED_UNTIL - timedelta(days=30)
    now.day(day)

    await reminders_for(sessions, now).sweep(now())

    [message] = renewal_messages(db)
    assert params_of(message)["amount"] == priced(db, day) - 700 > 0


async def test_grace_asks_for_what_is_left_on_a_renewal_already_opened(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    await paid_household(enrolment, sessions, now)
    open_renewal(db, paid=1000, paid_in_full=False)
    now.day(COVERED_UNTIL + timedelta(days=1))

    await reminders_for(sessions, now).sweep(now())

    [message] = renewal_messages(db)
    assert message["template"] == "grace_started"
    assert params_of(message)["amount"] == 4725 - 1000


async def test_a_household_whose_renewal_is_paid_gets_no_grace_or_lapse_notice(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    await paid_household(enrolment, sessions, now)
    open_renewal(db, paid=4725, paid_in_full=True)
    job = reminders_for(sessions, now)

    for day in (COVERED_UNTIL + timedelta(days=1), GRACE_UNTIL + timedelta(days=1)):
        now.day(day)
        await job.sweep(now())

    db.expire_all()
    first_status = db.scalar(
        select(models.CoveragePeriod.status).where(models.CoveragePeriod.renewal_of_id.is_(None))
    )
    assert first_status == "lapsed"  # the old year ended all the same (and the register knows)
    assert renewal_messages(db) == []


async def test_a_lapsed_household_is_told_what_a_new_year_costs(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await paid_household(enrolment, sessions, now)
    day = GRACE_UNTIL + timedelta(days=1)
    now.day(day)

    await reminders_for(sessions, now).sweep(now())

    [message] = renewal_messages(db)
    assert message["template"] == "lapsed"
    assert params_of(message)["amount"] == priced(db, day)
    assert member_no in message["text"] and "ou chez un agent" in message["text"]


async def test_the_renew_campaign_quotes_each_household_and_skips_the_renewed(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    await enrol_household(enrolment, "+2290197000701", persons=3)
    await enrol_household(enrolment, "+2290197000702", persons=1)
    renewed = await enrol_household(enrolment, "+2290197000703", persons=2)
    await Billing(sessions, "Africa/Porto-Novo", now).record_cash(renewed, 3150, "Rose Assogba")
    db.execute(
        text(
            "INSERT INTO coverage_periods (household_id, product_id, starts_on, persons,"
            " premium_due, amount_paid, paid_in_full_on, sponsor_share, sponsor_paid,"
            " waits_for_sponsor, waiting_days, cover_months, grace_days, status,"
            " renewal_of_id, channel, threshold_percent, carried_in)"
            " SELECT p.household_id, p.product_id, :day, p.persons, 3150, 3150, :day, 0, 0,"
            " p.waits_for_sponsor, 0, p.cover_months, p.grace_days, 'waiting', p.id, 'agent',"
            " 100, 0 FROM coverage_periods p JOIN households h ON h.id = p.household_id"
            " WHERE h.phone = '+2290197000703'"
        ),
        {"day": TODAY + timedelta(days=1)},
    )
    db.commit()
    now.day(TODAY + timedelta(days=2))

    _, queued = await Campaigns(sessions, Outbox.standard(), now).send(
        Segment(mutual="MS-PARAKOU"), "campaign_renew", "staff:1"
    )

    messages = renewal_messages(db)
    assert queued == len(messages) == 2
    db.expire_all()
    phones = db.execute(
        text("SELECT phone FROM messages WHERE template = 'campaign_renew' ORDER BY id")
    ).scalars()
    assert list(phones) == ["+2290197000701", "+2290197000702"]
    three, one = (params_of(message)["amount"] for message in messages)
    assert three == 3 * one > 0  # each household priced on its own members


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("template", RENEWAL_TEMPLATES)
def test_every_renewal_reminder_is_one_gsm7_sms_with_the_longest_values(
    template: str, language: str
) -> None:
    catalogue = load_catalogues("gateway.sms", "templates")[language]

    words = sms_words(catalogue, template)

    assert "{amount}" in catalogue.texts[template]
    assert "*384*22#" in words and ("agent" in words)
    assert (gsm.encoding_of(words), gsm.segments(words)) == ("gsm7", 1), words
