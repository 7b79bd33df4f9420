"""`/admin/agents` for each role and scope: the list and its figures, adding an agent
who can dial at once, account changes with their confirmation step, cash hand-overs,
refusals (403, audited, nothing changed), stale forms (409) and CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.actors import staff_actor
from gateway.agents.accounts import Agents
from gateway.register.capability import Register
from gateway.secrets_kdf import verify_secret
from tests.conftest import Clock
from tests.staff.management_web import (
    ORIGIN,
    OpenAs,
    agent_row,
    audit,
    field_error,
    household_by,
    shown,
    staff_browsers,
)
from tests.support.agents import add_agent
from tests.support.gateway import part, shared
from tests.support.ussd_phone import Phone

PARAKOU_AGENT = "+2290197000601"
NDALI_AGENT = "+2290197000602"
KANDI_AGENT = "+2290197000603"
NEW_AGENT = "+2290197000611"
PIN = "738159"


@pytest.fixture
async def staff_as(app: Starlette, clean: None) -> AsyncIterator[OpenAs]:
    async with staff_browsers(app) as open_as:
        yield open_as


def agents_service(app: Starlette) -> Agents:
    return Agents(shared(app).sessions, shared(app).now)


def listed(page: httpx.Response) -> dict[str, list[str]]:
    """The list's rows by agent id: the text of each cell."""
    rows: dict[str, list[str]] = {}
    for agent_id, cells in re.findall(r'<tr data-agent="(\d+)">(.*?)</tr>', page.text, re.S):
        texts = [
            re.sub(r"<[^>]+>", " ", cell)
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        ]
        rows[agent_id] = [" ".join(text.split()) for text in texts]
    return rows


@pytest.fixture
async def three_agents(app: Starlette, clean: None) -> dict[str, int]:
    """An agent in each of MS-PARAKOU, MS-NDALI (the same zone) and MS-KANDI."""
    return {
        "parakou": await add_agent(app, PARAKOU_AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN),
        "ndali": await add_agent(app, NDALI_AGENT, "Worou Gani", "MS-NDALI"),
        "kandi": await add_agent(app, KANDI_AGENT, "Alou Dramane", "MS-KANDI", pin=PIN),
    }


# -- seeing ----------------------------------------------------------------------


async def test_strangers_are_sent_to_the_login(app: Starlette, clean: None) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as stranger:
        for path in ("/admin/agents", "/admin/agents/new", "/admin/agents/1"):
            answer = await stranger.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/admin/login?next=")
        answer = await stranger.post("/admin/agents/1/disable", data={"state": "active"})
        assert answer.status_code == 303


