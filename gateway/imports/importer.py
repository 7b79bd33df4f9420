"""Validated households -> enrolments, a batch per transaction.

Many households per transaction (one commit per batch), each household whole. The
batch's plain households are written set-based (`gateway.imports.bulk_enrol`: one
multi-row write per table for the batch); the others go through the same service as
USSD enrolment (which writes the household, its members, its coverage period, its
confirmation SMS and its register event together) or the renewal path, one by one, and
we add their audit entries in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db import models
from db.engine import begin_writing
from db.values import AuditAction, UnitLevel
from gateway import audit
from gateway.enrolment.service import EnrolmentService
from gateway.groups.payers import sponsor_code
from gateway.imports import bulk_enrol
from gateway.imports.bulk_enrol import hold_phone_locks
from gateway.imports.columns import fold
from gateway.imports.households_csv import ValidHousehold
from gateway.imports.renewals import Renewed, household_named, record_exemptions, renew_in
from gateway.imports.rows import SchemeRules
from gateway.scheme.cache import offers
from gateway.scheme.calendar import calendar_of, first_year
from gateway.sms.outbox import Outbox
from menus.identifiers import NationalIdRule

log = logging.getLogger(__name__)

BATCH = 200
REFUSALS = {
    "closed": "the product's enrolment period is closed",
    "full": "more persons than the product takes",
    "unknown_product": "the product is not offered by this mutual (or no longer active)",
}


class UnknownMutual(LookupError):
    pass


def read_rules(
    session: Session, mutual_code: str, now: datetime, language: str, id_length: int, country: str
) -> SchemeRules:
    """The mutual's products and the scheme's occupations, as the file is checked against."""
    mutual = session.scalar(
        select(models.SchemeUnit).where(
            models.SchemeUnit.code == mutual_code, models.SchemeUnit.level == UnitLevel.MUTUAL
        )
    )
    if mutual is None:
        raise UnknownMutual(mutual_code)
    units = {u.id: u for u in session.scalars(select(models.SchemeUnit))}
    products = {
        p.code: p.max_members
        for p in session.scalars(select(models.Product).where(models.Product.active))
        if offers(units[p.unit_id], mutual)
    }
    occupations: dict[str, str] = {}
    for occupation in session.scalars(select(models.Occupation)):
        for name in (occupation.code, *occupation.names.values()):
            occupations[fold(str(name))] = occupation.code
    groups = frozenset(
        session.scalars(
            select(models.PayerGroup.code).where(models.PayerGroup.mutual_id == mutual.id)
        )
    )
    return SchemeRules(
        mutual_code=mutual.code,
        groups=groups,
        products=products,
        occupations=occupations,
        today=now.date(),
        national_id=NationalIdRule(id_length),
        country=country,
        language=language,
    )


def request_key(household: ValidHousehold) -> str:
    """The same household of the same file is the same request on every run; two files
    that both number households 1, 2, 3 differ by who is in them."""
    request, head = household.request, household.request.head
    identity = "\x1f".join(
        (
            request.mutual_code,
            household.key,
            head.last_name,
            head.first_names,
            head.birth_date,
            head.sex,
            request.phone,
        )
    )
    return "import:" + hashlib.sha256(identity.encode()).hexdigest()[:40]


@dataclass
class Written:
    imported: list[tuple[ValidHousehold, str]] = field(default_factory=list)  # head's member no
    earlier: list[ValidHousehold] = field(default_factory=list)  # by a run of this file
    duplicates: list[tuple[ValidHousehold, str]] = field(default_factory=list)  # who is there
    refused: list[tuple[ValidHousehold, str]] = field(default_factory=list)  # why
    renewed: list[tuple[ValidHousehold, str]] = field(default_factory=list)  # head's member no

    def extend(self, other: Written) -> None:
        self.imported += other.imported
        self.earlier += other.earlier
        self.duplicates += other.duplicates
        self.refused += other.refused
        self.renewed += other.renewed

    @property
    def already(self) -> int:
        return len(self.earlier) + len(self.duplicates)

    @property
    def members(self) -> int:
        return sum(len(h.lines) for h, _ in self.imported)


class HouseholdImport:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        outbox: Outbox,
        now: Callable[[], datetime],
        actor: str,
        file_name: str,
        batch: int = BATCH,
    ) -> None:
        self.sessions = sessions
        self.enrolment = EnrolmentService(sessions, outbox, now)
        self.now = now
        self.actor = actor
        self.file_name = file_name
        self.batch = batch

    def write(
        self, households: Sequence[ValidHousehold], progress: Callable[[int], None]
    ) -> Written:
        written = Written()
        for batch in _batches(households, self.batch):
            try:
                written.extend(self._write_batch(batch))
            except IntegrityError:
                # Someone else (a USSD session, another import) enrolled one of these
                # families meanwhile: redo the batch one household at a time, so the
                # others go through and only that one is told.
                log.info("import batch conflicted; writing its households one by one")
                for household in batch:
                    try:
                        written.extend(self._write_batch([household]))
                    except IntegrityError:
                        written.refused.append(
                            (household, "enrolled elsewhere at the same moment: run again")
                        )
            progress(len(batch))
        return written

    def _write_batch(self, batch: Sequence[ValidHousehold]) -> Written:
        done = Written()
        keys = {id(h): request_key(h) for h in batch}
        now = self.now()
        with self.sessions() as session, session.begin():
            begin_writing(session)
            seen = set(
                session.scalars(
                    select(models.Household.request_key).where(
                        models.Household.request_key.in_(keys.values())
                    )
                )
            )
            mutual = session.scalar(
                select(models.SchemeUnit).where(
                    models.SchemeUnit.code == batch[0].request.mutual_code,
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                )
            )
            assert mutual is not None  # checked when the rules were read
            groups = {
                group.code: group
                for group in session.scalars(
                    select(models.PayerGroup).where(models.PayerGroup.mutual_id == mutual.id)
                )
            }
            todo = [h for h in batch if keys[id(h)] not in seen]
            done.earlier += [h for h in batch if keys[id(h)] in seen]
            # Every phone's decision lock until the commit, in phone order: two imports
            # taking them in the same order cannot deadlock.
            hold_phone_locks(session, [h.request.phone for h in todo])
            plain, others = bulk_enrol.split(
                session, [(h, keys[id(h)]) for h in todo], mutual, now.date()
            )
            done.imported += bulk_enrol.write(
                session, plain, mutual, self.enrolment.outbox, now, self.actor, self.file_name
            )
            one_by_one = Written()
            for household in sorted(others, key=lambda h: h.request.phone):
                key = keys[id(household)]
                group = groups.get(household.group) if household.group else None
                named = household_named(session, mutual.id, household)
                if isinstance(named, Renewed):
                    one_by_one.refused.append((household, named.reason))
                    continue
                if named is not None:
                    self._renew(session, named, household, group, now, one_by_one, None)
                    continue
                request = household.request
                if group is not None and not _contracted(session, group, request.product_code, now):
                    one_by_one.refused.append(
                        (
                            household,
                            f"group {group.code} has no contract for {request.product_code} "
                            "this year (alafia groups contract)",
                        )
                    )
                    continue
                if group is not None:  # its subsidy applies to the group's category
                    request = replace(request, category=sponsor_code(group.code))
                result = self.enrolment.enrol_in(
                    session,
                    request,
                    key,
                    now.date(),
                    partial(self._exempt, household=household, now=now),
                )
                if result["outcome"] == "enrolled":
                    one_by_one.imported.append((household, result["member_no"]))
                elif result["outcome"] == "duplicate":
                    # Enrolled another way (USSD, an agent, another file): same phone,
                    # head's name and birth year, or a national ID already held. Its row
                    # renews it when renewal is open.
                    enrolled = session.scalar(
                        select(models.Household)
                        .join(models.Member, models.Member.household_id == models.Household.id)
                        .where(models.Member.member_no == result["member_no"])
                    )
                    assert enrolled is not None
                    self._renew(
                        session, enrolled, household, group, now, one_by_one, result["member_no"]
                    )
                else:
                    reason = REFUSALS.get(result["outcome"], result["outcome"])
                    if result["opens_on"]:
                        reason += f" (opens on {result['opens_on']})"
                    one_by_one.refused.append((household, reason))
            self._record(session, one_by_one.imported, keys, groups, now)
            done.extend(one_by_one)
        return done

    def _exempt(
        self,
        session: Session,
        members: list[models.Member],
        *,
        household: ValidHousehold,
        now: datetime,
    ) -> None:
        record_exemptions(session, members, household, now, self.actor)

    def _renew(
        self,
        session: Session,
        enrolled: models.Household,
        household: ValidHousehold,
        group: models.PayerGroup | None,
        now: datetime,
        done: Written,
        duplicate_of: str | None,
    ) -> None:
        """A household already enrolled: renewed when its renewal is open. Found only as
        a duplicate (no member number in the file), a renewal not open yet is what it
        always was: already enrolled, nothing changed."""
        renewed = renew_in(session, enrolled, household, group, now, self.actor)
        if renewed.outcome == "renewed":
            done.renewed.append((household, renewed.member_no))
            session.add(
                audit.entry(
                    self.actor,
                    AuditAction.HOUSEHOLD_IMPORTED,
                    now,
                    household_id=enrolled.id,
                    member_no=renewed.member_no,
                    details={
                        "file": self.file_name,
                        "line": household.lines[0],
                        "persons": len(household.lines),
                        "renewal": True,
                    },
                )
            )
        elif renewed.outcome == "earlier":
            done.earlier.append(household)
        elif duplicate_of is not None:
            done.duplicates.append(
                (
                    household,
                    f"already enrolled, head's member number {duplicate_of}"
                    f" (not renewed: {renewed.reason})",
                )
            )
        else:
            done.refused.append((household, f"not renewed: {renewed.reason}"))

    def _record(
        self,
        session: Session,
        imported: Sequence[tuple[ValidHousehold, str]],
        keys: dict[int, str],
        groups: dict[str, models.PayerGroup],
        now: datetime,
    ) -> None:
        """What the service does not know of: the village, and who imported it from
        where. One look-up for the batch's new households, not one each."""
        if not imported:
            return
        stored = {
            household.request_key: household
            for household in session.scalars(
                select(models.Household).where(
                    models.Household.request_key.in_([keys[id(h)] for h, _ in imported])
                )
            )
        }
        for household, member_no in imported:
            row = stored[keys[id(household)]]
            if household.village:
                row.village = household.village
            if household.group is not None:
                row.group_id = groups[household.group].id
            session.add(
                audit.entry(
                    self.actor,
                    AuditAction.HOUSEHOLD_IMPORTED,
                    now,
                    household_id=row.id,
                    member_no=member_no,
                    details={
                        "file": self.file_name,
                        "line": household.lines[0],
                        "persons": len(household.lines),
                    },
                )
            )


def _contracted(
    session: Session, group: models.PayerGroup, product_code: str, now: datetime
) -> bool:
    """The group has a contract on this product for the cover year a household joining
    today enrols into: else the household would be asked for a premium staff believe
    the group pays."""
    product = session.scalar(select(models.Product).where(models.Product.code == product_code))
    if product is None:
        return False
    year = first_year(calendar_of(product), now.date())
    starts = year.starts_on or now.date()
    return (
        session.scalar(
            select(models.GroupContract.id).where(
                models.GroupContract.group_id == group.id,
                models.GroupContract.product_id == product.id,
                models.GroupContract.starts_on <= starts,
                models.GroupContract.ends_on >= starts,
            )
        )
        is not None
    )


def _batches(items: Sequence[ValidHousehold], size: int) -> Iterator[Sequence[ValidHousehold]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
