"""Moving a member to another household from the dashboard: the plan with both households'
premiums and cover, its confirmation, what it costs, and what is refused (the head, a
household outside the scope, a bill that would owe money back, a stale plan)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from gateway.staff.scope import Scope
from gateway.stats import figures
from gateway.stats.filters import Filters
from gateway.stats.rollup import Rollup
from gateway.stats.selection import Source
from tests.conftest import TODAY
from tests.staff.web import (
    ADMIN,
    KANDI_PHONE,
    MANAGER,
    OTHER_MANAGER,
    PARAKOU_OTHER_PHONE,
    PARAKOU_PHONE,
    VIEWER,
    audit_rows,
    hidden,
    household_of,
    logged_in,
    members,
    register_events,
    text_of,
)
from tests.support.gateway import part, shared


@pytest.fixture
async def leaving(enrolment: EnrolmentService, db: Session) -> int:
    """ASSOGBA Rose, Afi and Sena in MS-PARAKOU: 3 persons, 4,725 FCFA due."""
    return await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")


@pytest.fixture
async def joining(enrolment: EnrolmentService, db: Session) -> int:
    """DOSSOU Rose and Afi in MS-PARAKOU: 2 persons, 3,150 FCFA due."""
    return await household_of(
        enrolment, db, PARAKOU_OTHER_PHONE, "MS-PARAKOU", persons=2, family_name="DOSSOU"
    )


def period_of(db: Session, household_id: int) -> models.CoveragePeriod:
    db.expire_all()
    period = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == household_id)
    )
    assert period is not None
    return period


async def pay(app: Starlette, db: Session, household_id: int, amount: int) -> None:
    head = members(db, household_id)[0]
    assert head.member_no is not None
    await part(app, Payments).ledger.record_cash(head.member_no, amount, "Rose", channel="staff")


def move_path(household_id: int, member: models.Member) -> str:
    return f"/admin/households/{household_id}/members/{member.member_no}/move"


async def plan(
    web: httpx.AsyncClient,
    csrf: str,
    path: str,
    to_member_no: str | None,
    relationship: str = "child",
) -> httpx.Response:
    return await web.post(
        path,
        data={
            "to_member_no": to_member_no or "",
            "relationship": relationship,
            "step": "plan",
            "csrf": csrf,
        },
    )


async def confirm(
    web: httpx.AsyncClient, csrf: str, path: str, shown: httpx.Response
) -> httpx.Response:
    return await web.post(
        path,
        data={
            "to_member_no": hidden(shown, "to_member_no"),
            "relationship": hidden(shown, "relationship"),
            "version": hidden(shown, "version"),
            "step": "confirm",
            "csrf": csrf,
        },
    )


async def test_a_manager_moves_a_member_and_both_households_are_priced_again(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    sena = members(db, leaving)[2]
    path = move_path(leaving, sena)
    host = members(db, joining)[1].member_no

    shown = await plan(web, csrf, path, host, "other")

    assert shown.status_code == 200
    words = text_of(shown)
    assert f"ASSOGBA Sena (n° {sena.member_no}) quitte le ménage n° {leaving}" in words
    assert (
        f"Ménage de départ n° {leaving} Chef de ménage : ASSOGBA Rose Personnes 3 → 2"
        " Cotisation 4\u202f725\u00a0FCFA → 3\u202f150\u00a0FCFA Payé 0\u00a0FCFA"
        " Reste à payer ensuite 3\u202f150\u00a0FCFA"
    ) in words
    assert (
        f"Ménage d'accueil n° {joining} Chef de ménage : DOSSOU Rose Personnes 2 → 3"
        " Cotisation 3\u202f150\u00a0FCFA → 4\u202f725\u00a0FCFA"
    ) in words
    assert "Couverture de Sena : En attente de paiement → En attente de paiement" in words
    assert 'class="danger"' in shown.text  # a confirmation, before anything is done
    assert members(db, leaving)[2].household_id == leaving  # nothing done yet

    done = await confirm(web, csrf, path, shown)

    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/households/{joining}?done=moved"
    now_in = {m.member_no: m.relationship_to_head for m in members(db, joining)}
    assert len(now_in) == 3 and now_in[sena.member_no] == "other"
    assert len(members(db, leaving)) == 2
    left, joined = period_of(db, leaving), period_of(db, joining)
    assert (left.persons, left.premium_due) == (2, 3150)
    assert (joined.persons, joined.premium_due) == (3, 4725)
    out, into = audit_rows(db, "member_moved")
    assert (out.household_id, out.member_no) == (leaving, sena.member_no)
    assert out.details == {
        "to_household": joining,
        "changes": {
            "persons": {"before": 3, "after": 2},
            "premium_due": {"before": 4725, "after": 3150},
        },
    }
    assert into.household_id == joining and into.details["from_household"] == leaving
    assert into.details["changes"]["relationship"] == {"before": "child", "after": "other"}
    for household_id in (leaving, joining):
        (event,) = register_events(db, household_id)[1:]
        assert (event.kind, event.member_no) == ("household_updated", sena.member_no)
    page = text_of(await web.get(done.headers["location"]))
    assert "Membre déplacé dans ce ménage" in page and "ASSOGBA Sena" in page
    assert "Lien : Enfant → Autre" in page and f"Venu du ménage n° : {leaving}" in page
    assert "Cotisation : 3\u202f150\u00a0FCFA → 4\u202f725\u00a0FCFA" in page
    assert f"Parti vers le ménage n° : {joining}" in text_of(
        await web.get(f"/admin/households/{leaving}")
    )


async def test_a_household_that_paid_keeps_its_rights_and_owes_for_the_newcomer(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    await pay(app, db, joining, 3150)
    assert period_of(db, joining).status == "waiting"
    await pay(app, db, leaving, 3150)  # two persons' worth of three
    csrf = await logged_in(web, app, *MANAGER)
    path = move_path(leaving, members(db, leaving)[2])

    shown = await plan(web, csrf, path, members(db, joining)[0].member_no)
    words = text_of(shown)
    assert "En attente de paiement → Période d'attente" in words  # the smaller bill is paid
    assert "Couverture de Sena : En attente de paiement → Période d'attente" in words
    assert (await confirm(web, csrf, path, shown)).status_code == 303

    left, joined = period_of(db, leaving), period_of(db, joining)
    assert (left.premium_due, left.amount_paid, left.status) == (3150, 3150, "waiting")
    assert left.paid_in_full_on is not None
    assert (joined.premium_due, joined.amount_paid, joined.status) == (4725, 3150, "waiting")


async def test_a_move_that_would_owe_money_back_is_refused_with_the_reason(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    await pay(app, db, leaving, 4725)
    csrf = await logged_in(web, app, *MANAGER)
    path = move_path(leaving, members(db, leaving)[2])

    refused = await plan(web, csrf, path, members(db, joining)[0].member_no)

    assert refused.status_code == 400
    words = text_of(refused)
    assert "a déjà payé 4\u202f725\u00a0FCFA" in words
    assert "ne serait plus que de 3\u202f150\u00a0FCFA" in words
    assert "ne sait pas encore rembourser" in words
    assert len(members(db, leaving)) == 3 and audit_rows(db, "member_moved") == []


async def test_a_plan_gone_stale_is_shown_again_before_anything_is_done(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = move_path(leaving, members(db, leaving)[2])
    shown = await plan(web, csrf, path, members(db, joining)[0].member_no)
    await pay(app, db, joining, 1000)  # a payment arrives while the plan is read

    stale = await confirm(web, csrf, path, shown)

    assert stale.status_code == 409
    assert "Les ménages ont changé depuis" in text_of(stale)
    assert "1\u202f000\u00a0FCFA" in text_of(stale)  # the payment, now in the plan
    assert len(members(db, leaving)) == 3 and audit_rows(db, "member_moved") == []
    assert (await confirm(web, csrf, path, stale)).status_code == 303
    assert len(members(db, joining)) == 3


async def test_the_head_cannot_be_moved(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    head = members(db, leaving)[0]
    page = await web.get(f"/admin/households/{leaving}")
    assert move_path(leaving, head) not in page.text
    assert move_path(leaving, members(db, leaving)[1]) in page.text

    refused = await plan(web, csrf, move_path(leaving, head), members(db, joining)[0].member_no)

    assert refused.status_code == 400
    assert "Le chef de ménage ne peut pas être déplacé" in text_of(refused)
    assert members(db, leaving)[0].household_id == leaving


async def test_a_member_number_that_is_wrong_or_of_the_same_household_is_refused(
    web: httpx.AsyncClient, app: Starlette, leaving: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = move_path(leaving, members(db, leaving)[2])

    typo = await plan(web, csrf, path, "123456789", relationship="")
    assert typo.status_code == 400
    assert 'id="e-to_member_no"' in typo.text and 'id="e-relationship"' in typo.text
    assert "Exemple : 123 456 786" in text_of(typo)

    same = await plan(web, csrf, path, members(db, leaving)[1].member_no)
    assert same.status_code == 400 and "même ménage" in text_of(same)


async def test_a_household_of_another_mutual_is_not_found_for_a_manager_and_audited(
    web: httpx.AsyncClient,
    app: Starlette,
    leaving: int,
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    kandi = await household_of(enrolment, db, KANDI_PHONE, "MS-KANDI", persons=1)
    csrf = await logged_in(web, app, *MANAGER)
    sena = members(db, leaving)[2]

    refused = await plan(web, csrf, move_path(leaving, sena), members(db, kandi)[0].member_no)

    assert refused.status_code == 400
    assert "Aucun ménage de votre périmètre n'a ce numéro" in text_of(refused)
    (row,) = audit_rows(db, "household_change_refused")
    assert (row.household_id, row.member_no) == (kandi, sena.member_no)
    assert row.details == {"change": "move", "reason": "outside_scope"}
    assert len(members(db, kandi)) == 1


async def central_staff_move_the_third_member(
    web: httpx.AsyncClient, app: Starlette, db: Session, leaving: int, into: int
) -> None:
    """Sena, planned then confirmed by central staff, as the spouse of `into`'s head."""
    csrf = await logged_in(web, app, *ADMIN)
    path = move_path(leaving, members(db, leaving)[2])
    shown = await plan(web, csrf, path, members(db, into)[0].member_no, "spouse")
    assert (await confirm(web, csrf, path, shown)).status_code == 303


