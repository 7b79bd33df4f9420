"""The kinds of step a journey is made of. One class a kind, all plain data.

A journey is a tuple of these; the engine walks them. Functions in a node receive the
context and the session state and return data: they never touch the outside world.

A node's id is its one positional argument; every other field is named, so that a
journey reads as what each value is (`save="member_no", next="quote"`), and two
strings in the wrong order cannot pass for each other:

    Ask("other_household", prompt=[T("ask_member_no")], parse=parsers.member_no,
        save="member_no", next="quote")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Union

from menus.context import MenuContext
from menus.effects import Effect
from menus.state import SessionState
from menus.text import T, Text

Next = Union[str, Callable[[MenuContext, SessionState], str]]  # noqa: UP007
Lines = Union[Sequence[Text], Callable[[MenuContext, SessionState], Sequence[Text]]]  # noqa: UP007
Save = Union[str, Callable[[SessionState, Any], None]]  # noqa: UP007


class Invalid(Exception):
    """An answer we cannot take; `reason` is shown above the same question."""

    def __init__(self, reason: T) -> None:
        super().__init__(reason.key)
        self.reason = reason


@dataclass(frozen=True)
class Option:
    label: Text
    value: Any
    _: KW_ONLY
    next: str | None = None  # overrides the menu's `next` for this option


Options = Union[Sequence[Option], Callable[[MenuContext, SessionState], Sequence[Option]]]  # noqa: UP007


@dataclass(frozen=True)
class Menu:
    """Numbered choices; long lists page by themselves."""

    id: str
    _: KW_ONLY
    prompt: Lines
    options: Options
    next: Next
    save: Save | None = None


@dataclass(frozen=True)
class Ask:
    """Free input checked by `parse`, which raises `Invalid` with a reason.

    A `secret` answer (an agent's PIN) is masked in what the session keeps of the
    aggregator's text; the journey must hand it to an effect in the same hop and keep
    no copy in the session's data."""

    id: str
    _: KW_ONLY
    prompt: Lines
    parse: Callable[[str, MenuContext, SessionState], Any]
    save: Save
    next: Next
    secret: bool = False


@dataclass(frozen=True)
class Act:
    """Ask the host to do something (enrol, look up) and route on its result."""

    id: str
    _: KW_ONLY
    effect: Callable[[MenuContext, SessionState], Effect]
    save: str
    next: Next


@dataclass(frozen=True)
class Say:
    """Information; the session ends after it unless `end` is False."""

    id: str
    _: KW_ONLY
    lines: Lines
    end: bool = True


@dataclass(frozen=True)
class Branch:
    """Route without a screen, e.g. skip a question whose answer is known."""

    id: str
    _: KW_ONLY
    next: Next


@dataclass(frozen=True)
class Resume:
    """Continue the journey this phone dropped (the session's `resume` snapshot) at the
    question it stopped at, with what was typed; go `otherwise` when there is none."""

    id: str
    _: KW_ONLY
    otherwise: Next


Node = Union[Menu, Ask, Act, Say, Branch, Resume]  # noqa: UP007


@dataclass(frozen=True)
class Entry:
    """How a journey appears in the main menu, and for whom."""

    label: T
    order: int
    shown: Callable[[MenuContext, SessionState], bool] = lambda ctx, state: True


@dataclass(frozen=True)
class Journey:
    name: str
    nodes: tuple[Node, ...]
    entry: Entry | None = None
    resumable: bool = False  # a dropped session may continue it from the next dial

    @property
    def start(self) -> str:
        return f"{self.name}.{self.nodes[0].id}"


def resolve(value: Any, ctx: MenuContext, state: SessionState) -> Any:
    return value(ctx, state) if callable(value) else value


def store(save: Save, state: SessionState, value: Any) -> None:
    if callable(save):
        save(state, value)
    else:
        state.data[save] = value
