"""Logging set-up. Personal data stays out of logs: phone numbers are masked even
when a message (ours or a library's) carries one in full, and so are the callback secrets
a URL carries (`?token=`), which uvicorn's access log would print whole."""

from __future__ import annotations

import logging
import re

from menus.identifiers import mask_phone

_PHONE = re.compile(r"\+\d{8,15}")
_TOKEN = re.compile(r"([?&]token=)[^&\s\"']+")


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _TOKEN.sub(r"\1•••", _PHONE.sub(lambda m: mask_phone(m.group(0)), message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPersonalData())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO; the migrations it runs are enough.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