async def test_each_role_sees_the_agents_of_its_scope(
    staff_as: OpenAs, three_agents: dict[str, int]
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    kandi = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-KANDI")
    zone_viewer = await staff_as(StaffRole.VIEWER, "ZS-PARAKOU")

    everyone = await central.get("/admin/agents")
    assert everyone.status_code == 200
    assert {row[0] for row in listed(everyone).values()} == {
        "Bio Sika",
        "Worou Gani",
        "Alou Dramane",
    }
    assert "Ajouter un agent" in everyone.text

    own = listed(await manager.get("/admin/agents"))
    assert [row[:4] for row in own.values()] == [
        ["Bio Sika", "+229 01 97 00 06 01", "MS-PARAKOU", "Actif"]
    ]
    assert [row[0] for row in listed(await kandi.get("/admin/agents")).values()] == ["Alou Dramane"]

    masked = await zone_viewer.get("/admin/agents")
    rows = listed(masked)
    assert sorted(row[0] for row in rows.values()) == [
        f"B. S. #{three_agents['parakou']}",
        f"W. G. #{three_agents['ndali']}",
    ]
    assert {row[1] for row in rows.values()} == {"+229********01", "+229********02"}
    assert "Bio Sika" not in masked.text and PARAKOU_AGENT not in masked.text
    assert "Ajouter un agent" not in masked.text
    assert "Noms et téléphones masqués" in masked.text


async def test_a_mutual_outside_the_scope_is_refused(
    staff_as: OpenAs, three_agents: dict[str, int]
) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    assert (await manager.get("/admin/agents?mutual=MS-KANDI")).status_code == 403
    assert (await manager.get(f"/admin/agents/{three_agents['kandi']}")).status_code == 403
    assert (await manager.get("/admin/agents/999999")).status_code == 404
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    only = listed(await central.get("/admin/agents?mutual=MS-KANDI"))
    assert [row[0] for row in only.values()] == ["Alou Dramane"]


async def test_the_list_shows_today_this_campaign_and_cash_held(
    app: Starlette, staff_as: OpenAs, three_agents: dict[str, int], db: Session, clock: Clock
) -> None:
    parakou, kandi = three_agents["parakou"], three_agents["kandi"]
    # MS-PARAKOU's campaign opened on 1 September (its school product's window);
    # MS-KANDI offers only the family product, open all year: its campaign is the year.
    await household_by(app, db, parakou, "+2290197000701", persons=4, day=date(2026, 8, 20))
    await household_by(
        app, db, parakou, "+2290197000702", persons=3, day=date(2026, 10, 2), cash=1000
    )
    await household_by(app, db, parakou, "+2290197000703", persons=2, cash=3150)
    await household_by(
        app, db, kandi, "+2290197000704", persons=2, mutual="MS-KANDI", day=date(2026, 3, 1)
    )

    page = await (await staff_as(StaffRole.CENTRAL_ADMIN, None)).get("/admin/agents")

    rows = listed(page)
    assert rows[str(parakou)][4:] == [
        "1 (2 pers.)",
        "2 (5 pers.) depuis le 01/09/2026",
        "4 150 FCFA",
    ]
    assert rows[str(kandi)][4:] == [
        "0 (0 pers.)",
        "1 (2 pers.) depuis le 01/01/2026",
        "0 FCFA",
    ]


# -- adding ----------------------------------------------------------------------


def activation_code(page: str) -> str:
    """The code as the page shows it (two groups of four digits), as typed."""
    found = re.search(r'<p class="code" id="code">(\d{4}) (\d{4})</p>', page)
    assert found, page
    return found.group(1) + found.group(2)


async def test_a_manager_adds_an_agent_who_can_dial_at_once(
    app: Starlette, staff_as: OpenAs, client: httpx.AsyncClient, db: Session
) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    # The gateway has just read the known phones: without the dashboard forgetting them,
    # the new agent would be a stranger for a minute.
    await Phone(client, "+2290197000799").dial()

    form = await manager.get("/admin/agents/new")
    assert form.status_code == 200
    assert re.search(r'<option value="MS-PARAKOU" selected>', form.text)
    assert "MS-KANDI" not in form.text
    assert "(valable 72 heures, une seule fois)" in form.text
    answer = await manager.post(
        "/admin/agents/new",
        {"phone": "97 00 06 11", "name": "  Adjovi   Kpodo ", "mutual": "MS-PARAKOU"},
    )

    agent = agent_row(db, NEW_AGENT)
    assert agent is not None and agent.name == "Adjovi Kpodo"
    # The code, this once, in the answer itself: never in a URL, kept nowhere in clear.
    assert answer.status_code == 200 and "Agent Adjovi Kpodo ajouté" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    code = activation_code(answer.text)
    assert agent.activation_hash and verify_secret(code, agent.activation_hash)
    page = await manager.get(f"/admin/agents/{agent.id}")
    assert "PIN à choisir" in page.text and code not in page.text.replace(" ", "")
    (entry,) = audit(db, "agent_added")
    assert entry.actor == staff_actor(manager.staff_id)
    assert entry.details == {"agent_id": agent.id}

    phone = Phone(client, NEW_AGENT)
    assert "Code d'activation" in await phone.dial()
    assert "Choisissez votre code PIN" in await phone.type(code)


async def test_central_staff_add_an_agent_to_any_mutual(staff_as: OpenAs, db: Session) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    form = await central.get("/admin/agents/new")
    assert all(code in form.text for code in ("MS-PARAKOU", "MS-NDALI", "MS-KANDI"))

    answer = await central.post(
        "/admin/agents/new", {"phone": NEW_AGENT, "name": "Alou Dramane", "mutual": "MS-KANDI"}
    )

    assert answer.status_code == 200 and activation_code(answer.text)
    agent = agent_row(db, NEW_AGENT)
    assert agent is not None
    assert (
        db.scalar(select(models.SchemeUnit.code).where(models.SchemeUnit.id == agent.mutual_id))
        == "MS-KANDI"
    )


async def test_a_manager_cannot_add_to_another_mutual(staff_as: OpenAs, db: Session) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    answer = await manager.post(
        "/admin/agents/new", {"phone": NEW_AGENT, "name": "Alou Dramane", "mutual": "MS-KANDI"}
    )

    assert answer.status_code == 403
    assert agent_row(db, NEW_AGENT) is None
    (refusal,) = audit(db, "change_refused")
    assert refusal.actor == staff_actor(manager.staff_id)
    assert refusal.details["action"] == "agent_added"
    assert refusal.details["mutual"] == "MS-KANDI"
    assert audit(db, "agent_added") == []


async def test_a_viewer_adds_nobody(staff_as: OpenAs, db: Session) -> None:
    viewer = await staff_as(StaffRole.VIEWER, None)
    assert (await viewer.get("/admin/agents/new")).status_code == 403
    answer = await viewer.post(
        "/admin/agents/new", {"phone": NEW_AGENT, "name": "Alou", "mutual": "MS-PARAKOU"}
    )
    assert answer.status_code == 403
    assert agent_row(db, NEW_AGENT) is None
    (refusal,) = audit(db, "change_refused")
    assert refusal.details["action"] == "agent_added"


async def test_the_form_says_what_is_wrong_next_to_each_field(
    app: Starlette, staff_as: OpenAs, db: Session
) -> None:
    await add_agent(app, PARAKOU_AGENT, "Bio Sika", "MS-PARAKOU")
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    bad = await manager.post(
        "/admin/agents/new", {"phone": "12", "name": "A", "mutual": "MS-PARAKOU"}
    )
    assert bad.status_code == 400
    assert "Numéro non reconnu" in field_error(bad, "phone")
    assert "01 95 12 34 56" in field_error(bad, "phone")
    assert "+229 01 95 12 34 56" in field_error(bad, "phone")
    assert "2 à 120 caractères" in field_error(bad, "name")
    assert 'value="12"' in bad.text  # what was typed stays in the form
    assert 'aria-invalid="true"' in bad.text

    taken = await manager.post(
        "/admin/agents/new", {"phone": "0197000601", "name": "Bio Sika", "mutual": "MS-PARAKOU"}
    )
    assert taken.status_code == 400
    assert "déjà celui d'un agent" in field_error(taken, "phone")
    assert field_error(taken, "name") == ""

    english = await manager.http.post(
        "/admin/agents/new?lang=en",
        data={"csrf": manager.csrf, "phone": "abc", "name": "Bio", "mutual": "MS-PARAKOU"},
    )
    assert "Number not recognised" in field_error(english, "phone")
    assert db.scalar(select(func.count()).select_from(models.Agent)) == 1
    assert len(audit(db, "agent_added")) == 1  # the helper's own


async def test_a_desk_phone_cannot_become_an_agents(
    app: Starlette, staff_as: OpenAs, db: Session
) -> None:
    await part(app, Register).facilities.add("CS-PKU", "CS Parakou", [NEW_AGENT], by="cli:test")
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)

    answer = await central.post(
        "/admin/agents/new", {"phone": NEW_AGENT, "name": "Bio Sika", "mutual": "MS-PARAKOU"}
    )

    assert answer.status_code == 400
    assert "téléphone d'accueil d'un centre de santé" in field_error(answer, "phone")
    assert agent_row(db, NEW_AGENT) is None


