"""Incoming SMS over HTTP (`POST /sms/inbound`): what the phone texts, what it gets back.

Each case posts the form Africa's Talking posts and reads the reply the gateway queued
in the outbox: its template, its language and its words.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.enrolment.coverage import add_months
from gateway.payments.capability import Payments
from gateway.settings import Settings
from gateway.sms.campaigns import Segment
from gateway.sms.capability import Sms
from menus.identifiers import member_number
from menus.text import load_catalogues
from tests.conftest import TODAY, Clock
from tests.support.gateway import part, shared
from tests.support.paying import count, enrol

OWNER = "+2290197000101"  # the household's contact phone
OTHER = "+2290197000102"  # a neighbour who knows the member number
STRANGER = "+2290166000103"  # no household at all
SHORT_CODE = "23456"
# What the household of three owes, as the SMS catalogues write money.
SMS_MONEY = load_catalogues("gateway.sms", "templates")
FR_DUE, EN_DUE = (SMS_MONEY[lang].money(4725) for lang in ("fr", "en"))

_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    template: str
    language: str
    text: str


async def texts(
    http: httpx.AsyncClient, sender: str, words: str, provider_id: str | None = None
) -> str:
    """One incoming SMS as Africa's Talking posts it; what the gateway read it as."""
    response = await http.post(
        "/sms/inbound",
        data={
            "from": sender,
            "to": SHORT_CODE,
            "text": words,
            "id": provider_id or f"ATXid_in_{next(_ids)}",
            "linkId": "SampleLinkId123",
            "date": "2026-11-23 09:20:11",
            "networkCode": "61603",
        },
    )
    assert response.status_code == 200, response.text
    outcome: str = response.json()["status"]
    return outcome


def replies(db: Session, phone: str) -> list[Reply]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT template, language, text, status FROM messages"
            " WHERE purpose = 'reply' AND phone = :phone ORDER BY id"
        ),
        {"phone": phone},
    ).all()
    assert {row.status for row in rows} <= {"queued"}  # replies leave with the worker
    return [Reply(row.template, row.language, row.text) for row in rows]


def one_reply(db: Session, phone: str) -> Reply:
    got = replies(db, phone)
    assert len(got) == 1, got
    return got[0]


def opted_out(db: Session, phone: str) -> list[str]:
    db.expire_all()
    return list(
        db.execute(
            text("SELECT source FROM sms_opt_outs WHERE phone = :phone"), {"phone": phone}
        ).scalars()
    )


def household_member_numbers(db: Session, head_no: str) -> list[str]:
    db.expire_all()
    return list(
        db.execute(
            text(
                "SELECT member_no FROM members WHERE household_id ="
                " (SELECT household_id FROM members WHERE member_no = :no) ORDER BY id"
            ),
            {"no": head_no},
        ).scalars()
    )


def wrong_check_digit(member_no: str) -> str:
    return member_no[:-1] + str((int(member_no[-1]) + 1) % 10)


# -- keywords that need no household --------------------------------------------

# what a stranger's phone texts -> the template and language of the reply
NO_HOUSEHOLD: list[tuple[str, str, str]] = [
    ("AIDE", "reply_help", "fr"),
    ("aide", "reply_help", "fr"),
    ("Aide!", "reply_help", "fr"),
    ("HELP", "reply_help", "en"),
    ("help?", "reply_help", "en"),
    ("bonjour", "reply_unknown", "fr"),  # no household: the default language
    ("", "reply_unknown", "fr"),
    ("STOP", "reply_stop", "fr"),
    ("Arrêt", "reply_stop", "fr"),
    ("START", "reply_start", "fr"),
    ("REPRISE", "reply_start", "fr"),
    ("DROITS", "reply_bad_member_no", "fr"),  # no number at all
    ("DROITS 12345", "reply_bad_member_no", "fr"),
    ("STATUS 1234567890", "reply_bad_member_no", "en"),
    ("droits 100 000 012", "reply_bad_member_no", "fr"),  # 100000011 with a wrong digit
    ("DROITS 109999991", "reply_unknown_member", "fr"),
    ("status 109 999 991", "reply_unknown_member", "en"),
    ("DROITS:109999991", "reply_unknown_member", "fr"),
]


@pytest.mark.parametrize(("words", "template", "language"), NO_HOUSEHOLD)
async def test_what_a_stranger_gets_back(
    client: httpx.AsyncClient, db: Session, words: str, template: str, language: str
) -> None:
    await texts(client, STRANGER, words)

    reply = one_reply(db, STRANGER)
    assert (reply.template, reply.language) == (template, language)


