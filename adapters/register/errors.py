"""How a register adapter says a call failed, sorted by what the caller must do next.

These are plain exception classes, not frozen dataclasses: Python writes to an exception while
it travels (``__traceback__`` inside ``contextlib``, ``add_note``), which a frozen dataclass
forbids.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.register.events import EventKind


class RegisterError(Exception):
    """Base class. ``register_ids`` holds the ids confirmed before the failure.

    A push can fail half-way (a Patient created, then the Group timed out). Storing these ids
    with the event lets the retry update what exists instead of creating it twice.
    """

    def __init__(self, message: str, *, register_ids: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.register_ids: dict[str, str] = dict(register_ids or {})


class RegisterUnavailable(RegisterError):
    """Timeout, refused connection, 5xx, 429, or credentials the register refuses.

    Nothing is wrong with the event: keep it in the outbox and retry with backoff. Refused
    credentials land here too, because the fix is in configuration, not in the event.
    """


class RegisterRejected(RegisterError):
    """The register refused the event itself (4xx): retrying the same data will not help.

    Move the event to the dead letters, for a person to look at.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        register_ids: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, register_ids=register_ids)
        self.status_code = status_code


class RegisterMalformedAnswer(RegisterError):
    """The register answered something we cannot read: log it and retry later.

    The adapter never acts on half of an answer it could not read.
    """


class RegisterUnsupported(RegisterError):
    """This register has no way to receive this kind of event.

    Not a failure to retry nor data to fix: mark the event as not applicable to this register.
    """

    def __init__(self, kind: EventKind, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
