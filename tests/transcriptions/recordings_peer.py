"""A local server holding callers' recordings as a voice provider does: the file at the
URL its callback gave, sometimes a few seconds late.

    peer = RecordingsPeer()
    peer.add("a-last", b"ID3...")          # served at once
    peer.add("a-first", b"ID3...", late=2)  # 404 twice, then the file
    peer.add("page", b"<html>", content_type="text/html")
    with serve(peer.app) as base_url: ...   # GET {base_url}/rec/a-last.mp3

Files never added answer 404 for ever (a recording that never arrives).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class _File:
    audio: bytes
    content_type: str
    late: int


class RecordingsPeer:
    def __init__(self) -> None:
        self.files: dict[str, _File] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/rec/{name}.mp3", self._get, methods=["GET"])])

    def add(
        self, name: str, audio: bytes, *, late: int = 0, content_type: str = "audio/mpeg"
    ) -> None:
        with self._lock:
            self.files[name] = _File(audio, content_type, late)

    def asked(self, name: str) -> int:
        with self._lock:
            return self.requests.count(name)

    async def _get(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._lock:
            self.requests.append(name)
            found = self.files.get(name)
            if found is None or found.late > 0:
                if found is not None:
                    found.late -= 1
                return PlainTextResponse("Not Found", status_code=404)
        return Response(found.audio, media_type=found.content_type)