async def test_a_help_reply_tells_what_to_send_in_the_language_written(
    client: httpx.AsyncClient, db: Session
) -> None:
    await texts(client, STRANGER, "AIDE")
    await texts(client, STRANGER, "HELP")

    french, english = replies(db, STRANGER)
    assert "DROITS" in french.text and "*384*22#" in french.text
    assert "STATUS" in english.text and "*384*22#" in english.text


async def test_member_numbers_that_cannot_be_answered_are_quoted_back(
    client: httpx.AsyncClient, db: Session
) -> None:
    unknown = member_number(999_999)
    assert unknown == "109999991"
    await texts(client, STRANGER, "DROITS 100 000 012")
    await texts(client, STRANGER, f"STATUS {unknown}")

    bad, missing = replies(db, STRANGER)
    assert bad == Reply(
        "reply_bad_member_no",
        "fr",
        "Le numéro 100 000 012 n'est pas valide. Vérifiez les 9 chiffres sur votre carte.",
    )
    assert missing == Reply(
        "reply_unknown_member",
        "en",
        f"Member number {unknown} is unknown. Check the number on your card.",
    )


async def test_a_sender_in_the_old_eight_digit_form_is_answered_in_e164(
    client: httpx.AsyncClient, db: Session
) -> None:
    await texts(client, "97000104", "AIDE")
    await texts(client, "+22997000104", "HELP")

    assert [r.template for r in replies(db, "+2290197000104")] == ["reply_help"] * 2
    assert count(db, "SELECT COUNT(*) FROM inbound_sms WHERE phone = '+2290197000104'") == 2


# -- rights ---------------------------------------------------------------------

# who texts, what (`{no}` is the head's number, `{child}` a dependant's) -> the reply
RIGHTS_PENDING: list[tuple[str, str, Reply]] = [
    (
        OWNER,
        "DROITS {no}",
        Reply(
            "rights_pending_payment_own",
            "fr",
            "Membre {no}: droits pas encore ouverts. Reste à payer: "
            + FR_DUE
            + ". Composez *384*22#.",
        ),
    ),
    (
        OWNER,
        "status {spaced}",
        Reply(
            "rights_pending_payment_own",
            "en",
            "Member {no}: cover not open yet. Still to pay: " + EN_DUE + ". Dial *384*22#.",
        ),
    ),
    (
        OWNER,
        "Droits {child}",  # a member of the sender's own household
        Reply(
            "rights_pending_payment_own",
            "fr",
            "Membre {child}: droits pas encore ouverts. Reste à payer: "
            + FR_DUE
            + ". Composez *384*22#.",
        ),
    ),
    (
        OTHER,
        "STATUS {no}",
        Reply("rights_pending_payment", "en", "Member {no} (K.): cover not open yet."),
    ),
    (
        OTHER,
        "droits {spaced}",
        Reply("rights_pending_payment", "fr", "Membre {no} (K.): droits pas encore ouverts."),
    ),
    (
        OTHER,
        "DROITS {child}",
        Reply("rights_pending_payment", "fr", "Membre {child} (E.): droits pas encore ouverts."),
    ),
]


@pytest.mark.parametrize(("sender", "words", "expected"), RIGHTS_PENDING)
async def test_rights_before_payment(
    client: httpx.AsyncClient, db: Session, sender: str, words: str, expected: Reply
) -> None:
    head = await enrol(client, OWNER)
    child = household_member_numbers(db, head)[1]
    values = {"no": head, "spaced": f"{head[:3]} {head[3:6]} {head[6:]}", "child": child}

    await texts(client, sender, words.format(**values))

    reply = one_reply(db, sender)
    assert reply == Reply(expected.template, expected.language, expected.text.format(**values))


async def test_someone_elses_number_discloses_no_name_and_no_amount(
    client: httpx.AsyncClient, db: Session
) -> None:
    head = await enrol(client, OWNER)

    await texts(client, OTHER, f"DROITS {head}")
    await texts(client, OTHER, f"STATUS {head}")

    for reply in replies(db, OTHER):
        assert head in reply.text
        for secret in ("Dah", "DAH", "Kpadé", "Kpad", FR_DUE, EN_DUE, "4725"):
            assert secret not in reply.text, reply


