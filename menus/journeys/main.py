"""The first screens: resume an unfinished enrolment, pick a language, the main menu.

The main menu is built from the other journeys' entries: a new journey adds itself
to it by declaring an `Entry`, without an edit here.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus.caller import field_agent
from menus.context import MenuContext
from menus.effects import RememberLanguage
from menus.nodes import Act, Branch, Journey, Menu, Option, Resume, options_to, routes_to
from menus.state import SessionState
from menus.text import T


@routes_to("agent.start", "resume", "home", "language")
def _start(ctx: MenuContext, state: SessionState) -> str:
    if field_agent(state) is not None:
        return "agent.start"  # the PIN before anything, the resume offer included
    if state.resume is not None:
        return "resume"
    return "home" if state.caller.get("language") else "language"


@routes_to("agent.menu", "agent.start", "home")
def _home(ctx: MenuContext, state: SessionState) -> str:
    """Where "00" leads: an agent's own menu once the PIN is given, else the PIN."""
    agent = field_agent(state)
    if agent is not None:
        return "agent.menu" if agent.signed_in else "agent.start"
    return "home"


@routes_to("agent.menu", "agent.start", "home", "language")
def _fresh(ctx: MenuContext, state: SessionState) -> str:
    state.resume = None
    state.forget_resume = True  # the host drops the phone's snapshot
    if field_agent(state) is not None:
        return _home(ctx, state)
    return "home" if state.caller.get("language") else "language"


def _languages(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [Option(name, code) for code, name in ctx.languages.items()]


def _set_language(state: SessionState, language: str) -> None:
    state.language = language


@routes_to("remember_language", "home")
def _after_language(ctx: MenuContext, state: SessionState) -> str:
    # A known household keeps its choice for the next dial and for its SMS.
    return "remember_language" if state.caller.get("member_no") else "home"


def build(journeys: Sequence[Journey]) -> Journey:
    """The main journey, with one main-menu option per journey that has an entry."""
    listed = sorted(
        (j for j in journeys if j.entry is not None),
        key=lambda j: j.entry.order if j.entry else 0,
    )

    @options_to(*(j.start for j in listed), "main.language")
    def home_options(ctx: MenuContext, state: SessionState) -> list[Option]:
        options = [
            Option(j.entry.label, j.name, next=j.start)
            for j in listed
            if j.entry is not None and j.entry.shown(ctx, state)
        ]
        options.append(Option(T("menu_language"), "language", next="main.language"))
        return options

    return Journey(
        name="main",
        nodes=(
            Branch("start", next=_start),
            Menu(
                "resume",
                prompt=[T("resume_offer")],
                options=(
                    Option(T("resume_continue"), True, next="resume_go"),
                    Option(T("resume_restart"), False, next="fresh"),
                ),
                next="fresh",
            ),
            Resume("resume_go", otherwise="fresh"),
            Branch("fresh", next=_fresh),
            Menu(
                "language",
                prompt=[T("ask_language")],
                options=_languages,
                next=_after_language,
                save=_set_language,
            ),
            Act(
                "remember_language",
                effect=lambda ctx, state: RememberLanguage(state.caller["phone"], state.language),
                save="_language_saved",
                next="home",
            ),
            Menu("home", prompt=[T("home_title")], options=home_options, next="home"),
            Branch("go_home", next=_home),
        ),
    )
