"""Enrol a household: all or nothing, once per request, never twice per family."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from adapters.register import EventKind
from db import models
from db.bulk import insert_rows, reserve_ids, row_of
from db.engine import begin_writing, hold_decision_lock, write_queue
from db.values import (
    AuditAction,
    TranscribedFields,
    TranscriptionStatus,
    UnitLevel,
)
from gateway import audit
from gateway.actors import agent_actor
from gateway.caller_changes import callers_changed
from gateway.enrolment import pricing, rules_cache
from gateway.enrolment.entitlements import terms_of
from gateway.register.outgoing import register_event
from gateway.scheme.cache import offers, product_rule
from gateway.scheme.calendar import calendar_of, campaign_open, first_year, next_campaign
from gateway.settings import DEFAULT_TIMEZONE
from gateway.sms.enrolment import enrolment_sms
from gateway.sms.outbox import Outbox
from menus import recorded
from menus.effects import EnrolHousehold, EnrolResult, PersonDraft
from menus.identifiers import member_number
from menus.values import Relationship

log = logging.getLogger(__name__)
MembersHook = Callable[[Session, list[models.Member]], None]


class EnrolmentService:
    """Writes run in a worker thread on a synchronous session: one hand-off for the whole
    transaction instead of one per statement, so a busy event loop (every other USSD hop)
    does not stretch the transaction, and the write lock it holds, statement by statement."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        outbox: Outbox | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox or Outbox.standard()
        self.now = now or (lambda: datetime.now(ZoneInfo(DEFAULT_TIMEZONE)))
        self.rules = rules_cache.RulesCache()

    async def enrol(self, request: EnrolHousehold, request_key: str, today: date) -> EnrolResult:
        try:
            async with write_queue(self.sessions.kw.get("bind")):
                return await asyncio.to_thread(self._enrol_once, request, request_key, today)
        except IntegrityError:
            # A concurrent copy of this request, or of this family, won the race.
            log.info("enrolment race on %s; answering from what was stored", request_key)
        return await asyncio.to_thread(self._after_race, request, request_key)

    def _enrol_once(self, request: EnrolHousehold, request_key: str, today: date) -> EnrolResult:
        with self.sessions() as session, session.begin():
            begin_writing(session)
            return self.enrol_in(session, request, request_key, today)

    def enrol_in(
        self,
        session: Session,
        request: EnrolHousehold,
        request_key: str,
        today: date,
        before_pricing: MembersHook | None = None,
    ) -> EnrolResult:
        """Enrol within a transaction the caller began with `begin_writing` (a bulk
        import writes many households per commit); the caller commits or rolls back.
        `before_pricing` is given the new members (head first) before the first year is
        priced: the import records their exemptions there, so they count from it."""
        # One decision at a time per phone: two sessions of one family cannot both
        # find it "not enrolled yet".
        hold_decision_lock(session, f"household-phone:{request.phone}")
        return self._enrol(session, request, request_key, today, before_pricing)

    def _after_race(self, request: EnrolHousehold, request_key: str) -> EnrolResult:
        with self.sessions() as session:
            again = self._already_done(session, request, request_key)
            if again is None:
                raise RuntimeError("enrolment conflicted but nothing matching was stored")
            return again

    def _enrol(
        self,
        session: Session,
        request: EnrolHousehold,
        request_key: str,
        today: date,
        before_pricing: MembersHook | None = None,
    ) -> EnrolResult:
        done = self._already_done(session, request, request_key)
        if done is not None:
            return done
        persons = 1 + len(request.dependants)
        # The mutual, the product, the unit offering it and the price rules' version in
        # one statement (they were three).
        offering = aliased(models.SchemeUnit)
        found = session.execute(
            select(models.SchemeUnit, models.Product, offering, rules_cache.version_read())
            .select_from(models.SchemeUnit)
            .join(models.Product, models.Product.code == request.product_code)
            .outerjoin(offering, offering.id == models.Product.unit_id)
            .where(
                models.SchemeUnit.code == request.mutual_code,
                models.SchemeUnit.level == UnitLevel.MUTUAL,
            )
        ).first()
        if found is None or not found[1].active:
            return _refused("unknown_product", persons)
        mutual, product, unit, rules_version = found
        if request.agent_id is not None and not _may_register(session, request.agent_id, mutual):
            return _refused("not_allowed", persons)
        if unit is None or not offers(unit, mutual):
            return _refused("unknown_product", persons)
        rule = product_rule(product)
        if rule.max_members is not None and persons > rule.max_members:
            return _refused("full", persons)
        cal = calendar_of(product)
        if not campaign_open(cal, today):
            result = _refused("closed", persons)
            opens_on = next_campaign(cal, today)
            result["opens_on"] = opens_on.isoformat() if opens_on else None
            return result

        # Written in multi-row statements, not ORM flushes (they were 44 % of an
        # enrolment's CPU): the same rows, the members' numbers set with their ids.
        connection = session.connection()
        household = models.Household(
            mutual_id=mutual.id,
            product_id=product.id,
            phone=request.phone,
            language=request.language,
            channel=request.channel,
            commune=mutual.commune,
            category=request.category,
            agent_id=request.agent_id,
            # The gateway's clock, not the database's: SQLite's is UTC without a zone, and
            # "enrolled today" is counted in the scheme's time.
            created_at=self.now(),
            arrondissement=mutual.arrondissement,
            request_key=request_key,
        )
        household.id = connection.execute(
            insert(models.Household).returning(models.Household.id), row_of(household)
        ).scalar_one()
        callers_changed(session, request.phone)  # plain INSERTs: the listener sees none
        people = [
            member_from(person, household.id, request.agent_id, household.created_at)
            for person in (request.head, *request.dependants)
        ]
        member_ids = reserve_ids(connection, models.Member, len(people))
        for person, member_id in zip(people, member_ids, strict=True):
            person.id = member_id
            person.member_no = member_number(member_id)
        insert_rows(connection, models.Member, [row_of(person) for person in people])
        if before_pricing is not None:
            before_pricing(session, people)
        year = first_year(cal, today)
        # The cover start decides the group contract, as in `alafia renew` (bulk_renewal).
        rules = self.rules.rules(
            session, product, household.category, year.starts_on or today, rules_version
        )
        quote = pricing.quote_by(
            rules,
            pricing.persons_of(session, household.id, today)
            if before_pricing is not None
            else [pricing.Person(p.id, p.birth_date, p.sex) for p in people],
            year,
            today,
        )
        period = pricing.open_new_period(
            session,
            pricing.Opening(
                household.id, product, quote, year, today, request.channel, request_key
            ),
        )
        spoken = transcriptions_for(
            household.id, zip((request.head, *request.dependants), people, strict=True), self.now()
        )
        insert_rows(connection, models.Transcription, [row_of(t) for t in spoken])
        if not spoken:
            # The member number reaches the family in writing, with the enrolment or not at
            # all; with names still to transcribe, once the last is typed
            # (`gateway.transcriptions.desk`), when the household is known by name here and in the
            # register.
            message = enrolment_sms(self.outbox, household, people, period, self.now())
            insert_rows(connection, models.Message, [row_of(message)])
        # Pushed once the names are typed: the register sync holds a household's events
        # while any transcription of it is pending (`gateway.register.sync`).
        event = register_event(EventKind.HOUSEHOLD_ENROLLED, household.id, self.now())
        insert_rows(connection, models.RegisterEvent, [row_of(event)])
        if request.agent_id is not None:
            entry = audit.entry(
                agent_actor(request.agent_id),
                AuditAction.HOUSEHOLD_REGISTERED,
                self.now(),
                household_id=household.id,
                member_no=people[0].member_no,
                details={"persons": persons, "premium_due": period.premium_due},
            )
            insert_rows(connection, type(entry), [row_of(entry)])
        log.info(
            "household %s enrolled in %s: %d persons, %d XOF due, %d names to transcribe",
            household.id,
            mutual.code,
            persons,
            period.premium_due,
            len(spoken),
        )
        return EnrolResult(
            outcome="enrolled",
            member_no=people[0].member_no or "",
            premium_due=period.premium_due,
            persons=persons,
            opens_on=None,
        )

    def _already_done(
        self, session: Session, request: EnrolHousehold, request_key: str
    ) -> EnrolResult | None:
        """The same request seen before, or the same family enrolled before."""
        same_request = session.scalar(
            select(models.Household).where(models.Household.request_key == request_key)
        )
        if same_request is not None:
            return _result_for(session, same_request.id, "enrolled")
        national_ids = [p.national_id for p in (request.head, *request.dependants) if p.national_id]
        if national_ids:
            holder = session.scalar(
                select(models.Member).where(models.Member.national_id.in_(national_ids)).limit(1)
            )
            if holder is not None:
                return _result_for(session, holder.household_id, "duplicate")
        head = request.head
        born = date.fromisoformat(head.birth_date)
        if name_recorded(head):
            # A spoken name cannot be compared: the same phone, a head whose name also
            # waits for its transcription, born the same day, of the same sex (a caller
            # enrolling again while the SMS waits for the names).
            same_head = (
                models.Member.last_name == "",
                models.Member.birth_date == born,
                models.Member.sex == head.sex,
            )
        else:
            same_head = (
                models.Member.last_name == head.last_name,
                models.Member.first_names == head.first_names,
                models.Member.birth_year == born.year,
            )
        same_family = session.scalar(
            select(models.Household.id)
            .join(models.Member, models.Member.household_id == models.Household.id)
            .where(
                models.Household.phone == request.phone,
                models.Member.relationship_to_head == Relationship.HEAD,
                *same_head,
            )
            .limit(1)
        )
        if same_family is not None:
            return _result_for(session, same_family, "duplicate")
        return None


