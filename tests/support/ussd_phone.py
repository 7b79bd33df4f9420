"""A phone for tests: keeps the Africa's Talking `text` the way the aggregator does."""

from __future__ import annotations

import itertools

import httpx

_sessions = itertools.count(1)


class Phone:
    def __init__(self, http: httpx.AsyncClient, number: str, code: str = "*384*22#") -> None:
        self.http = http
        self.number = number
        self.code = code
        self.session_id = ""
        self.typed: list[str] = []

    async def dial(self, extra: str = "") -> str:
        """A new session; `extra` is what a dial string like *384*22*1# adds."""
        self.session_id = f"ATUid_test_{next(_sessions)}"
        self.typed = [extra] if extra else []
        return await self.send_text("*".join(self.typed))

    async def type(self, answer: str) -> str:
        self.typed.append(answer)
        return await self.send_text("*".join(self.typed))

    async def send_text(self, text: str) -> str:
        response = await self.http.post(
            "/ussd",
            data={
                "sessionId": self.session_id,
                "serviceCode": self.code,
                "phoneNumber": self.number,
                "networkCode": "61603",
                "text": text,
            },
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    async def repeat(self) -> str:
        """The aggregator sends the last hop again."""
        return await self.send_text("*".join(self.typed))
