"""A typed answer is never taken for a navigation key (issue 14, item 7): a question's
screen is never paged, so the question is always on the screen the phone answers, and
"98" typed there is the answer; "0" is the way back only where the screen offers it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from menus import gsm
from menus.context import MenuContext, SchemeSnapshot
from menus.engine import Engine
from menus.nodes import Ask, Invalid, Journey, Menu, Option, Say
from menus.screens import Screen, render
from menus.state import SessionState
from menus.text import T, load_catalogues

CATALOGUES = load_catalogues()
LIMIT = 160
LONG_CONTEXT = "Ménage 100000011 HOUNGBO Afi-Marie-Madeleine, 16 pers. " * 2


def _typed(text: str, ctx: MenuContext, state: SessionState) -> str:
    if not text.isdigit() or len(text) < 4:
        raise Invalid(T("agent_pin_trivial"))  # the longest reason a question gives
    return text


def _engine() -> Engine:
    start = Menu(
        "start",
        prompt=[T("home_title")],
        options=[Option("Question", 1, next="question"), Option("Top", 2, next="top")],
        next="question",
    )
    # A question after context long enough that, with a reason, it needs two pages.
    question = Ask(
        "question",
        prompt=[LONG_CONTEXT, T("agent_choose_pin")],
        parse=_typed,
        save="typed",
        next="done",
    )
    top = Ask("top", prompt=[T("agent_choose_pin")], parse=_typed, save="typed", next="done")
    done = Say("done", lines=[lambda ctx, state: [f"typed {state.data['typed']}"]][0])
    journey = Journey("t", (start, question, top, done))
    return Engine([journey], CATALOGUES, entry_node="t.start", home_node="t.start")


def _ctx() -> MenuContext:
    return MenuContext(SchemeSnapshot(), date(2026, 11, 23), LIMIT)


def _at_question(engine: Engine, language: str = "fr", choice: str = "1") -> Any:
    ctx = _ctx()
    step = engine.start(ctx, language, {"phone": "+2290197000101"})
    return engine.advance(step.state, choice, ctx), ctx


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_wrong_answer_keeps_the_question_on_the_one_screen(language: str) -> None:
    engine = _engine()
    step, ctx = _at_question(engine, language)
    step = engine.advance(step.state, "12", ctx)
    question = CATALOGUES[language].texts["agent_choose_pin"]
    reason = CATALOGUES[language].texts["agent_pin_trivial"]
    assert step.reply.startswith(f"CON {reason}\n")
    assert question in step.reply
    assert "98" not in step.reply
    assert gsm.fits(step.reply, LIMIT)


def test_98_typed_at_a_question_after_a_wrong_answer_is_the_answer() -> None:
    engine = _engine()
    step, ctx = _at_question(engine)
    step = engine.advance(step.state, "12", ctx)  # the reason now stands above the question
    step = engine.advance(step.state, "98", ctx)
    assert step.state.node == "t.question"  # refused as a PIN, not turned into a page
    assert step.state.errors == 2
    assert "Choisissez votre code PIN" in step.reply
    step = engine.advance(step.state, "9876", ctx)
    assert step.reply == "END typed 9876"


def test_0_is_an_answer_where_the_question_offers_no_way_back() -> None:
    engine = _engine()
    ctx = _ctx()
    step = engine.start(ctx, "fr", {})
    step.state.back.clear()  # a question reached with nothing behind it
    step.state.node = "t.top"
    step = engine.advance(step.state, "0", ctx)
    assert step.state.errors == 1  # parsed, and refused, not taken for "back"
    assert step.reply.startswith("CON PIN trop simple")


def test_0_goes_back_where_the_question_offers_it() -> None:
    engine = _engine()
    step, ctx = _at_question(engine, choice="2")
    assert step.reply.endswith("\n0 Retour")
    step = engine.advance(step.state, "0", ctx)
    assert step.state.node == "t.start"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_question_screen_is_one_page_however_long_its_reason(language: str) -> None:
    screen = Screen(
        (LONG_CONTEXT, T("agent_choose_pin")),
        notice="Raison " * 40,
        can_go_back=True,
        question=True,
    )
    rendered = render(screen, CATALOGUES[language], 0, LIMIT)
    assert rendered.pages == 1
    assert gsm.fits(rendered.body, LIMIT)
    assert rendered.body.endswith(
        "\n".join(
            [CATALOGUES[language].texts["agent_choose_pin"], CATALOGUES[language].texts["nav_back"]]
        )
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_list_shows_the_reason_in_place_of_its_title_rather_than_page(language: str) -> None:
    catalogue = CATALOGUES[language]
    items = tuple(T("option", {"n": n, "label": f"Mutuelle de Kandi {n}"}) for n in range(1, 6))
    screen = Screen((T("home_title"),), items, can_go_back=True)
    assert render(screen, catalogue, 0, LIMIT).pages == 1
    wrong = render(
        Screen((T("home_title"),), items, True, notice=T("error_choose_number")),
        catalogue,
        0,
        LIMIT,
    )
    assert wrong.pages == 1
    assert catalogue.texts["error_choose_number"] in wrong.body
    assert "Mutuelle de Kandi 5" in wrong.body
