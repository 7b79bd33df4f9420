"""A terminal phone: a USSD session against a running gateway, over HTTP, with the
Africa's Talking protocol. Interactive, or scripted with a list of inputs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator

import httpx


def session(
    url: str,
    phone: str,
    code: str,
    answers: Iterator[str],
    show: Callable[[str], None],
    timeout: float = 15.0,
) -> int:
    """Run one session; returns 0 when it ended with END, 1 otherwise."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the screens are the output
    session_id = f"ATUid_dial_{secrets.token_hex(6)}"
    typed: list[str] = []
    with httpx.Client(timeout=timeout) as client:
        while True:
            text = "*".join(typed)
            try:
                reply = client.post(
                    url,
                    data={
                        "sessionId": session_id,
                        "serviceCode": code,
                        "phoneNumber": phone,
                        "networkCode": "99999",
                        "text": text,
                    },
                )
            except httpx.HTTPError as error:
                show(f"[network error: {error}]")
                return 1
            body = reply.text
            if reply.status_code != 200 or not body.startswith(("CON ", "END ")):
                show(f"[operator error: HTTP {reply.status_code}: {body[:200]!r}]")
                return 1
            show(body[4:])
            if body.startswith("END "):
                return 0
            try:
                typed.append(next(answers))
            except StopIteration:
                show("[no more input: session left open]")
                return 1


def prompt_answers() -> Iterator[str]:
    while True:
        try:
            yield input("> ")
        except EOFError:
            return


def scripted_answers(script: str) -> Iterator[str]:
    """`--input "1,Koffi,..."`: commas separate answers (no keypad types a comma)."""
    for answer in script.split(","):
        print(f"> {answer}")
        yield answer
