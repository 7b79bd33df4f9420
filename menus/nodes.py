"""The kinds of step a journey is made of. One class a kind, all plain data.

A journey is a tuple of these; the engine walks them. Functions in a node receive the
context and the session state and return data: they never touch the outside world.

A node's id is its one positional argument; every other field is named, so that a
journey reads as what each value is (`save="member_no", next="quote"`), and two
strings in the wrong order cannot pass for each other:

    Ask("other_household", prompt=[T("ask_member_no")], parse=parsers.member_no,
        save="member_no", next="quote")

Every node a journey can go to is known when it loads: `checked_nodes` refuses a
target that does not exist at start-up, before any phone reaches it. A `next` is a
node id, or a function that decides as the node is left and declares up front where
it may go (a `Route`); options listed at run time that lead somewhere do the same
(`Choices`):

    @routes_to("amount", "nothing_due", "unknown")
    def _after_quote(ctx: MenuContext, state: SessionState) -> str: ...

    @options_to("quote", "other_household")
    def _whose(ctx: MenuContext, state: SessionState) -> list[Option]: ...

The engine refuses, as a bug, a route or an option that goes anywhere it did not
declare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Any, Union

from menus.context import MenuContext
from menus.effects import Effect
from menus.state import SessionState
from menus.text import T, Text

Chooser = Callable[[MenuContext, SessionState], str]
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
    # A number of its own, the same whatever else the menu lists ("9 Langue" on every
    # main menu); None: its place in the list.
    number: int | None = None
    # Answered but not listed: an entry that does not apply to this caller keeps its
    # number, and typing it anyway says why (menus.journeys.main).
    listed: bool = True


def numbered(options: Sequence[Option]) -> list[tuple[int, Option]]:
    """Each option with the number that chooses it."""
    return [
        (option.number if option.number is not None else place, option)
        for place, option in enumerate(options, start=1)
    ]


class JourneyError(ValueError):
    """A journey that cannot be walked: found as the journeys load, not when a phone
    gets there."""

    def __init__(self, journey: str, node: str | None, problem: str) -> None:
        where = f"journey {journey!r}" + (f", node {node!r}" if node is not None else "")
        super().__init__(f"{where}: {problem}")
        self.journey = journey
        self.node = node


@dataclass(frozen=True)
class Route:
    """A `next` decided as the node is left, among `targets` declared with it (node ids
    as a journey writes them: "summary" in its own journey, "main.resume" in another).
    Made by `routes_to`."""

    choose: Chooser
    targets: tuple[str, ...]

    def __call__(self, ctx: MenuContext, state: SessionState) -> str:
        return self.choose(ctx, state)


def routes_to(*targets: str) -> Callable[[Chooser], Route]:
    """Declares where the decorated function may send the session."""

    def declare(choose: Chooser) -> Route:
        return Route(choose, targets)

    return declare


Lister = Callable[[MenuContext, SessionState], Sequence[Option]]


@dataclass(frozen=True)
class Choices:
    """A menu's options listed as it shows, some with their own `next`, among `targets`
    declared with them. Made by `options_to`. (Options listed at run time that all go to
    the menu's `next` are a plain function.)"""

    lister: Lister
    targets: tuple[str, ...]

    def __call__(self, ctx: MenuContext, state: SessionState) -> Sequence[Option]:
        return self.lister(ctx, state)


def options_to(*targets: str) -> Callable[[Lister], Choices]:
    """Declares where the options the decorated function lists may lead."""

    def declare(lister: Lister) -> Choices:
        return Choices(lister, targets)

    return declare


Next = Union[str, Route]  # noqa: UP007
Options = Union[Sequence[Option], Choices, Lister]  # noqa: UP007


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
    no copy in the session's data.

    A `spoken` answer (a name) is one a keypad cannot type: a voice host records it and
    answers with `menus.recorded.answer(...)`, which `parse` must then accept."""

    id: str
    _: KW_ONLY
    prompt: Lines
    parse: Callable[[str, MenuContext, SessionState], Any]
    save: Save
    next: Next
    secret: bool = False
    spoken: bool = False


@dataclass(frozen=True)
class Act:
    """Ask the host to do something (enrol, look up) and route on its result."""

    id: str
    _: KW_ONLY
    effect: Callable[[MenuContext, SessionState], Effect]
    save: str
    next: Next


class Outcome(StrEnum):
    """What a session has achieved when it ends on a node, for the statistics' funnel:
    they find the nodes by their outcome (`menus.journeys.nodes_with`), never by id, so
    renaming a node keeps the funnel right."""

    ENROLLED = "enrolled"
    RENEWED = "renewed"
    PAYMENT_STARTED = "payment_started"


@dataclass(frozen=True)
class Say:
    """Information; the session ends after it unless `end` is False. A session that
    ends here has achieved `outcome`, if any."""

    id: str
    _: KW_ONLY
    lines: Lines
    end: bool = True
    outcome: Outcome | None = None


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


Label = Union[T, Callable[[MenuContext, SessionState], T]]  # noqa: UP007


@dataclass(frozen=True)
class Entry:
    """How a journey appears in the main menu: under the same `number` for every caller,
    so that "tapez 3" can be taught. Where it does not apply to a caller (`shown` is
    false) it is not listed, but its number still answers: `why_not` says why and what
    to type instead, never another entry moved into its place."""

    label: Label
    number: int
    shown: Callable[[MenuContext, SessionState], bool] = lambda ctx, state: True
    why_not: Lines = ()


@dataclass(frozen=True)
class Journey:
    name: str
    nodes: tuple[Node, ...]
    entry: Entry | None = None
    resumable: bool = False  # a dropped session may continue it from the next dial

    @property
    def start(self) -> str:
        return f"{self.name}.{self.nodes[0].id}"


def qualify(journey: str, target: str) -> str:
    """A target as the engine knows it: "summary" in journey "enrol" is "enrol.summary"."""
    return target if "." in target else f"{journey}.{target}"


def checked_nodes(journeys: Iterable[Journey]) -> dict[str, Node]:
    """Every node by its qualified id, once every target of every node is known to exist;
    raises `JourneyError` naming the first journey and node that is wrong."""
    listed = list(journeys)
    nodes: dict[str, Node] = {}
    names: set[str] = set()
    for journey in listed:
        if journey.name in names:
            raise JourneyError(journey.name, None, "defined twice")
        names.add(journey.name)
        if not journey.nodes:
            raise JourneyError(journey.name, None, "has no nodes")
        for node in journey.nodes:
            if "." in node.id:
                raise JourneyError(journey.name, node.id, "a node id cannot hold a dot")
            qualified = f"{journey.name}.{node.id}"
            if qualified in nodes:
                raise JourneyError(journey.name, node.id, "defined twice")
            nodes[qualified] = node
    for journey in listed:
        for node in journey.nodes:
            for field, target in _targets(journey.name, node):
                if qualify(journey.name, target) not in nodes:
                    raise JourneyError(
                        journey.name, node.id, f"{field} goes to {target!r}, which does not exist"
                    )
    return nodes


def _targets(journey: str, node: Node) -> Iterator[tuple[str, str]]:
    """(which field, target) for every node `node` may go to."""
    if isinstance(node, Menu):
        yield from _next_targets(journey, node, "next", node.next)
        if isinstance(node.options, Choices):
            yield from (("an option", target) for target in node.options.targets)
        elif not callable(node.options):
            for n, option in enumerate(node.options, start=1):
                if option.next is not None:
                    yield f"option {n}", option.next
    elif isinstance(node, Ask | Act | Branch):
        yield from _next_targets(journey, node, "next", node.next)
    elif isinstance(node, Resume):
        yield from _next_targets(journey, node, "otherwise", node.otherwise)


def _next_targets(journey: str, node: Node, field: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Route):
        yield from ((field, target) for target in value.targets)
    elif isinstance(value, str):
        yield field, value
    else:  # a function whose targets nobody can check: it must say them (`routes_to`)
        raise JourneyError(journey, node.id, f"{field} is not a node id nor a Route: {value!r}")


def resolve(value: Any, ctx: MenuContext, state: SessionState) -> Any:
    return value(ctx, state) if callable(value) else value


def store(save: Save, state: SessionState, value: Any) -> None:
    if callable(save):
        save(state, value)
    else:
        state.data[save] = value
