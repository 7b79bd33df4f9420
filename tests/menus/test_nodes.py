"""menus/nodes.py: journeys are checked as they load, and their nodes take named fields.

A target that does not exist fails start-up (`checked_nodes`, run by `Engine` and by
`all_journeys`), naming the journey and the node, rather than the phone that reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from menus.context import MenuContext, SchemeSnapshot
from menus.engine import Engine
from menus.journeys import all_journeys, check, nodes_with
from menus.nodes import (
    Act,
    Ask,
    Branch,
    Journey,
    JourneyError,
    Menu,
    Node,
    Option,
    Outcome,
    Resume,
    Say,
    checked_nodes,
    options_to,
    routes_to,
)
from menus.state import SessionState
from menus.text import T, load_catalogues

CATALOGUES = load_catalogues()
CTX = MenuContext(SchemeSnapshot(), date(2026, 11, 23))
END = Say("end", lines=[T("no_offer")])


def journey(*nodes: Node, name: str = "trial") -> Journey:
    return Journey(name=name, nodes=(*nodes, END))


def refused(trial: Journey) -> JourneyError:
    with pytest.raises(JourneyError) as caught:
        checked_nodes([*all_journeys(), trial])
    return caught.value


def _text(text: str, ctx: MenuContext, state: SessionState) -> str:
    return text


def test_the_real_journeys_pass() -> None:
    nodes = checked_nodes(all_journeys())
    assert {"main.start", "enrol.summary", "agent.menu", "pay.prompted"} <= set(nodes)


def test_a_next_that_does_not_exist_names_journey_and_node() -> None:
    error = refused(journey(Branch("start", next="ned")))
    assert str(error) == "journey 'trial', node 'start': next goes to 'ned', which does not exist"
    assert (error.journey, error.node) == ("trial", "start")


def test_a_next_into_another_journey_is_checked_too() -> None:
    assert "'enrol.summry'" in str(refused(journey(Branch("start", next="enrol.summry"))))
    checked_nodes([*all_journeys(), journey(Branch("start", next="enrol.summary"))])


@pytest.mark.parametrize(
    "node",
    [
        Ask("start", prompt=[T("ask_member_no")], parse=_text, save="x", next="nowhere"),
        Act("start", effect=lambda ctx, state: None, save="x", next="nowhere"),  # type: ignore[arg-type,return-value]
        Menu("start", prompt=[T("home_title")], options=(), next="nowhere"),
        Resume("start", otherwise="nowhere"),
    ],
    ids=["ask", "act", "menu", "resume"],
)
def test_every_kind_of_node_has_its_next_checked(node: Node) -> None:
    error = refused(journey(node))
    assert error.node == "start" and "'nowhere'" in str(error)


def test_an_option_that_goes_nowhere_is_refused() -> None:
    options = (Option(T("confirm"), True, next="end"), Option(T("cancel"), False, next="gone"))
    error = refused(journey(Menu("ask", prompt=[T("home_title")], options=options, next="end")))
    assert str(error) == (
        "journey 'trial', node 'ask': option 2 goes to 'gone', which does not exist"
    )


def test_a_route_declaring_a_target_that_does_not_exist_is_refused() -> None:
    @routes_to("end", "gone")
    def route(ctx: MenuContext, state: SessionState) -> str:
        return "end"

    error = refused(journey(Branch("start", next=route)))
    assert str(error) == "journey 'trial', node 'start': next goes to 'gone', which does not exist"


def test_options_declaring_a_target_that_does_not_exist_are_refused() -> None:
    @options_to("end", "gone")
    def options(ctx: MenuContext, state: SessionState) -> Sequence[Option]:
        return [Option(T("confirm"), True, next="end")]

    error = refused(journey(Menu("ask", prompt=[T("home_title")], options=options, next="end")))
    assert error.node == "ask" and "an option goes to 'gone'" in str(error)


def test_a_next_function_that_declares_no_targets_is_refused() -> None:
    def undeclared(ctx: MenuContext, state: SessionState) -> str:
        return "end"

    error = refused(journey(Branch("start", next=undeclared)))  # type: ignore[arg-type]
    assert error.node == "start" and "not a node id nor a Route" in str(error)


def test_a_node_defined_twice_and_a_journey_defined_twice_are_refused() -> None:
    error = refused(journey(Say("end", lines=[T("home_title")])))
    assert str(error) == "journey 'trial', node 'end': defined twice"
    with pytest.raises(JourneyError, match=r"^journey 'enrol': defined twice$"):
        checked_nodes([*all_journeys(), journey(Branch("start", next="end"), name="enrol")])


def test_the_engine_refuses_a_bad_journey_when_it_is_built() -> None:
    with pytest.raises(JourneyError, match=r"journey 'trial', node 'start': next goes to 'ned'"):
        Engine([*all_journeys(), journey(Branch("start", next="ned"))], CATALOGUES)


def test_the_engine_refuses_an_entry_node_that_does_not_exist() -> None:
    with pytest.raises(JourneyError, match=r"node 'begin': the engine's entry node does not"):
        Engine(all_journeys(), CATALOGUES, entry_node="main.begin")


def test_all_journeys_checks_them(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Journey(name="check", nodes=(Branch("number", next="lod"),))
    monkeypatch.setattr(check, "JOURNEY", broken)
    with pytest.raises(JourneyError, match=r"journey 'check', node 'number'"):
        all_journeys()


# -- at run time, a route keeps to what it declared ------------------------------------


def _engine_with(*nodes: Node) -> tuple[Engine, SessionState]:
    engine = Engine([*all_journeys(), journey(*nodes)], CATALOGUES)
    return engine, SessionState(node="trial.start", language="fr")


def test_a_route_that_goes_where_it_did_not_declare_is_a_bug() -> None:
    @routes_to("end")
    def route(ctx: MenuContext, state: SessionState) -> str:
        return "main.home"  # exists, but the route never said so

    engine, state = _engine_with(
        Ask("start", prompt=[T("ask_member_no")], parse=_text, save="x", next=route)
    )
    with pytest.raises(JourneyError, match=r"node 'start': routed to 'main.home', not declared"):
        engine.advance(state, "1", CTX)


def test_options_listed_at_run_time_keep_to_their_targets() -> None:
    def undeclared(ctx: MenuContext, state: SessionState) -> Sequence[Option]:
        return [Option(T("confirm"), True, next="main.home")]

    @options_to("end")
    def declared(ctx: MenuContext, state: SessionState) -> Sequence[Option]:
        return [Option(T("confirm"), True, next="main.home")]

    for options in (undeclared, declared):
        engine, state = _engine_with(
            Menu("start", prompt=[T("home_title")], options=options, next="end")
        )
        with pytest.raises(JourneyError, match=r"an option goes to 'main.home', not declared"):
            engine.advance(state, "1", CTX)


def test_a_route_that_keeps_to_its_targets_is_followed() -> None:
    @routes_to("end", "main.home")
    def route(ctx: MenuContext, state: SessionState) -> str:
        return "end"

    engine, state = _engine_with(
        Ask("start", prompt=[T("ask_member_no")], parse=_text, save="x", next=route)
    )
    assert engine.advance(state, "1", CTX).state.node == "trial.end"


# -- outcomes, for the statistics ---------------------------------------------------


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_reached_at_an_end_of_session(outcome: Outcome) -> None:
    """The funnel counts sessions that ended on these nodes: a node renamed or removed
    without its mark would empty it silently."""
    nodes = checked_nodes(all_journeys())
    marked = nodes_with(outcome)
    assert marked, f"no node is marked {outcome}"
    for node_id in marked:
        node = nodes[node_id]
        # The end of an enrolment that offers to pay at once waits for "1": a caller who
        # hangs up there has enrolled all the same.
        assert (isinstance(node, Say) and node.end) or node_id == "enrolled.pay_now", node_id


# -- fields by name ------------------------------------------------------------------


def test_node_fields_after_the_id_are_named() -> None:
    positional: Any = Say
    with pytest.raises(TypeError):
        positional("end", [T("no_offer")])
    with pytest.raises(TypeError):
        Option(T("confirm"), True, "end")  # type: ignore[call-arg]
