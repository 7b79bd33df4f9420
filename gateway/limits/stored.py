"""How much of a body we did not ask for is kept: a callback for a reference we never
issued, or a webhook with a bad signature, is stored for a person to look at, and a
stranger must not be able to fill the database through it. A real MoMo callback is
under 1 KiB and a FedaPay event a few KiB, so 8 KiB keeps every genuine one whole."""

from __future__ import annotations

STORED_BODY_BYTES = 8 * 1024


def stored_text(raw: bytes, limit: int = STORED_BODY_BYTES) -> str:
    """The body as text, cut at `limit` bytes with a marker saying how long it was."""
    if len(raw) <= limit:
        return raw.decode("utf-8", "replace")
    # "ignore": a character cut in half at the limit is dropped, not turned into U+FFFD.
    kept = raw[:limit].decode("utf-8", "ignore")
    return f"{kept}…[truncated: {len(raw)} bytes received, first {limit} kept]"
