"""The enrolment SMS gives every member's number, by first name: a health facility checks
each patient by their own number. One SMS where the household fits, two at most; past
that, where to read the rest. Real households enrolled through the enrolment service."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import models
from gateway.enrolment.service import EnrolmentService
from menus.effects import EnrolHousehold, PersonDraft
from menus.gsm import segments
from menus.text import load_catalogues
from tests.conftest import TODAY

PHONE = "+2290197000711"
SMS = load_catalogues("gateway.sms", "templates")
DIAL = "*384*22#"

# (first names, sex, born, relationship): grown-ups, so that every one of them pays.
ONE = [("Rose", "F", "1990-01-01", "head")]
FOUR = [
    ("Koffi", "M", "1981-03-02", "head"),
    ("Afiavi", "F", "1984-07-12", "spouse"),
    ("Sèna", "F", "2003-05-01", "child"),
    ("Codjo", "M", "2005-09-30", "child"),
]
EIGHT = [
    *FOUR,
    ("Gbèmisola Ayo", "F", "2006-02-11", "child"),
    ("Dossou", "M", "1950-01-01", "parent"),
    ("Mahougnon", "F", "1955-06-01", "parent"),
    ("Ayaba", "F", "2007-04-04", "other"),
]
# The product's cap, every first name as long as people write them.
TWELVE = [("Marie-Thérèse Adjoa", "F", "1980-01-01", "head")] + [
    (f"Marie-Josée{'abcdefghijk'[n]} Sènami", "F", "1990-01-01", "child") for n in range(11)
]


async def enrolled(
    enrolment: EnrolmentService,
    db: Session,
    people: list[tuple[str, str, str, str]],
    language: str,
) -> tuple[dict[str, object], list[tuple[str, str]], int]:
    """Enrol the household; its SMS, its members (first names, numbers; head first) and
    what it owes."""
    drafts = [PersonDraft("HOUNKPATIN", *person[:3], False, person[3]) for person in people]
    result = await enrolment.enrol(
        EnrolHousehold("MS-PARAKOU", "FAMILLE", PHONE, language, drafts[0], tuple(drafts[1:])),
        f"test:{uuid.uuid4()}",
        TODAY,
    )
    assert result["outcome"] == "enrolled", result
    db.expire_all()
    members = [
        (first_names, member_no or "")
        for first_names, member_no in db.execute(
            select(models.Member.first_names, models.Member.member_no).order_by(models.Member.id)
        ).all()
    ]
    [message] = (
        db.execute(
            text(
                "SELECT template, text, segments, encoding, phone, language FROM messages"
                " WHERE purpose = 'confirmation'"
            )
        )
        .mappings()
        .all()
    )
    return dict(message), members, result["premium_due"]


@pytest.mark.parametrize(
    ("people", "language", "parts"),
    [
        (ONE, "fr", 1),
        (ONE, "en", 1),
        (FOUR, "fr", 1),
        (FOUR, "en", 1),
        (EIGHT, "fr", 2),
        (EIGHT, "en", 2),
    ],
)
async def test_every_member_is_listed_by_first_name_and_number(
    enrolment: EnrolmentService,
    db: Session,
    clean: None,
    people: list[tuple[str, str, str, str]],
    language: str,
    parts: int,
) -> None:
    message, members, due = await enrolled(enrolment, db, people, language)
    words = str(message["text"])
    assert (message["template"], message["phone"], message["language"]) == (
        "enrolled",
        PHONE,
        language,
    )
    listed = ", ".join(f"{first.split()[0]} {number}" for first, number in members)
    assert len(members) == len(people)
    assert f": {listed}." in words, words  # head first, in the order they were enrolled
    assert SMS[language].money(due) in words, words
    assert f"{DIAL} {'puis' if language == 'fr' else 'then'} 2" in words, words
    assert message["encoding"] == "gsm7"  # "Sèna": è is in GSM-7
    assert message["segments"] == segments(words) == parts


async def test_a_household_too_large_for_two_sms_is_told_where_the_rest_is(
    enrolment: EnrolmentService, db: Session, clean: None
) -> None:
    message, members, _ = await enrolled(enrolment, db, TWELVE, "fr")
    words = str(message["text"])
    assert message["segments"] == segments(words) == 2
    shown = [number for _, number in members if number in words]
    assert members[0][1] == shown[0]  # the head's number first
    assert shown == [number for _, number in members[: len(shown)]]
    left = len(members) - len(shown)
    assert 0 < left < len(members) - 4, words  # most of them listed all the same
    # A long first name is cut to twelve letters, folded into GSM-7 where it has no letter.
    assert f"Marie-Thérès {members[0][1]}," in words, words
    assert f"et {left} autres (composez {DIAL} puis 3 Mes droits)." in words, words


async def test_a_household_whose_premium_is_paid_for_it_still_gets_every_number(
    enrolment: EnrolmentService, db: Session, clean: None
) -> None:
    """A mother and her baby: the State pays for the baby; the mother still owes hers,
    and both numbers are in the SMS."""
    people = [("Rose", "F", "1992-04-02", "head"), ("Lina", "F", "2024-06-15", "child")]
    message, members, _ = await enrolled(enrolment, db, people, "en")
    words = str(message["text"])
    for first, number in members:
        assert f"{first} {number}" in words, words
    assert words.startswith("Enrolment recorded. Member numbers: "), words
