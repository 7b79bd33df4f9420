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


# Stands for each character of a secret input (a PIN) in the text a session keeps; a
# phone cannot send it inside `text`, since it ends the USSD string.
MASK = "#"


def _same(kept: str, text: str) -> bool:
    """`text` as kept, secret inputs aside."""
    return len(kept) == len(text) and all(k in (t, MASK) for k, t in zip(kept, text, strict=True))


def already_seen(consumed: str, text: str) -> bool:
    """The same hop again (operators retry), or an older one arriving late."""
    return (
        _same(consumed, text)
        or (len(consumed) > len(text) and _same(consumed[: len(text) + 1], text + "*"))
        or (text == "" and consumed != "")
    )


def new_input(consumed: str, text: str) -> str:
    """What the person typed since the text we already applied."""
    if consumed == "":
        return text
    if len(text) > len(consumed) and _same(consumed + "*", text[: len(consumed) + 1]):
        return text[len(consumed) + 1 :]
    # Not a continuation of what we applied: take the last input, as typed.
    return text.rsplit("*", 1)[-1]


def kept_text(consumed: str, text: str, inputs: list[tuple[str, bool]]) -> str:
    """The hop's text as the session keeps it, secret inputs masked.

    `inputs` are the inputs applied on this hop, in order, each with whether it was
    secret; `consumed` is what the session kept before (already masked)."""
    applied = "*".join(MASK * len(value) if secret else value for value, secret in inputs)
    if consumed == "":  # the first hop: its inputs are the text's first ones
        return applied + text[len(applied) :]
    if len(text) > len(consumed) and _same(consumed + "*", text[: len(consumed) + 1]):
        return consumed + "*" + applied
    # Not a continuation: nothing before this hop's input is known to be free of a secret.
    head = text[: max(len(text) - len(applied), 0)]
    return "".join(c if c == "*" else MASK for c in head) + applied
