"""A part payment has a least amount per product (`min_part_payment`, 500 F on the demo's
family product): said where the amount is typed, refused with a screen that says what
to type, by mobile money and in an agent's cash alike, and in the ledger whatever path
records it. The whole rest due is always taken, however small."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from gateway.payments.ledger import PaymentRefused
from gateway.scheme.capability import Scheme
from gateway.settings import Settings
from menus.text import load_catalogues
from tests.payments.test_momo_flow import momo_environ
from tests.peers.momo import MomoPeer
from tests.support.agents import add_agent
from tests.support.gateway import part
from tests.support.households import enrol_household
from tests.support.http_server import serve
from tests.support.paying import Now, count, paying_gateway
from tests.support.ussd_phone import Phone

PHONE = "+2290197000921"
AGENT = "+2290197000922"
DUE = 4725  # three grown-ups on the family product
SCREENS = load_catalogues()


def money(amount: int, language: str = "fr") -> str:
    return SCREENS[language].money(amount)


@pytest.fixture
def peer() -> Iterator[tuple[MomoPeer, str]]:
    momo = MomoPeer()
    with serve(momo.app) as base_url:
        yield momo, base_url


@pytest.fixture
async def gateway(
    settings: Settings, clean: None, peer: tuple[MomoPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    async with paying_gateway(settings, "momo", momo_environ(peer)) as gateway:
        yield gateway


def payments(db: Session) -> list[tuple[int, str]]:
    db.expire_all()
    return [(r[0], r[1]) for r in db.execute(text("SELECT amount, provider FROM payments"))]


async def test_the_pay_screen_says_the_minimum_and_refuses_less_saying_what_to_type(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    _, http, _ = gateway
    await enrol_household(enrolment, PHONE)
    phone = Phone(http, PHONE)
    await phone.dial("")
    await phone.type("2")  # Payer
    await phone.type("1")  # my household
    screen = await phone.type("2")  # a part
    assert f"Montant (minimum {money(500)}, au plus {money(DUE)}):" in screen, screen
    for too_little in ("1", "499"):  # a third wrong answer would end the call
        screen = await phone.type(too_little)
        assert screen.startswith("CON "), screen
        assert f"Non accepté: tapez de {money(500)} à {money(DUE)}. Ex: 500" in screen, screen
    screen = await phone.type("500")
    assert "Ce numéro" in screen or "1." in screen, screen  # on to who pays
    await phone.type("1")
    screen = await phone.type("1")
    assert screen.startswith("END ") and money(500) in screen, screen
    assert payments(db) == [(500, "momo")]


async def test_a_rest_below_the_minimum_is_taken_whole_and_nothing_less(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    app, http, _ = gateway
    member_no = await enrol_household(enrolment, PHONE, language="en")
    await part(app, Payments).ledger.record_cash(member_no, DUE - 300, "Rose Assogba")
    phone = Phone(http, PHONE)
    await phone.dial("")
    await phone.type("2")
    await phone.type("1")
    screen = await phone.type("2")
    assert f"Still to pay: {money(300, 'en')}. Type 300 to pay it all:" in screen, screen
    screen = await phone.type("100")
    assert f"Not accepted: the rest is {money(300, 'en')}, type 300." in screen, screen
    await phone.type("300")
    await phone.type("1")
    screen = await phone.type("1")
    assert screen.startswith("END "), screen
    assert sorted(payments(db)) == [(300, "momo"), (DUE - 300, "cash")]


@pytest.fixture
def thousand(db: Session) -> Iterator[None]:
    """A scheme that sets 1000 F on the family product (the demo's 500 back after)."""
    for least in (1000, 500):
        db.execute(
            update(models.Product)
            .where(models.Product.code == "FAMILLE")
            .values(min_part_payment=least)
        )
        db.commit()
        if least == 1000:
            yield


async def test_the_agent_cash_screen_applies_the_products_own_minimum(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    enrolment: EnrolmentService,
    db: Session,
    thousand: None,
) -> None:
    app, http, _ = gateway
    await part(app, Scheme).cache.reload()  # as the gateway does on its next refresh
    member_no = await enrol_household(enrolment, PHONE)
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin="4826")
    phone = Phone(http, AGENT)
    await phone.dial("")
    await phone.type("4826")
    await phone.type("3")  # cash
    screen = await phone.type(member_no)
    assert f"Montant encaissé (minimum {money(1000)}, au plus {money(DUE)}):" in screen, screen
    screen = await phone.type("500")
    assert f"Non accepté: tapez de {money(1000)} à {money(DUE)}. Ex: 1000" in screen, screen
    screen = await phone.type("1000")
    assert "Nom de la personne qui paie:" in screen, screen
    assert count(db, "SELECT COUNT(*) FROM payments") == 0
    with pytest.raises(PaymentRefused) as refused:  # the ledger holds to it too
        await part(app, Payments).ledger.record_cash(member_no, 999, "Rose Assogba")
    assert refused.value.reason == "below_minimum"


async def test_the_ledger_refuses_a_part_below_the_minimum_on_every_path(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    """1 F was accepted: the ledger itself refuses it, mobile or cash, whoever calls."""
    app, _, _ = gateway
    ledger = part(app, Payments).ledger
    member_no = await enrol_household(enrolment, PHONE)
    for amount in (1, 499):
        with pytest.raises(PaymentRefused) as mobile:
            await ledger.open_payment(member_no, amount, PHONE, "momo", "XOF", "ussd")
        assert mobile.value.reason == "below_minimum"
        with pytest.raises(PaymentRefused) as cash:
            await ledger.record_cash(member_no, amount, "Rose Assogba")
        assert cash.value.reason == "below_minimum"
    assert payments(db) == []
    await ledger.record_cash(member_no, 500, "Rose Assogba")
    await ledger.record_cash(member_no, DUE - 500 - 200, "Rose Assogba")
    await ledger.record_cash(member_no, 200, "Rose Assogba")  # the whole rest, below 500
    assert sorted(payments(db)) == [(200, "cash"), (500, "cash"), (DUE - 700, "cash")]


def test_the_demo_scheme_sets_the_minimum_and_a_product_without_one_gets_500(
    db: Session, clean: None
) -> None:
    rows = dict(db.execute(text("SELECT code, min_part_payment FROM products ORDER BY code")).all())
    assert rows == {"FAMILLE": 500, "SCOLAIRE": 500}