def _may_register(session: Session, agent_id: int, mutual: models.SchemeUnit) -> bool:
    """Checked again here, whatever the menu offered: an active agent, in this mutual."""
    agent = session.get(models.Agent, agent_id)
    return agent is not None and agent.disabled_at is None and agent.mutual_id == mutual.id


def member_from(
    person: PersonDraft, household_id: int, agent_id: int | None, created_at: datetime
) -> models.Member:
    """A member row for a person as typed (its number is set once it has an id). A name
    spoken instead is stored empty until staff transcribe it: never the recording's
    address, which no screen, SMS or register may take for a name."""
    born = date.fromisoformat(person.birth_date)
    return models.Member(
        household_id=household_id,
        agent_id=agent_id,
        created_at=created_at,
        last_name="" if recorded.recording_of(person.last_name) else person.last_name,
        first_names="" if recorded.recording_of(person.first_names) else person.first_names,
        sex=person.sex,
        birth_date=born,
        birth_year=born.year,
        birth_year_only=person.birth_year_only,
        relationship_to_head=person.relationship,
        occupation=person.occupation,
        national_id=person.national_id,
    )


def name_recorded(person: PersonDraft) -> bool:
    return any(recorded.recording_of(name) for name in (person.last_name, person.first_names))


def transcriptions_for(
    household_id: int,
    persons: Iterable[tuple[PersonDraft, models.Member]],
    now: datetime,
) -> list[models.Transcription]:
    """One transcription per recording: a dependant's whole name is one, the head's
    family name and first names two. The worker fetches each at once."""
    found: list[models.Transcription] = []
    for person, member in persons:
        last, first = (
            recorded.recording_of(person.last_name),
            recorded.recording_of(person.first_names),
        )
        if last is not None and last == first:
            wanted = [(TranscribedFields.NAME, last)]
        else:
            wanted = [
                (fields, url)
                for fields, url in (
                    (TranscribedFields.LAST_NAME, last),
                    (TranscribedFields.FIRST_NAMES, first),
                )
                if url is not None
            ]
        found += [
            models.Transcription(
                household_id=household_id,
                member_id=member.id,
                fields=fields,
                recording_url=url,
                status=TranscriptionStatus.AWAITING_AUDIO,
                fetch_attempts=0,
                next_fetch_at=now,
                created_at=now,
            )
            for fields, url in wanted
        ]
    return found


def _refused(outcome: str, persons: int) -> EnrolResult:
    return EnrolResult(outcome=outcome, member_no="", premium_due=0, persons=persons, opens_on=None)


def _result_for(session: Session, household_id: int, outcome: str) -> EnrolResult:
    head = session.scalar(
        select(models.Member)
        .where(
            models.Member.household_id == household_id,
            models.Member.relationship_to_head == Relationship.HEAD,
        )
        .limit(1)
    )
    period = session.scalar(
        select(models.CoveragePeriod)
        .where(models.CoveragePeriod.household_id == household_id)
        .order_by(models.CoveragePeriod.starts_on.desc())
        .limit(1)
    )
    return EnrolResult(
        outcome=outcome,
        member_no=head.member_no or "" if head else "",
        premium_due=terms_of(period).amount_due if period else 0,
        persons=period.persons if period else 0,
        opens_on=None,
    )
