"""Names said on the voice line: the worker fetches their recordings
(`transcriptions.fetch`), the dashboard lists them for staff to type
(`/admin/transcriptions`, pages in `gateway.staff.transcription_pages`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.recordings import RecordingSource
from gateway.capability import Built, Capability, Job
from gateway.infrastructure import Shared
from gateway.sms.capability import Sms
from gateway.staff import transcription_pages
from gateway.staff.capability import Staff
from gateway.staff.dashboard import serving
from gateway.transcriptions import commands
from gateway.transcriptions.desk import TranscriptionDesk
from gateway.transcriptions.fetching import RecordingFetcher

Endpoint = Callable[[Request], Awaitable[Response]]


class Transcriptions(Capability):
    name = "transcriptions"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        self.desk = TranscriptionDesk(shared.sessions, built.get(Sms).outbox, shared.now)
        self.source = RecordingSource(shared.settings.recordings.allows)
        self.fetcher = RecordingFetcher(shared.sessions, self.source, shared.now)
        self.dashboard = built.get(Staff).dashboard

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route(path, serving(self.dashboard, self._with_desk(page)), methods=methods)
            for path, page, methods in transcription_pages.PAGES
        ]

    def jobs(self) -> Sequence[Job]:
        return [Job("transcriptions.fetch", self.fetcher.work, time_limit=60)]

    async def stop(self) -> None:
        await self.source.aclose()

    add_commands = staticmethod(commands.add_commands)

    def _with_desk(self, endpoint: Endpoint) -> Endpoint:
        async def served(request: Request) -> Response:
            request.state.transcriptions = self.desk
            return await endpoint(request)

        return served
