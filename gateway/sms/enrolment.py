"""The SMS that gives a family its member numbers, every person's: a health facility
checks each patient by their own number, not by the head's.

Each person is listed by first name and number, head first ("Koffi 100123452, Afi
100123460"), in one SMS where the household fits and two at most. A household too large
for two is listed as far as it fits, and told where to read the rest (the rights menu):
a third SMS costs the mutual more than the numbers are worth by SMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db import models
from db.values import MessagePurpose
from gateway.enrolment.entitlements import terms_of
from gateway.sms.outbox import Outbox
from menus.gsm import segments

MOST_SEGMENTS = 2
# A long first name is cut: the number is what the facility types, the name only says
# whose number it is.
NAME_LETTERS = 12


def listed(member: models.Member) -> str:
    """ "Koffi 100123452": the first of the first names, or the number alone while the
    name waits for its transcription."""
    first = member.first_names.split()[0][:NAME_LETTERS] if member.first_names.strip() else ""
    return f"{first} {member.member_no}" if first else member.member_no or ""


def enrolment_sms(
    outbox: Outbox,
    household: models.Household,
    members: Sequence[models.Member],
    period: models.CoveragePeriod,
    now: datetime,
) -> models.Message:
    """Sent once per household (its dedupe key), at enrolment or when the last recorded
    name is transcribed (by when the premium may have been paid). `members`: the head
    first."""
    amount_due = terms_of(period).amount_due
    if period.premium_due == 0:
        template = "enrolled_sponsored"
    else:
        template = "enrolled" if amount_due > 0 else "enrolled_paid"
    params: dict[str, Any] = {"persons": period.persons, "amount_due": amount_due}
    params["members"] = members_listed(outbox, household.language, template, params, members)
    return outbox.message(
        phone=household.phone,
        language=household.language,
        purpose=MessagePurpose.CONFIRMATION,
        template=template,
        params=params,
        now=now,
        household_id=household.id,
        dedupe_key=f"enrolled:{household.id}",
    )


def members_listed(
    outbox: Outbox,
    language: str | None,
    template: str,
    params: dict[str, Any],
    members: Sequence[models.Member],
) -> str:
    """The `members` value: every person if the SMS stays within two segments, else the
    most that do, followed by where to find the others."""
    texts, names = outbox.texts, [listed(m) for m in members]
    language = texts.language(language)
    value = ""
    for shown in range(len(names), 0, -1):
        value = ", ".join(names[:shown])
        if shown < len(names):
            value = texts.word(
                language, "enrolled_members_more", {"members": value, "more": len(names) - shown}
            )
        if segments(texts.word(language, template, {**params, "members": value})) <= MOST_SEGMENTS:
            break
    return value  # at worst the head alone, and where to read the others