# -- changing an account ------------------------------------------------------------


async def test_disabling_asks_first_then_disables(
    app: Starlette,
    staff_as: OpenAs,
    three_agents: dict[str, int],
    db: Session,
    client: httpx.AsyncClient,
) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    agent_id = three_agents["parakou"]
    page = await manager.get(f"/admin/agents/{agent_id}")
    assert f'action="/admin/agents/{agent_id}/disable"' in page.text

    asked = await manager.post(
        f"/admin/agents/{agent_id}/disable", {"state": "active", "step": "confirm"}
    )

    assert asked.status_code == 200
    assert "Désactiver ce compte\u00a0?" in asked.text and 'name="step" value="do"' in asked.text
    agent = agent_row(db, PARAKOU_AGENT)
    assert agent is not None and agent.disabled_at is None

    done = await manager.post(
        f"/admin/agents/{agent_id}/disable", {"state": "active", "step": "do"}
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/agents/{agent_id}?done=disable"
    agent = agent_row(db, PARAKOU_AGENT)
    assert agent is not None and agent.disabled_at is not None
    (entry,) = audit(db, "agent_disabled")
    assert entry.actor == staff_actor(manager.staff_id) and entry.details == {"agent_id": agent_id}
    after = shown(await manager.get(done.headers["location"]))
    assert "Compte désactivé" in after and "Réactiver le compte" in after
    screen = await Phone(client, PARAKOU_AGENT).dial(PIN)
    assert "Compte agent désactivé" in screen

    enabled = await manager.post(f"/admin/agents/{agent_id}/enable", {"state": "disabled"})
    assert enabled.status_code == 303
    agent = agent_row(db, PARAKOU_AGENT)
    assert agent is not None and agent.disabled_at is None
    assert [e.actor for e in audit(db, "agent_enabled")] == [staff_actor(manager.staff_id)]


async def test_a_pin_reset_is_confirmed_and_the_agent_chooses_a_new_one(
    app: Starlette,
    staff_as: OpenAs,
    three_agents: dict[str, int],
    db: Session,
    client: httpx.AsyncClient,
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    agent_id = three_agents["kandi"]

    asked = await central.post(f"/admin/agents/{agent_id}/reset-pin", {"state": "active"})
    assert asked.status_code == 200 and "Réinitialiser le PIN\u00a0?" in asked.text
    assert "choisit lui-même un nouveau PIN" in asked.text and "code d&#39;activation" in asked.text
    agent = agent_row(db, KANDI_AGENT)
    assert agent is not None and agent.pin_hash is not None

    done = await central.post(
        f"/admin/agents/{agent_id}/reset-pin", {"state": "active", "step": "do"}
    )

    assert done.status_code == 200 and "ne fonctionne plus" in done.text
    code = activation_code(done.text)
    agent = agent_row(db, KANDI_AGENT)
    assert agent is not None and agent.pin_hash is None
    assert agent.activation_hash and verify_secret(code, agent.activation_hash)
    assert [e.details for e in audit(db, "pin_reset")] == [{"agent_id": agent_id}]
    phone = Phone(client, KANDI_AGENT)
    assert "Code d'activation" in await phone.dial()
    assert "Choisissez votre code PIN" in await phone.type(code)


async def test_unlocking_a_locked_agent(
    app: Starlette, staff_as: OpenAs, three_agents: dict[str, int], db: Session
) -> None:
    agent_id = three_agents["parakou"]
    locked = shared(app).now().replace(year=2099)
    async with shared(app).sessions() as session, session.begin():
        agent = await session.get(models.Agent, agent_id)
        assert agent is not None
        agent.pin_failures, agent.locked_until = 5, locked
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    page = await manager.get(f"/admin/agents/{agent_id}")
    assert "Bloqué" in page.text and "Débloquer" in page.text

    done = await manager.post(f"/admin/agents/{agent_id}/unlock", {"state": "locked"})

    assert done.status_code == 303
    row = agent_row(db, PARAKOU_AGENT)
    assert row is not None and row.locked_until is None and row.pin_failures == 0
    assert [e.actor for e in audit(db, "agent_unlocked")] == [staff_actor(manager.staff_id)]


@pytest.mark.parametrize("step", ["confirm", "do"])
async def test_a_stale_form_is_refused_with_the_account_as_it_is(
    app: Starlette, staff_as: OpenAs, three_agents: dict[str, int], db: Session, step: str
) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    agent_id = three_agents["parakou"]
    assert "Actif" in (await manager.get(f"/admin/agents/{agent_id}")).text
    # Meanwhile a colleague disables the agent from the command line.
    await agents_service(app).disable(PARAKOU_AGENT, "cli:colleague")

    answer = await manager.post(
        f"/admin/agents/{agent_id}/disable", {"state": "active", "step": step}
    )

    assert answer.status_code == 409
    assert "Quelqu'un d'autre a modifié cette fiche" in shown(answer)
    assert re.search(r'id="agent-state">.*Désactivé', answer.text)
    assert [e.actor for e in audit(db, "agent_disabled")] == ["cli:colleague"]


async def test_the_service_refuses_a_change_asked_from_another_state(
    app: Starlette, three_agents: dict[str, int], db: Session
) -> None:
    from gateway.agents.accounts import AgentError

    with pytest.raises(AgentError) as refused:
        await agents_service(app).unlock(PARAKOU_AGENT, "staff:1", expected="locked")
    assert refused.value.reason == "stale"
    assert audit(db, "agent_unlocked") == []


@pytest.mark.parametrize("change", ["disable", "enable", "reset-pin", "unlock", "handover"])
async def test_another_mutuals_manager_changes_nothing(
    app: Starlette, staff_as: OpenAs, three_agents: dict[str, int], db: Session, change: str
) -> None:
    kandi = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-KANDI")
    agent_id = three_agents["parakou"]
    before = agent_row(db, PARAKOU_AGENT)
    assert before is not None
    pin, disabled = before.pin_hash, before.disabled_at

    answer = await kandi.post(
        f"/admin/agents/{agent_id}/{change}",
        {"state": "active", "step": "do", "amount": "100", "received_by": "X", "reference": "B-1"},
    )

    assert answer.status_code == 403
    after = agent_row(db, PARAKOU_AGENT)
    assert after is not None and (after.pin_hash, after.disabled_at) == (pin, disabled)
    assert db.scalar(select(func.count()).select_from(models.CashHandover)) == 0
    (refusal,) = audit(db, "change_refused")
    assert refusal.actor == staff_actor(kandi.staff_id)
    assert refusal.details["agent_id"] == agent_id


@pytest.mark.parametrize("change", ["disable", "reset-pin", "handover"])
async def test_a_viewer_changes_nothing(
    staff_as: OpenAs, three_agents: dict[str, int], db: Session, change: str
) -> None:
    viewer = await staff_as(StaffRole.VIEWER, "MS-PARAKOU")
    agent_id = three_agents["parakou"]
    page = await viewer.get(f"/admin/agents/{agent_id}")
    assert page.status_code == 200
    assert "<form" not in page.text.split("<main>")[1]  # no action, no hand-over form
    assert f"B. S. #{agent_id}" in page.text and PARAKOU_AGENT not in page.text

    answer = await viewer.post(
        f"/admin/agents/{agent_id}/{change}",
        {"state": "active", "step": "do", "amount": "100", "received_by": "X", "reference": "B-1"},
    )

    assert answer.status_code == 403
    after = agent_row(db, PARAKOU_AGENT)
    assert after is not None and after.disabled_at is None and after.pin_hash is not None
    (refusal,) = audit(db, "change_refused")
    assert refusal.actor == staff_actor(viewer.staff_id)


async def test_forms_without_the_session_token_or_from_elsewhere_are_refused(
    staff_as: OpenAs, three_agents: dict[str, int], db: Session
) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    agent_id = three_agents["parakou"]
    path = f"/admin/agents/{agent_id}/disable"
    fields = {"state": "active", "step": "do"}

    assert (await manager.http.post(path, data=fields)).status_code == 403
    wrong = manager.csrf[:-1] + ("B" if manager.csrf.endswith("A") else "A")
    assert (await manager.http.post(path, data={**fields, "csrf": wrong})).status_code == 403
    cross = await manager.http.post(
        path, data={**fields, "csrf": manager.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    new = await manager.http.post(
        "/admin/agents/new", data={"phone": NEW_AGENT, "name": "X Y", "mutual": "MS-PARAKOU"}
    )
    assert new.status_code == 403

    agent = agent_row(db, PARAKOU_AGENT)
    assert agent is not None and agent.disabled_at is None
    assert agent_row(db, NEW_AGENT) is None
    assert audit(db, "agent_disabled") == []
    assert len(audit(db, "agent_added")) == 3  # the fixture's


# -- cash ---------------------------------------------------------------------------


async def test_a_cash_hand_over_is_recorded_once_and_never_above_what_is_held(
    app: Starlette, staff_as: OpenAs, three_agents: dict[str, int], db: Session
) -> None:
    agent_id = three_agents["parakou"]
    await household_by(app, db, agent_id, "+2290197000701", persons=3, cash=4725)
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    page = await manager.get(f"/admin/agents/{agent_id}")
    assert "L'agent détient 4\u202f725\u00a0FCFA" in shown(page)

    too_much = await manager.post(
        f"/admin/agents/{agent_id}/handover",
        {"amount": "5 000", "received_by": "Caissière Awa", "reference": "BR-0042"},
    )
    assert too_much.status_code == 400
    assert "plus que ce que l'agent détient" in field_error(too_much, "amount")
    assert 'value="BR-0042"' in too_much.text

    empty = await manager.post(
        f"/admin/agents/{agent_id}/handover",
        {"amount": "mille", "received_by": "", "reference": ""},
    )
    assert empty.status_code == 400
    assert "en chiffres" in field_error(empty, "amount")
    assert "qui a reçu l'argent" in field_error(empty, "received_by")
    assert "bordereau" in field_error(empty, "reference")

    done = await manager.post(
        f"/admin/agents/{agent_id}/handover",
        {"amount": "4 000", "received_by": "Caissière Awa", "reference": "BR-0042"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/agents/{agent_id}?done=handover"
    after = shown(await manager.get(done.headers["location"]))
    assert "Remise d'espèces enregistrée" in after
    assert re.search(r'id="agent-held">725\u00a0FCFA', after)
    assert "BR-0042" in after and "Caissière Awa" in after

    again = await manager.post(
        f"/admin/agents/{agent_id}/handover",
        {"amount": "100", "received_by": "Caissière Awa", "reference": "BR-0042"},
    )
    assert again.status_code == 400
    assert "déjà enregistré" in field_error(again, "reference")

    handovers = db.scalars(select(models.CashHandover)).all()
    assert [(h.amount, h.reference, h.recorded_by) for h in handovers] == [
        (4000, "BR-0042", staff_actor(manager.staff_id))
    ]
    (entry,) = audit(db, "cash_handed_over")
    assert entry.actor == staff_actor(manager.staff_id)
    assert entry.details == {"agent_id": agent_id, "amount": 4000, "reference": "BR-0042"}


async def test_the_pages_speak_english(staff_as: OpenAs, three_agents: dict[str, int]) -> None:
    manager = await staff_as(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    page = await manager.get(f"/admin/agents/{three_agents['parakou']}?lang=en")
    assert "Disable the account" in page.text and "Cash held" in page.text
    listing = await manager.get("/admin/agents")
    assert "Field agents" in listing.text and "Households this campaign" in listing.text
