"""An answer spoken instead of typed.

A keypad cannot type a name. A voice host records the caller instead and answers a
`spoken` question with the recording's token; the question's parser takes the token
for the text it stands for, which staff transcribe later. The token is plain text so
that it travels through the engine, the session and the effects like any answer.
"""

from __future__ import annotations

PREFIX = "rec:"


def answer(recording_id: str) -> str:
    """What the voice host feeds the engine for a recording it received."""
    return PREFIX + recording_id


def recording_of(answer: str) -> str | None:
    """The recording an answer stands for, or None for a typed answer."""
    return (
        answer[len(PREFIX) :] if answer.startswith(PREFIX) and len(answer) > len(PREFIX) else None
    )
