"""The formatter of the gateway's log handler: every line it writes is masked, whoever
logged it (our code, httpx, uvicorn, SQLAlchemy...) and whatever it carries (an
exception's text and its traceback, a stack)."""

from __future__ import annotations

import logging
from types import TracebackType

from gateway.logs.masking import mask

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class MaskingFormatter(logging.Formatter):
    def __init__(self, fmt: str = FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))

    # The traceback is cached on the record (`exc_text`) for every other handler: cache
    # it masked.
    def formatException(self, ei: ExcInfo) -> str:
        return mask(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return mask(super().formatStack(stack_info))
