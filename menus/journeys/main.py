"""The first screens: resume an unfinished enrolment, pick a language, the main menu.

The main menu is built from the other journeys' entries: a new journey adds itself
to it by declaring an `Entry`, without an edit here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from menus.caller import field_agent
from menus.context import MenuContext
from menus.effects import RememberLanguage
from menus.journeys.entries import (
    LANGUAGE,
    household_count,
    household_name,
    households,
    readable_member_no,
)
from menus.nodes import (
    Act,
    Branch,
    Entry,
    Journey,
    JourneyError,
    Menu,
    Option,
    Resume,
    options_to,
    resolve,
    routes_to,
)
from menus.state import SessionState
from menus.text import T, Text


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


def _title(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    """An enrolled phone is greeted with its household: the head's name and the member
    number it is known by, with how many other households it heads."""
    heads = households(state)
    if not heads:
        return [T("home_title")]
    latest = heads[0]
    params = {
        "name": household_name(latest),
        "member_no": readable_member_no(str(latest["member_no"])),
    }
    if len(heads) == 1:
        return [T("home_greeting", params)]
    # "Membre 100 000 011 +1 ménage": and how many more households it heads.
    return [T("home_greeting_many", {**params, "households": household_count(len(heads) - 1)})]


def _label(entry: Entry, ctx: MenuContext, state: SessionState) -> T:
    return entry.label(ctx, state) if callable(entry.label) else entry.label


def _save_entry(state: SessionState, chosen: str) -> None:
    state.data["_entry"] = chosen  # which entry a "why not" screen is about


def build(journeys: Sequence[Journey]) -> Journey:
    """The main journey, with one main-menu option per journey that has an entry, each
    under its own number."""
    listed = sorted(
        (j for j in journeys if j.entry is not None),
        key=lambda j: j.entry.number if j.entry else 0,
    )
    entries = {j.name: j.entry for j in listed if j.entry is not None}
    numbers = [e.number for e in entries.values()] + [LANGUAGE]
    if len(set(numbers)) != len(numbers) or not all(0 < n < 10 for n in numbers):
        raise JourneyError("main", "home", f"entry numbers must be one digit, once: {numbers}")

    @options_to(*(j.start for j in listed), "main.language", "main.why_not")
    def home_options(ctx: MenuContext, state: SessionState) -> list[Option]:
        options = []
        for journey in listed:
            entry = entries[journey.name]
            applies = entry.shown(ctx, state)
            options.append(
                Option(
                    _label(entry, ctx, state),
                    journey.name,
                    number=entry.number,
                    listed=applies,
                    next=journey.start if applies else "main.why_not",
                )
            )
        options.append(
            Option(T("menu_language"), "language", number=LANGUAGE, next="main.language")
        )
        return options

    @options_to(*(j.start for j in listed), "main.language", "main.why_not")
    def why_not_options(ctx: MenuContext, state: SessionState) -> list[Option]:
        # Every number of the main menu answers here too ("tapez 1 pour adhérer"),
        # none listed: the screen is the reason.
        return [replace(o, listed=False) for o in home_options(ctx, state)]

    def why_not(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
        return resolve(entries[state.data["_entry"]].why_not, ctx, state)

    return Journey(
        name="main",
        nodes=(
            Branch("start", next=_start),
            Menu(
                "resume",
                prompt=[T("resume_offer")],
                options=(
                    Option(T("resume_continue"), True, next="resume_go"),
                    Option(T("resume_restart"), False, next="restart"),
                ),
                next="fresh",
            ),
            Resume("resume_go", otherwise="fresh"),
            # Starting again erases every answer typed: asked once more before.
            Menu(
                "restart",
                prompt=[T("resume_erase")],
                options=(
                    Option(T("yes"), True, next="fresh"),
                    Option(T("no"), False, next="resume_go"),
                ),
                next="fresh",
            ),
            Branch("fresh", next=_fresh),
            Menu(
                "language",
                prompt=[T("ask_language")],
                options=_languages,  # kept for the next dial: asked on the first call only
                next="remember_language",
                save=_set_language,
            ),
            Act(
                "remember_language",
                effect=lambda ctx, state: RememberLanguage(state.caller["phone"], state.language),
                save="_language_saved",
                next="home",
            ),
            Menu("home", prompt=_title, options=home_options, next="home", save=_save_entry),
            Menu(
                "why_not",
                prompt=why_not,
                options=why_not_options,
                next="home",
                save=_save_entry,
            ),
            Branch("go_home", next=_home),
        ),
    )
