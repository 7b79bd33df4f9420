"""Campaign messages from staff to a part of the scheme (`gateway.sms.campaigns`), as the
running gateway does them (`part(app, Sms).campaigns`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.enrolment.service import EnrolmentService
from gateway.sms.campaigns import CampaignError, Campaigns, Segment
from gateway.sms.capability import Sms
from menus.effects import EnrolHousehold, PersonDraft
from menus.text import load_catalogues
from tests.conftest import TODAY
from tests.support.gateway import part, shared
from tests.support.paying import count, enrol

KANDI_FR = "+2290197000201"  # enrolled by USSD: the first mutual of the menu, Kandi
KANDI_EN = "+2290197000202"
PARAKOU = "+2290197000203"  # the contact phone of two households of Parakou
TCHAOUROU = "+2290197000204"  # a household of the Parakou mutual living in Tchaourou
NDALI_STOPPED = "+2290197000205"  # said STOP
NDALI_OPTED_OUT = "+2290197000206"  # the aggregator told us it opted out

NAMES = {
    "MS-KANDI": "Mutuelle de santé de Kandi",
    "MS-PARAKOU": "Mutuelle de santé de Parakou",
    "MS-NDALI": "Mutuelle de santé de N'Dali",
}


@dataclass(frozen=True)
class Household:
    phone: str
    mutual: str
    language: str
    head: str  # first names: one family per head


# Enrolled through the service (the USSD household of KANDI_FR comes first).
HOUSEHOLDS = [
    Household(KANDI_EN, "MS-KANDI", "en", "Rose"),
    Household(PARAKOU, "MS-PARAKOU", "fr", "Afi"),
    Household(PARAKOU, "MS-PARAKOU", "en", "Bio"),
    Household(TCHAOUROU, "MS-PARAKOU", "fr", "Chabi"),
    Household(NDALI_STOPPED, "MS-NDALI", "fr", "Dossou"),
    Household(NDALI_OPTED_OUT, "MS-NDALI", "fr", "Eméric"),
]


@pytest.fixture
async def scheme(
    client: httpx.AsyncClient, db: Session, enrolment: EnrolmentService
) -> AsyncIterator[None]:
    """Households in three mutuals; two numbers that do not want campaigns."""
    await enrol(client, KANDI_FR)
    for household in HOUSEHOLDS:
        head = PersonDraft("ASSOGBA", household.head, "F", "1990-01-01", True, "head")
        result = await enrolment.enrol(
            EnrolHousehold(
                household.mutual, "FAMILLE", household.phone, household.language, head, ()
            ),
            f"test:{uuid.uuid4()}",
            TODAY,
        )
        assert result["outcome"] == "enrolled", result
    db.execute(
        text("UPDATE households SET commune = 'Tchaourou' WHERE phone = :p"), {"p": TCHAOUROU}
    )
    db.commit()
    response = await client.post(
        "/sms/inbound", data={"id": "ATXid_in_stop", "from": NDALI_STOPPED, "text": "STOP"}
    )
    assert response.status_code == 200
    response = await client.post(
        "/sms/optout", data={"senderId": "ALAFIA", "phoneNumber": NDALI_OPTED_OUT}
    )
    assert response.status_code == 200
    yield


def campaigns(app: Starlette) -> Campaigns:
    service: Campaigns = part(app, Sms).campaigns
    return service


def campaign_messages(db: Session, campaign_id: int | None = None) -> list[dict[str, Any]]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT phone, language, template, text, status, quiet, campaign_id, household_id,"
            " created_at, not_before FROM messages WHERE purpose = 'campaign'"
            + (" AND campaign_id = :c" if campaign_id is not None else "")
            + " ORDER BY id"
        ),
        {"c": campaign_id},
    )
    return [dict(r) for r in rows.mappings()]


# the segment -> the numbers it reaches
AUDIENCES: list[tuple[Segment, set[str]]] = [
    (Segment(mutual="MS-KANDI"), {KANDI_FR, KANDI_EN}),
    (Segment(mutual="MS-PARAKOU"), {PARAKOU, TCHAOUROU}),  # one phone, two households
    (Segment(mutual="MS-NDALI"), set()),  # both numbers opted out
    (Segment(commune="Kandi"), {KANDI_FR, KANDI_EN}),
    (Segment(commune="Parakou"), {PARAKOU}),
    (Segment(commune="PARAKOU"), {PARAKOU}),
    (Segment(commune="tchaourou"), {TCHAOUROU}),
    (Segment(commune="N'Dali"), set()),
    (Segment(commune="Cotonou"), set()),
    (Segment(mutual="MS-PARAKOU", commune="Tchaourou"), {TCHAOUROU}),
    (Segment(mutual="MS-PARAKOU", commune="Parakou"), {PARAKOU}),
    (Segment(mutual="MS-KANDI", commune="Parakou"), set()),
    (Segment(), {KANDI_FR, KANDI_EN, PARAKOU, TCHAOUROU}),
]


@pytest.mark.parametrize(
    ("segment", "reached"), AUDIENCES, ids=[s.describe() for s, _ in AUDIENCES]
)
async def test_the_audience_is_counted_before_anything_is_queued(
    app: Starlette, scheme: None, db: Session, segment: Segment, reached: set[str]
) -> None:
    assert await campaigns(app).audience(segment) == len(reached)
    assert count(db, "SELECT COUNT(*) FROM sms_campaigns") == 0
    assert campaign_messages(db) == []


@pytest.mark.parametrize(
    ("segment", "reached"), AUDIENCES, ids=[s.describe() for s, _ in AUDIENCES]
)
async def test_a_campaign_reaches_its_audience_once_per_number(
    app: Starlette, scheme: None, db: Session, segment: Segment, reached: set[str]
) -> None:
    campaign_id, queued = await campaigns(app).send(segment, "campaign_pay", "manager@parakou")

    messages = campaign_messages(db)
    assert queued == len(reached) == len(messages)
    assert {m["phone"] for m in messages} == reached
    assert {m["campaign_id"] for m in messages} <= {campaign_id}
    assert {m["status"] for m in messages} <= {"queued"}
    recipients = db.execute(
        text("SELECT recipients FROM sms_campaigns WHERE id = :c"), {"c": campaign_id}
    ).scalar_one()
    assert recipients == queued
    assert await campaigns(app).audience(segment) == queued  # what was announced


# the template, the phone -> the message it gets (language and words)
WORDS: list[tuple[str, str, str, str]] = [
    (
        "campaign_enrol",
        KANDI_FR,
        "fr",
        "Mutuelle de santé de Kandi: la campagne d'adhésion est ouverte."
        " Protégez votre famille, composez *384*22#.",
    ),
    (
        "campaign_enrol",
        KANDI_EN,
        "en",
        "Mutuelle de santé de Kandi: enrolment is open. Protect your family, dial *384*22#.",
    ),
    (
        "campaign_pay",
        KANDI_FR,
        "fr",
        "Mutuelle de santé de Kandi: pensez à payer votre cotisation pour ouvrir vos droits."
        " Composez *384*22#.",
    ),
    (
        "campaign_renew",
        KANDI_EN,
        "en",
        # What renewing its one-person household's latest year costs, and how to pay.
        "Mutuelle de santé de Kandi: renew for "
        + load_catalogues("gateway.sms", "templates")["en"].money(1575)
        + " to stay covered all year. Dial *384*22# or see an agent.",
    ),
]


@pytest.mark.parametrize(("template", "phone", "language", "words"), WORDS)
async def test_each_household_gets_the_words_of_its_mutual_in_its_language(
    app: Starlette,
    scheme: None,
    db: Session,
    template: str,
    phone: str,
    language: str,
    words: str,
) -> None:
    campaign_id, _ = await campaigns(app).send(Segment(mutual="MS-KANDI"), template, "staff")

    [message] = [m for m in campaign_messages(db, campaign_id) if m["phone"] == phone]
    assert (message["template"], message["language"], message["text"]) == (
        template,
        language,
        words,
    )


async def test_the_campaign_is_recorded_with_who_asked(
    app: Starlette, scheme: None, db: Session
) -> None:
    campaign_id, queued = await campaigns(app).send(
        Segment(mutual="MS-PARAKOU", commune="Parakou"), "campaign_renew", "manager@parakou"
    )

    db.expire_all()
    row = db.execute(
        text(
            "SELECT c.template, u.code, c.commune, c.recipients, c.requested_by"
            " FROM sms_campaigns c JOIN scheme_units u ON u.id = c.mutual_id WHERE c.id = :c"
        ),
        {"c": campaign_id},
    ).one()
    assert tuple(row) == ("campaign_renew", "MS-PARAKOU", "Parakou", 1, "manager@parakou")
    assert queued == 1


async def test_two_households_sharing_a_phone_get_one_message(
    app: Starlette, scheme: None, db: Session
) -> None:
    campaign_id, queued = await campaigns(app).send(
        Segment(commune="Parakou"), "campaign_enrol", "staff"
    )

    [message] = campaign_messages(db, campaign_id)
    assert queued == 1 and message["phone"] == PARAKOU
    # The first household enrolled on that phone (French) decides the language.
    assert message["language"] == "fr"
    assert message["text"].startswith("Mutuelle de santé de Parakou: la campagne")
    first = db.execute(
        text("SELECT MIN(id) FROM households WHERE phone = :p"), {"p": PARAKOU}
    ).scalar_one()
    assert message["household_id"] == first


async def test_numbers_that_opted_out_are_left_out_and_start_brings_them_back(
    app: Starlette, client: httpx.AsyncClient, scheme: None, db: Session
) -> None:
    ndali = Segment(mutual="MS-NDALI")
    _, queued = await campaigns(app).send(ndali, "campaign_pay", "staff")
    assert queued == 0 and campaign_messages(db) == []

    response = await client.post(
        "/sms/inbound", data={"id": "ATXid_in_start", "from": NDALI_STOPPED, "text": "START"}
    )
    assert response.status_code == 200

    assert await campaigns(app).audience(ndali) == 1
    _, queued = await campaigns(app).send(ndali, "campaign_pay", "staff")
    assert queued == 1
    assert [m["phone"] for m in campaign_messages(db)] == [NDALI_STOPPED]


async def test_campaign_messages_wait_out_quiet_hours(
    app: Starlette, scheme: None, db: Session
) -> None:
    await campaigns(app).send(Segment(), "campaign_enrol", "staff")

    quiet = part(app, Sms).outbox.quiet_hours
    for message in campaign_messages(db):
        assert message["quiet"] in (True, 1)
        if not quiet.is_quiet(shared(app).now()):
            assert message["not_before"] == message["created_at"]
        else:
            assert message["not_before"] > message["created_at"]


async def test_the_same_campaign_asked_twice_is_two_campaigns_each_once_per_number(
    app: Starlette, scheme: None, db: Session
) -> None:
    segment = Segment(mutual="MS-PARAKOU")
    first = await campaigns(app).send(segment, "campaign_pay", "staff")
    second = await campaigns(app).send(segment, "campaign_pay", "staff")

    assert first[0] != second[0]
    assert first[1] == second[1] == 2
    for campaign_id, _ in (first, second):
        assert sorted(m["phone"] for m in campaign_messages(db, campaign_id)) == sorted(
            [PARAKOU, TCHAOUROU]
        )
    assert count(db, "SELECT COUNT(*) FROM sms_campaigns") == 2
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'campaign'") == 4


# what is asked -> why it is refused
REFUSED: list[tuple[Segment, str, str]] = [
    (Segment(mutual="MS-NOWHERE"), "campaign_pay", "MS-NOWHERE"),
    (Segment(mutual="ms-kandi"), "campaign_pay", "ms-kandi"),  # codes are exact
    (Segment(mutual="ZS-PARAKOU"), "campaign_pay", "ZS-PARAKOU"),  # a zone, not a mutual
    (Segment(mutual="MS-KANDI"), "campaign_open", "campaign_open"),  # not a campaign text
    (Segment(mutual="MS-KANDI"), "reply_help", "reply_help"),
    (Segment(), "nonsense", "nonsense"),
]


@pytest.mark.parametrize(("segment", "template", "named"), REFUSED)
async def test_a_campaign_that_cannot_be_sent_queues_nothing(
    app: Starlette, scheme: None, db: Session, segment: Segment, template: str, named: str
) -> None:
    with pytest.raises(CampaignError, match=named):
        await campaigns(app).send(segment, template, "staff")

    assert count(db, "SELECT COUNT(*) FROM sms_campaigns") == 0
    assert campaign_messages(db) == []


@pytest.mark.parametrize("code", ["MS-NOWHERE", "ZS-PARAKOU"])
async def test_the_audience_of_an_unknown_mutual_is_an_error(
    app: Starlette, scheme: None, code: str
) -> None:
    with pytest.raises(CampaignError, match=code):
        await campaigns(app).audience(Segment(mutual=code))
