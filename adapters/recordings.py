"""Fetching what a caller said on the voice line: the provider's recording, by its URL.

The provider hands the URL over in its callback and may serve the file a few seconds
later; a 404 then is "not yet", told apart from an answer that will never change (an
address outside the allowed hosts, a file too big or not sound) so that the worker
retries the first and flags the second at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from adapters.http_client import HttpAdapter

# A spoken name is a few seconds: even uncompressed, far below this.
MAX_BYTES = 2_000_000
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class Recording:
    audio: bytes
    content_type: str


class RecordingNotYet(Exception):
    """Not there (yet), or the provider did not answer: try again later."""


class RecordingRefused(Exception):
    """What no retry will change: flag it for a person."""


class RecordingSource(HttpAdapter):
    def __init__(
        self, allows: Callable[[str], bool], client: httpx.AsyncClient | None = None
    ) -> None:
        # No redirects: a provider's URL that points elsewhere is not followed outside
        # the allowed hosts.
        super().__init__(client, timeout=TIMEOUT, follow_redirects=False)
        self.allows = allows

    async def fetch(self, url: str) -> Recording:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise RecordingRefused("not an http(s) address")
        if not self.allows(parts.hostname):
            # The host is named so that whoever reads it can add the provider's to the list.
            raise RecordingRefused(f"host {parts.hostname} not in VOICE_RECORDING_HOSTS")
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code in (404, 425) or response.status_code >= 500:
                    raise RecordingNotYet(f"HTTP {response.status_code}")
                if response.status_code != 200:
                    raise RecordingRefused(f"HTTP {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if not (content_type.startswith("audio/") or content_type == "video/mp4"):
                    raise RecordingRefused(f"not sound: {content_type or 'no content type'}")
                audio = bytearray()
                async for chunk in response.aiter_bytes():
                    audio += chunk
                    if len(audio) > MAX_BYTES:
                        raise RecordingRefused(f"larger than {MAX_BYTES} bytes")
        except httpx.HTTPError as error:
            raise RecordingNotYet(type(error).__name__) from None
        if not audio:
            raise RecordingNotYet("empty file")
        return Recording(bytes(audio), content_type)
