"""Africa's Talking USSD: the form a hop arrives in, and its cumulative `text`.

A hop is a form-encoded POST (`sessionId`, `serviceCode`, `phoneNumber`, `networkCode`,
`text`). `text` holds every input of the session so far joined by `*`: empty on the
first hop, or the extra digits of a dial string like *384*22*1#. The reply is
`text/plain`, `CON <screen>` or `END <screen>` (the menu engine writes those).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_BODY = 8192  # a real hop is a few hundred bytes


@dataclass(frozen=True)
class Hop:
    session_id: str
    service_code: str
    phone_number: str
    network_code: str
    text: str


def parse_hop(body: bytes) -> Hop | None:
    """The hop in a request body; None when the body is too big to be one."""
    if len(body) > MAX_BODY:
        return None
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Hop(
        session_id=fields.get("sessionId", ""),
        service_code=fields.get("serviceCode", ""),
        phone_number=fields.get("phoneNumber", ""),
        network_code=fields.get("networkCode", ""),
        text=fields.get("text", ""),
    )


def first_inputs(text: str) -> list[str]:
    """Inputs carried by the first hop of a session (a dial string's extra digits)."""
    return text.split("*") if text else []


def already_seen(consumed: str, text: str) -> bool:
    """The same hop again (operators retry), or an older one arriving late."""
    return text == consumed or consumed.startswith(text + "*") or (text == "" and consumed != "")


def new_input(consumed: str, text: str) -> str:
    """What the person typed since the text we already applied."""
    if consumed == "":
        return text
    if text.startswith(consumed + "*"):
        return text[len(consumed) + 1 :]
    # Not a continuation of what we applied: take the last input, as typed.
    return text.rsplit("*", 1)[-1]
