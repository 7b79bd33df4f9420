"""The phone simulator (`/simulator`): a basic phone on a web page, for training agents
and demonstrating the menus to mutual assemblies. It talks to `/ussd` and `/voice`
exactly as Africa's Talking does, in this process, with their secrets added here
(gateway/simulator/forward.py); docs/languages-and-voice.md, *Phone simulator*."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.capability import Built, Capability
from gateway.infrastructure import Shared
from gateway.simulator.pages import RECORDING_PATH, SimulatorPages
from gateway.staff.capability import Staff
from gateway.staff.dashboard import serving
from gateway.staff.pages import add_nav_link

STATIC = Path(__file__).parent / "static"

add_nav_link("/simulator", "simulator.nav")


class Simulator(Capability):
    name = "simulator"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        self.dashboard = built.get(Staff).dashboard  # the staff's login sessions
        self.pages = SimulatorPages(shared.settings)

    def routes(self) -> Sequence[BaseRoute]:
        pages, dashboard = self.pages, self.dashboard
        return [
            Route("/simulator", serving(dashboard, pages.page), methods=["GET"]),
            Route("/simulator/ussd", serving(dashboard, pages.ussd), methods=["POST"]),
            Route("/simulator/voice", serving(dashboard, pages.voice), methods=["POST"]),
            Route(RECORDING_PATH, pages.recording, methods=["GET"]),
            Mount("/simulator/static", app=StaticFiles(directory=STATIC), name="simulator-static"),
        ]
