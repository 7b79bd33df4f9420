"""What the payment tests share: a gateway configured for one provider, a clock they move,
and the phone steps of enrolling and paying."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.settings import Settings
from tests.conftest import TODAY, Clock
from tests.support.ussd_phone import Phone

ZONE = ZoneInfo("Africa/Porto-Novo")
PAY_ALL = ["2", "1", "1", "1", "1"]  # pay, my household, everything, this number, confirm


class Now:
    """The gateway's clock for payments: tests move it instead of waiting."""

    def __init__(self) -> None:
        self.at = datetime(TODAY.year, TODAY.month, TODAY.day, 9, 0, tzinfo=ZONE)

    def __call__(self) -> datetime:
        return self.at


@asynccontextmanager
async def paying_gateway(
    settings: Settings, provider: str, environ: Mapping[str, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    """The gateway with `provider` as its default, driven in-process; its payment settings
    (the provider's own included) read from `environ` as from the process's environment."""
    from gateway.app import create_app

    payments = Settings.from_env(
        {**environ, "PAYMENT_PROVIDER": provider, "PUBLIC_BASE_URL": "https://gateway.example.org"}
    ).payments
    paying = dataclasses.replace(settings, payments=payments)
    now = Now()
    app = create_app(paying, Clock(TODAY), now=now)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http, now


async def enrol(http: httpx.AsyncClient, phone_number: str, persons: int = 3) -> str:
    """A household enrolled by USSD from `phone_number`; its head's member number."""
    phone = Phone(http, phone_number)
    await phone.dial("1")
    # Kandi (one product), the head, no NPI (2), the household's size
    answers = ["1", "1", "Dah Kpadé", "1980", "2", str(persons)]
    for i in range(persons - 1):
        answers += [f"Enfant{'abcdefgh'[i]}", "3", "2004"]  # a son, grown up: adult price
    answers.append("1")  # the head is a man: no spouse said so
    for answer in answers:
        await phone.type(answer)
    reply = await phone.type("1")
    # With payments on, the end offers to pay at once (CON); the member number either way.
    assert "Bienvenue" in reply, reply
    return reply.split("membre: ")[1][:9]


async def pay_by_ussd(http: httpx.AsyncClient, phone_number: str, answers: list[str]) -> str:
    """A new session from a known phone (its household's language, straight to the menu)."""
    phone = Phone(http, phone_number)
    reply = await phone.dial("")
    for answer in answers:
        reply = await phone.type(answer)
    return reply


def one_payment(db: Session) -> dict[str, Any]:
    db.expire_all()
    rows = (
        db.execute(
            text(
                "SELECT reference, status, amount, currency, reason, receipt_no,"
                " provider, operator, provider_transaction_id FROM payments"
            )
        )
        .mappings()
        .all()
    )
    assert len(rows) == 1, rows
    return dict(rows[0])


def period(db: Session) -> tuple[int, str]:
    db.expire_all()
    paid, status = db.execute(text("SELECT amount_paid, status FROM coverage_periods")).one()
    return paid, status


def count(db: Session, sql: str) -> int:
    db.expire_all()
    return int(db.execute(text(sql)).scalar_one())