async def test_a_wrong_check_digit_is_caught_before_any_lookup(
    client: httpx.AsyncClient, db: Session
) -> None:
    head = await enrol(client, OWNER)
    typo = wrong_check_digit(head)

    await texts(client, OWNER, f"DROITS {typo}")

    assert one_reply(db, OWNER) == Reply(
        "reply_bad_member_no",
        "fr",
        f"Le numéro {typo} n'est pas valide. Vérifiez les 9 chiffres sur votre carte.",
    )


# days after a payment in full on TODAY -> the template and what the reply says after
# "Membre <no>: " (30-day wait, 12 months of cover, 30 days of grace)
PAID: list[tuple[int, str, str]] = [
    (0, "rights_waiting", "cotisation payée, droits ouverts à partir du 23/12/2026."),
    (29, "rights_waiting", "cotisation payée, droits ouverts à partir du 23/12/2026."),
    (30, "rights_active", "droits ouverts jusqu'au 22/12/2027."),
    (394, "rights_active", "droits ouverts jusqu'au 22/12/2027."),
    (
        395,
        "rights_grace",
        "droits pris fin le 22/12/2027. Renouvellement possible jusqu'au 21/01/2028.",
    ),
    (
        424,
        "rights_grace",
        "droits pris fin le 22/12/2027. Renouvellement possible jusqu'au 21/01/2028.",
    ),
    (425, "rights_lapsed", "droits fermés."),
]


@pytest.mark.parametrize(("days", "template", "says"), PAID)
async def test_rights_after_payment_follow_the_cover(
    app: Starlette,
    client: httpx.AsyncClient,
    db: Session,
    clock: Clock,
    days: int,
    template: str,
    says: str,
) -> None:
    head = await enrol(client, OWNER)
    await part(app, Payments).ledger.record_cash(head, 4725, "Payer")
    clock.day = TODAY + timedelta(days=days)

    await texts(client, OWNER, f"DROITS {head}")
    await texts(client, OTHER, f"DROITS {head}")

    # The same news for both; only the household's own phone goes without the initial.
    assert one_reply(db, OWNER) == Reply(template, "fr", f"Membre {head}: {says}")
    assert one_reply(db, OTHER) == Reply(template, "fr", f"Membre {head} (K.): {says}")


# paid in full on (30-day wait, 12 months, 30 days of grace), the keyword -> the reply
WRITTEN: list[tuple[date, str, Reply]] = [
    (
        date(2026, 9, 24),
        "STATUS",
        Reply("rights_active", "en", "Member {no}: covered until 23/10/2027."),
    ),
    (
        date(2025, 10, 24),
        "DROITS",
        Reply(
            "rights_grace",
            "fr",
            "Membre {no}: droits pris fin le 22/11/2026."
            " Renouvellement possible jusqu'au 22/12/2026.",
        ),
    ),
]


@pytest.mark.parametrize("copies", [True, False], ids=["with copies", "copies not yet written"])
@pytest.mark.parametrize(("paid_on", "keyword", "expected"), WRITTEN)
async def test_rights_of_a_cover_written_in_the_database(
    client: httpx.AsyncClient,
    db: Session,
    paid_on: date,
    keyword: str,
    expected: Reply,
    copies: bool,
) -> None:
    """A cover paid by another path (an import, an agent's desk): the reply is derived from
    the payment and its dates, like the USSD screen, whether or not the period's stored
    copies (dates, status) were refreshed yet."""
    head = await enrol(client, OWNER)
    db.execute(
        text("UPDATE coverage_periods SET amount_paid = premium_due, paid_in_full_on = :paid"),
        {"paid": paid_on},
    )
    if copies:
        start = paid_on + timedelta(days=30)
        end = add_months(start, 12) - timedelta(days=1)
        db.execute(
            text(
                "UPDATE coverage_periods SET covered_from = :start, covered_until = :end,"
                " grace_until = :grace, status = :status"
            ),
            {
                "start": start,
                "end": end,
                "grace": end + timedelta(days=30),
                "status": expected.template.removeprefix("rights_"),
            },
        )
    db.commit()

    await texts(client, OWNER, f"{keyword} {head}")

    assert one_reply(db, OWNER) == Reply(
        expected.template, expected.language, expected.text.format(no=head)
    )


