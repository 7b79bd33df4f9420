"""Messages into the outbox: worded, measured and timed when they are queued.

Whoever causes a message (an enrolment, a payment, a change of cover, an incoming SMS)
adds it to its own transaction through `Outbox.message`, so the event and its message
are committed together or not at all. Only the dispatcher reads the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from db import models
from db.values import MessagePurpose, MessageStatus
from gateway.settings import DEFAULT_TIMEZONE, Settings
from gateway.sms.quiet import QuietHours
from gateway.sms.texts import SmsTexts
from menus.gsm import encoding_of, segments

# What people did not ask for just now: these wait out quiet hours and respect STOP.
UNASKED = frozenset({MessagePurpose.REMINDER, MessagePurpose.CAMPAIGN})


@dataclass(frozen=True)
class Outbox:
    texts: SmsTexts
    quiet_hours: QuietHours | None

    @classmethod
    def standard(cls, language: str = "fr", timezone: str = DEFAULT_TIMEZONE) -> Outbox:
        """The shipped texts and the default quiet hours (tools and tests)."""
        return cls(SmsTexts.load(language, "*384*22#"), QuietHours.parse("21:00-07:00", timezone))

    @classmethod
    def configured(cls, settings: Settings) -> Outbox:
        """The outbox as the settings describe it: the gateway's and the commands'."""
        return cls(
            SmsTexts.configured(settings),
            QuietHours.parse(settings.sms.quiet_hours, settings.timezone),
        )

    def message(
        self,
        *,
        phone: str,
        language: str | None,
        purpose: str,
        template: str,
        params: Mapping[str, Any],
        now: datetime,
        household_id: int | None = None,
        dedupe_key: str | None = None,
        payment_reference: str | None = None,
        campaign_id: int | None = None,
    ) -> models.Message:
        language = self.texts.language(language)
        text = self.texts.word(language, template, params)
        quiet = purpose in UNASKED
        return models.Message(
            household_id=household_id,
            phone=phone,
            language=language,
            purpose=purpose,
            template=template,
            params=dict(params),
            text=text,
            encoding=encoding_of(text),
            segments=segments(text),
            quiet=quiet,
            status=MessageStatus.QUEUED,
            dedupe_key=dedupe_key,
            payment_reference=payment_reference,
            campaign_id=campaign_id,
            not_before=self.not_before(now, quiet),
            attempts=0,
            created_at=now,
        )

    def not_before(self, now: datetime, quiet: bool) -> datetime:
        if quiet and self.quiet_hours is not None:
            return self.quiet_hours.next_allowed(now)
        return now


def insert_once(message: models.Message, dialect: str) -> ReturningInsert[tuple[int]]:
    """An INSERT of `message` that does nothing when its dedupe key is already used:
    the sweep of two workers, or of one worker after a restart, queues it once. It
    returns the new row's id, or no row (rowcount is not reliable across drivers)."""
    values = {
        column.key: getattr(message, column.key)
        for column in models.Message.__table__.columns
        if column.key != "id"
    }
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(models.Message)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(models.Message.id)
    )