async def test_central_staff_move_members_between_mutuals(
    web: httpx.AsyncClient,
    app: Starlette,
    leaving: int,
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    kandi = await household_of(enrolment, db, KANDI_PHONE, "MS-KANDI", persons=1)
    await central_staff_move_the_third_member(web, app, db, leaving, kandi)
    assert [m.relationship_to_head for m in members(db, kandi)] == ["head", "spouse"]


async def test_a_member_moved_after_their_day_was_rolled_up_is_counted_in_the_new_mutual(
    web: httpx.AsyncClient,
    app: Starlette,
    leaving: int,
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    """The dashboard's daily roll-ups count persons by household: a move puts the
    watermark back before the person's day, so the figures follow the move at once and
    the worker counts that day again."""
    kandi = await household_of(enrolment, db, KANDI_PHONE, "MS-KANDI", persons=1)
    runtime = shared(app)
    # Rows are stamped by the real clock (created_at), not the test's day: days after it.
    later = datetime.now(UTC) + timedelta(days=3)
    rollup = Rollup(runtime.sessions, runtime.settings.timezone, lambda: later)
    await rollup.rebuild()
    db.rollback()  # a fresh snapshot: the rebuild committed on its own connection
    folded = db.scalar(select(models.RollupMark.rolled_until))
    assert folded is not None and folded >= datetime.now(UTC).date()  # their day is folded
    source = Source(runtime.dashboard_sessions, runtime.settings.timezone)

    async def persons_by_mutual() -> dict[str, int]:
        figure = await figures.enrolment(source, Scope(StaffRole.CENTRAL_ADMIN, None), Filters())
        return {row["key"]: row["persons"] for row in figure["by_mutual"]}

    assert await persons_by_mutual() == {"MS-KANDI": 1, "MS-PARAKOU": 3}
    await central_staff_move_the_third_member(web, app, db, leaving, kandi)

    assert await persons_by_mutual() == {"MS-KANDI": 2, "MS-PARAKOU": 2}
    await rollup.work()  # the day counted again by the worker: the same answer
    assert await persons_by_mutual() == {"MS-KANDI": 2, "MS-PARAKOU": 2}


async def test_a_household_at_its_products_cap_takes_nobody_more(
    web: httpx.AsyncClient,
    app: Starlette,
    leaving: int,
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    pupil = await household_of(
        enrolment, db, PARAKOU_OTHER_PHONE, "MS-PARAKOU", persons=1, product="SCOLAIRE"
    )
    csrf = await logged_in(web, app, *MANAGER)
    refused = await plan(
        web, csrf, move_path(leaving, members(db, leaving)[2]), members(db, pupil)[0].member_no
    )
    assert refused.status_code == 400
    assert "plus de 1 personnes, le maximum de son produit" in text_of(refused)


@pytest.mark.parametrize(("who", "reason"), [(OTHER_MANAGER, "outside_scope"), (VIEWER, "role")])
async def test_a_move_outside_ones_role_or_scope_is_refused_and_audited(
    web: httpx.AsyncClient,
    app: Starlette,
    leaving: int,
    joining: int,
    db: Session,
    who: tuple[str, str | None],
    reason: str,
) -> None:
    csrf = await logged_in(web, app, *who)
    sena = members(db, leaving)[2]
    for step in ("plan", "confirm"):
        answer = await web.post(
            move_path(leaving, sena),
            data={
                "to_member_no": members(db, joining)[0].member_no,
                "relationship": "child",
                "version": "anything",
                "step": step,
                "csrf": csrf,
            },
        )
        assert answer.status_code == 403
    assert len(members(db, leaving)) == 3
    refusals = audit_rows(db, "household_change_refused")
    assert [(r.household_id, r.details["reason"]) for r in refusals] == [(leaving, reason)] * 2


async def test_a_confirmation_without_the_session_token_does_nothing(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = move_path(leaving, members(db, leaving)[2])
    shown = await plan(web, csrf, path, members(db, joining)[0].member_no)
    forged = await web.post(
        path,
        data={
            "to_member_no": hidden(shown, "to_member_no"),
            "relationship": "child",
            "version": hidden(shown, "version"),
            "step": "confirm",
        },
    )
    assert forged.status_code == 403
    assert len(members(db, leaving)) == 3


async def test_a_member_moved_into_a_household_that_renewed_is_priced_into_the_next_year(
    web: httpx.AsyncClient, app: Starlette, leaving: int, joining: int, db: Session
) -> None:
    await pay(app, db, joining, 3150)
    paid = period_of(db, joining)
    starts = TODAY + timedelta(days=200)
    columns = models.CoveragePeriod.__table__.columns
    copied = {c.key: getattr(paid, c.key) for c in columns if c.key != "id"}
    copied.update(
        starts_on=starts,
        amount_paid=0,
        paid_in_full_on=None,
        covered_from=None,
        covered_until=None,
        grace_until=None,
        status="pending_payment",
        renewal_of_id=paid.id,
        request_key="renewal-of-joining",
        cover_starts_on=starts,
        waiting_days=0,
    )
    db.add(models.CoveragePeriod(**copied))  # the next year, opened and not begun
    db.commit()
    csrf = await logged_in(web, app, *MANAGER)
    path = move_path(leaving, members(db, leaving)[2])

    shown = await plan(web, csrf, path, members(db, joining)[0].member_no)
    assert (await confirm(web, csrf, path, shown)).status_code == 303

    db.expire_all()
    years = db.scalars(
        select(models.CoveragePeriod)
        .where(models.CoveragePeriod.household_id == joining)
        .order_by(models.CoveragePeriod.starts_on)
    ).all()
    assert [(y.persons, y.premium_due) for y in years] == [(2, 3150), (3, 4725)]