async def test_a_part_payment_shows_what_is_left(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    head = await enrol(client, OWNER)
    await part(app, Payments).ledger.record_cash(head, 2000, "Payer")

    await texts(client, OWNER, f"DROITS {head}")
    await texts(client, OTHER, f"DROITS {head}")

    assert f"Reste à payer: {SMS_MONEY['fr'].money(2725)}" in one_reply(db, OWNER).text
    assert one_reply(db, OTHER).text == f"Membre {head} (K.): droits pas encore ouverts."


# -- STOP and START ---------------------------------------------------------------

# the household's language, what its phone texts -> the reply's template and language
HOUSEHOLD_LANGUAGE: list[tuple[str, str, str, str]] = [
    ("fr", "STOP", "reply_stop", "fr"),
    ("en", "STOP", "reply_stop", "en"),
    ("en", "stop", "reply_stop", "en"),
    ("fr", "START", "reply_start", "fr"),
    ("en", "START", "reply_start", "en"),
    ("en", "ARRET", "reply_stop", "fr"),  # written in French: answered in French
    ("en", "REPRISE", "reply_start", "fr"),
    ("en", "bonjour", "reply_unknown", "en"),  # not understood: the household's language
    ("en", "AIDE", "reply_help", "fr"),
    ("fr", "HELP", "reply_help", "en"),
]


@pytest.mark.parametrize(("household", "words", "template", "language"), HOUSEHOLD_LANGUAGE)
async def test_replies_without_a_language_of_their_own_use_the_households(
    client: httpx.AsyncClient,
    db: Session,
    household: str,
    words: str,
    template: str,
    language: str,
) -> None:
    await enrol(client, OWNER)
    db.execute(text("UPDATE households SET language = :l"), {"l": household})
    db.commit()

    await texts(client, OWNER, words)

    reply = one_reply(db, OWNER)
    assert (reply.template, reply.language) == (template, language)


async def test_stop_opts_out_once_and_start_opts_back_in(
    client: httpx.AsyncClient, db: Session
) -> None:
    assert await texts(client, OWNER, "STOP") == "stop"
    assert opted_out(db, OWNER) == ["keyword"]
    assert await texts(client, OWNER, "Arrêt") == "stop"
    assert opted_out(db, OWNER) == ["keyword"]
    assert opted_out(db, OTHER) == []

    assert await texts(client, OWNER, "START") == "start"
    assert opted_out(db, OWNER) == []
    assert await texts(client, OWNER, "REPRISE") == "start"  # nothing to undo: still answered
    assert [r.template for r in replies(db, OWNER)] == [
        "reply_stop",
        "reply_stop",
        "reply_start",
        "reply_start",
    ]


async def test_after_stop_campaigns_are_cancelled_but_receipts_still_go(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    head = await enrol(client, OWNER)
    await part(app, Sms).campaigns.send(Segment(mutual="MS-KANDI"), "campaign_pay", "test")
    await texts(client, OWNER, "STOP")
    await part(app, Payments).ledger.record_cash(head, 4725, "Payer")
    # Whatever the hour the test runs at: everything is due now.
    due = shared(app).now() - timedelta(days=1)
    db.execute(text("UPDATE messages SET not_before = :t"), {"t": due})
    db.commit()

    while await part(app, Sms).dispatcher.work():
        pass

    db.expire_all()
    statuses = db.execute(
        text("SELECT purpose, status FROM messages WHERE phone = :p ORDER BY purpose"),
        {"p": OWNER},
    ).all()
    assert [tuple(row) for row in statuses] == [
        ("campaign", "cancelled"),
        ("confirmation", "sent"),
        ("receipt", "sent"),
        ("reply", "sent"),
    ]


# -- each message once ----------------------------------------------------------


async def test_a_retried_message_is_answered_once(client: httpx.AsyncClient, db: Session) -> None:
    outcomes = [await texts(client, OWNER, "AIDE", "ATXid_in_same") for _ in range(3)]

    assert outcomes == ["help", "duplicate", "duplicate"]
    assert count(db, "SELECT COUNT(*) FROM inbound_sms") == 1
    assert len(replies(db, OWNER)) == 1


async def test_concurrent_copies_of_a_message_are_answered_once(
    client: httpx.AsyncClient, db: Session
) -> None:
    head = await enrol(client, OWNER)

    outcomes = await asyncio.gather(
        *(texts(client, OWNER, f"DROITS {head}", "ATXid_in_race") for _ in range(3))
    )
    outcomes += await asyncio.gather(
        *(texts(client, OWNER, "STOP", "ATXid_in_race_stop") for _ in range(3))
    )

    assert sorted(outcomes) == ["duplicate"] * 4 + ["rights", "stop"]
    assert count(db, "SELECT COUNT(*) FROM inbound_sms") == 2
    assert [r.template for r in replies(db, OWNER)] == ["rights_pending_payment_own", "reply_stop"]
    assert opted_out(db, OWNER) == ["keyword"]


async def test_the_inbound_message_is_kept_as_received(
    client: httpx.AsyncClient, db: Session
) -> None:
    await texts(client, "+22997000105", "Droits 100 000 011", "ATXid_in_kept")

    db.expire_all()
    row = db.execute(text('SELECT provider_id, phone, "to", text, keyword FROM inbound_sms')).one()
    assert tuple(row) == (
        "ATXid_in_kept",
        "+2290197000105",
        SHORT_CODE,
        "Droits 100 000 011",
        "rights",
    )


# -- not understood, and floods ---------------------------------------------------


async def test_not_understood_is_answered_once_an_hour(
    client: httpx.AsyncClient, db: Session, clock: Clock
) -> None:
    assert await texts(client, OWNER, "bonjour") == "unknown"
    assert await texts(client, OWNER, "allo ?") == "unknown_unanswered"
    assert await texts(client, OTHER, "bonjour") == "unknown"  # per number
    assert await texts(client, OWNER, "AIDE") == "help"  # keywords are still answered
    assert [r.template for r in replies(db, OWNER)] == ["reply_unknown", "reply_help"]

    clock.day += timedelta(days=1)  # the gateway's now is the clock's day at the real hour
    assert await texts(client, OWNER, "bonjour") == "unknown"

    assert [r.template for r in replies(db, OWNER)] == [
        "reply_unknown",
        "reply_help",
        "reply_unknown",
    ]
    assert count(db, "SELECT COUNT(*) FROM inbound_sms WHERE keyword = 'unknown'") == 4


async def test_a_flood_from_one_number_is_kept_but_not_answered(
    client: httpx.AsyncClient, db: Session, clock: Clock, settings: Settings
) -> None:
    limit = settings.sms.inbound_per_10_minutes
    assert limit == 10  # SMS_INBOUND_LIMIT's default

    outcomes = [await texts(client, OWNER, "AIDE") for _ in range(limit + 2)]

    assert outcomes == ["help"] * limit + ["flood", "flood"]
    assert count(db, "SELECT COUNT(*) FROM inbound_sms") == limit + 2
    assert count(db, "SELECT COUNT(*) FROM inbound_sms WHERE keyword = 'flood'") == 2
    assert len(replies(db, OWNER)) == limit
    # Another number is not held back by it, nor is the same number later on.
    assert await texts(client, OTHER, "AIDE") == "help"
    clock.day += timedelta(days=1)
    assert await texts(client, OWNER, "AIDE") == "help"
    assert len(replies(db, OWNER)) == limit + 1


async def test_a_flood_arriving_all_at_once_is_cut_at_the_same_limit(
    client: httpx.AsyncClient, db: Session, settings: Settings
) -> None:
    limit = settings.sms.inbound_per_10_minutes

    outcomes = await asyncio.gather(*(texts(client, OWNER, "AIDE") for _ in range(limit + 5)))

    assert sorted(outcomes) == ["flood"] * 5 + ["help"] * limit
    assert len(replies(db, OWNER)) == limit


async def test_stop_in_the_middle_of_a_flood_still_opts_out(
    client: httpx.AsyncClient, db: Session, settings: Settings
) -> None:
    for _ in range(settings.sms.inbound_per_10_minutes):
        await texts(client, OWNER, "AIDE")

    assert await texts(client, OWNER, "STOP") == "flood"

    assert opted_out(db, OWNER) == ["keyword"]
    assert [r.template for r in replies(db, OWNER)].count("reply_stop") == 0


@pytest.mark.parametrize("sender", ["23456", "MTN-INFO"])
async def test_a_sender_that_is_not_a_phone_gets_no_reply(
    client: httpx.AsyncClient, db: Session, sender: str
) -> None:
    # An operator's short code or a named sender: a reply would be refused, or loop.
    assert await texts(client, sender, "AIDE") == "not_a_phone"

    assert count(db, "SELECT COUNT(*) FROM inbound_sms") == 1
    assert count(db, "SELECT COUNT(*) FROM messages") == 0
