"""The menu engine: (session state, input) -> (screen, next state, effects). No I/O.

The host calls `start` on a new session and `advance` with each new input. When a step
carries an effect instead of a reply, the host applies it and calls `resume` with the
result; the engine then goes on until it has a screen to show.

A session dropped in a resumable journey can be continued: `resumable` gives the
snapshot the host keeps for the phone, the next session starts with it (`ctx.resume`,
then `state.resume`), a `Resume` node puts it back, and `state.forget_resume` tells the
host that the caller chose to start again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from menus import screens
from menus.context import MenuContext
from menus.effects import Effect
from menus.nodes import (
    Act,
    Ask,
    Branch,
    Choices,
    Invalid,
    Journey,
    JourneyError,
    Menu,
    Next,
    Node,
    Options,
    Resume,
    Route,
    Say,
    checked_nodes,
    numbered,
    qualify,
    resolve,
    store,
)
from menus.screens import Renderer, Screen
from menus.state import SessionState
from menus.text import Catalogue, T, Text

HOME = "00"
BACK = "0"
MORE = "98"
MAX_WRONG_ANSWERS = 3


@dataclass(frozen=True)
class Step:
    state: SessionState
    reply: str | None = None
    effect: Effect | None = None


class Engine:
    def __init__(
        self,
        journeys: Iterable[Journey],
        catalogues: Mapping[str, Catalogue],
        entry_node: str = "main.start",
        home_node: str = "main.go_home",
        renderer: Renderer = screens.render,
    ) -> None:
        listed = list(journeys)
        # Start-up fails on a target that does not exist, not the phone that reaches it.
        self.nodes: dict[str, Node] = checked_nodes(listed)
        self.journeys = {j.name: j for j in listed}
        self.catalogues = dict(catalogues)
        for role, node in (("entry", entry_node), ("home", home_node)):
            if node not in self.nodes:
                journey, _, node_id = node.partition(".")
                raise JourneyError(journey, node_id, f"the engine's {role} node does not exist")
        self.entry_node = entry_node
        self.home_node = home_node
        # The same journeys in other words: a USSD body by default, spoken phrases for voice.
        self.renderer = renderer

    # -- the host's three calls -------------------------------------------------

    def start(self, ctx: MenuContext, language: str, caller: dict[str, Any]) -> Step:
        state = SessionState(node=self.entry_node, language=language, caller=dict(caller))
        if ctx.resume is not None and ctx.resume.get("node") in self.nodes:
            state.resume = ctx.resume
        return self._arrive(state, ctx, self.entry_node)

    def advance(self, state: SessionState, answer: str, ctx: MenuContext) -> Step:
        if state.ended:
            return Step(state, state.reply)
        answer = answer.strip()
        node = self.nodes[state.node]
        if answer == HOME:
            state.back.clear()
            state.data = {}
            state.resume = None  # an offer not taken up is not made again
            return self._arrive(state, ctx, self.home_node)
        if isinstance(node, Menu):
            return self._answer_menu(state, node, answer, ctx)
        if isinstance(node, Ask):
            return self._answer_ask(state, node, answer, ctx)
        if isinstance(node, Say):
            return self._turn_page(state, answer, ctx)
        # A Branch or Act never waits for input; being here means a lost effect result.
        return self._arrive(state, ctx, state.node, push=False)

    def resume(self, state: SessionState, result: Any, ctx: MenuContext) -> Step:
        node = self.nodes[state.node]
        if not isinstance(node, Act):
            raise RuntimeError(f"resume at {state.node}, which is not an action")
        state.data[node.save] = result
        return self._arrive(state, ctx, self._follow(state.node, node.next, ctx, state))

    def is_secret(self, node: str) -> bool:
        """The question at `node` takes a secret: the host must not keep the answer."""
        asked = self.nodes.get(node)
        return isinstance(asked, Ask) and asked.secret

    def is_spoken(self, node: str) -> bool:
        """The question at `node` wants words a keypad cannot type: a voice host records it."""
        asked = self.nodes.get(node)
        return isinstance(asked, Ask) and asked.spoken

    def resumable(self, state: SessionState) -> dict[str, Any] | None:
        """What to keep so that a dropped session can be continued from the next dial."""
        journey = self.journeys[state.node.split(".", 1)[0]]
        # At a question, even one the session ended on after three wrong answers.
        if not journey.resumable or not isinstance(self.nodes[state.node], Menu | Ask):
            return None
        return {
            "node": state.node,
            "language": state.language,
            "data": state.data,
            "cursor": state.cursor,
            "back": state.back,
        }

    def finished_resumable(self, state: SessionState) -> bool:
        """The session reached an outcome of a resumable journey (done, cancelled...):
        there is nothing left to continue."""
        journey = self.journeys[state.node.split(".", 1)[0]]
        return journey.resumable and isinstance(self.nodes[state.node], Say)

    # -- answers ----------------------------------------------------------------

    def _answer_menu(self, state: SessionState, node: Menu, answer: str, ctx: MenuContext) -> Step:
        if answer == MORE:
            state.page += 1
            return self._show(state, ctx)
        options = resolve(node.options, ctx, state)
        chosen = {str(n): o for n, o in numbered(options)}.get(answer)
        # An option numbered 0 ("0 Quitter") takes the place of "back" on its menu.
        if answer == BACK and (state.page > 0 or chosen is None):
            if state.page > 0:  # on a later page of the list, 0 is its previous page
                state.page -= 1
                return self._show(state, ctx)
            return self._go_back(state, ctx)
        if chosen is not None:
            option = chosen
            if node.save is not None:
                store(node.save, state, option.value)
            if option.next:
                target = self._option_target(state.node, node.options, option.next)
            else:
                target = self._follow(state.node, node.next, ctx, state)
            return self._arrive(state, ctx, target, push=True)
        return self._wrong(state, ctx, T("error_choose_number"))

    def _answer_ask(self, state: SessionState, node: Ask, answer: str, ctx: MenuContext) -> Step:
        # A question's screen is never paged (`Screen.question`), so "98" is an answer
        # here, and "0" is one too unless the screen offers "0 Back". ("00", the way home
        # from anywhere, is no answer any question takes.)
        if answer == BACK and state.back:
            return self._go_back(state, ctx)
        try:
            value = node.parse(answer, ctx, state)
        except Invalid as invalid:
            return self._wrong(state, ctx, invalid.reason)
        store(node.save, state, value)
        return self._arrive(state, ctx, self._follow(state.node, node.next, ctx, state), push=True)

    def _turn_page(self, state: SessionState, answer: str, ctx: MenuContext) -> Step:
        if answer == MORE:
            state.page += 1
        elif answer == BACK:
            if state.page == 0:
                return self._go_back(state, ctx)
            state.page -= 1
        return self._show(state, ctx)

    def _wrong(self, state: SessionState, ctx: MenuContext, reason: T) -> Step:
        state.errors += 1
        if state.errors >= MAX_WRONG_ANSWERS:
            return self._finish(state, ctx, Screen(heading=(self._too_many(state, ctx),), end=True))
        return self._show(state, ctx, notice=reason)

    def _too_many(self, state: SessionState, ctx: MenuContext) -> T:
        """The last screen after too many wrong answers: where the answers are kept (see
        `resumable`), the caller is told they are, and for how long, so that it does not
        sound final."""
        if self.resumable(state) is not None and ctx.resume_minutes > 0:
            return T("error_too_many_kept", {"minutes": ctx.resume_minutes})
        return T("error_too_many")

    def _go_back(self, state: SessionState, ctx: MenuContext) -> Step:
        if not state.back:
            return self._show(state, ctx)
        node, cursor = state.back.pop()
        state.cursor = dict(cursor)
        return self._arrive(state, ctx, node, push=False)

    # -- moving and showing -----------------------------------------------------

    def _arrive(
        self, state: SessionState, ctx: MenuContext, target: str, push: bool = False
    ) -> Step:
        if push:
            state.back.append((state.node, dict(state.cursor)))
        for _ in range(64):  # a journey that loops on branches is a bug, not a hang
            node = self.nodes[target]
            if target != state.node:
                state.errors = 0
            state.node, state.page = target, 0
            if isinstance(node, Branch):
                target = self._follow(target, node.next, ctx, state)
                continue
            if isinstance(node, Resume):
                if state.resume is None:  # back to the offer after choosing to start again
                    target = self._follow(target, node.otherwise, ctx, state)
                else:
                    target = self._restore(state, state.resume)
                continue
            if isinstance(node, Act):
                return Step(state, effect=node.effect(ctx, state))
            return self._show(state, ctx)
        raise RuntimeError(f"branches loop around {target}")

    @staticmethod
    def _restore(state: SessionState, snapshot: dict[str, Any]) -> str:
        """The session as `resumable` kept it; the node it stopped at."""
        state.resume = None
        state.language = str(snapshot.get("language", state.language))
        state.data = dict(snapshot["data"])
        state.cursor = dict(snapshot["cursor"])
        state.back = [(node, dict(cursor)) for node, cursor in snapshot["back"]]
        return str(snapshot["node"])

    def _show(self, state: SessionState, ctx: MenuContext, notice: T | None = None) -> Step:
        node = self.nodes[state.node]
        screen: Screen
        if isinstance(node, Menu):
            listed = numbered(resolve(node.options, ctx, state))
            items: tuple[Text, ...] = tuple(
                T("option", {"n": n, "label": o.label}) for n, o in listed if o.listed
            )
            can_go_back = bool(state.back) and all(n != int(BACK) for n, _ in listed)
            screen = Screen(
                tuple(resolve(node.prompt, ctx, state)), items, False, can_go_back, notice
            )
        elif isinstance(node, Ask):
            screen = Screen(
                tuple(resolve(node.prompt, ctx, state)),
                (),
                False,
                bool(state.back),
                notice,
                spoken=node.spoken,
                question=True,
            )
        elif isinstance(node, Say):
            screen = Screen(
                (), tuple(resolve(node.lines, ctx, state)), node.end, bool(state.back), notice
            )
        else:
            raise RuntimeError(f"{state.node} has no screen")
        return self._finish(state, ctx, screen)

    def _finish(self, state: SessionState, ctx: MenuContext, screen: Screen) -> Step:
        catalogue = self.catalogues[state.language]
        rendered = self.renderer(screen, catalogue, state.page, ctx.max_chars)
        state.page = min(state.page, rendered.pages - 1)
        state.ended = rendered.end
        state.reply = rendered.body
        return Step(state, rendered.body)

    @staticmethod
    def _follow(current: str, next_: Next, ctx: MenuContext, state: SessionState) -> str:
        """The node `next_` of node `current` leads to now, as a qualified id."""
        journey, _, node_id = current.partition(".")
        if isinstance(next_, Route):
            target = next_(ctx, state)
            if target not in next_.targets:
                raise JourneyError(journey, node_id, f"routed to {target!r}, not declared")
            return qualify(journey, target)
        return qualify(journey, next_)

    @staticmethod
    def _option_target(current: str, options: Options, target: str) -> str:
        """Where a chosen option with its own `next` leads: listed up front, it was checked
        at load; listed at run time, it must be among the targets declared with the list."""
        journey, _, node_id = current.partition(".")
        if callable(options) and not (isinstance(options, Choices) and target in options.targets):
            raise JourneyError(journey, node_id, f"an option goes to {target!r}, not declared")
        return qualify(journey, target)
