"""Put a screen into words and cut it to the operator's limit.

Every reply must fit `max_chars` counted with the `CON `/`END ` prefix, in GSM-7 units
or UCS-2 units when a character needs it. Lists that do not fit are split into pages
(98 next, 0 back, 00 main menu); a single line too long for any page is clipped, which
the catalogue tests forbid for our own texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from menus import gsm
from menus.text import Catalogue, T, Text

CONTINUE = "CON "
END = "END "


@dataclass(frozen=True)
class Screen:
    """What a node shows: a heading, then items (numbered options or plain lines)."""

    heading: tuple[Text, ...] = ()
    items: tuple[Text, ...] = ()
    end: bool = False
    can_go_back: bool = False
    notice: Text | None = None  # a short reason shown above, after a wrong answer


@dataclass(frozen=True)
class Rendered:
    body: str
    pages: int
    end: bool
    clipped: bool = field(default=False, compare=False)


def render(screen: Screen, catalogue: Catalogue, page: int, max_chars: int) -> Rendered:
    heading = [catalogue.render(line) for line in screen.heading]
    if screen.notice is not None:
        heading.insert(0, catalogue.render(screen.notice))
    items = [catalogue.render(item) for item in screen.items]
    back = catalogue.render(T("nav_back"))
    whole = heading + items + ([back] if screen.can_go_back and not screen.end else [])
    prefix = END if screen.end else CONTINUE
    if gsm.fits(prefix + "\n".join(whole), max_chars):
        return Rendered(prefix + "\n".join(whole), 1, screen.end)
    return _paginate(heading, items, screen, catalogue, page, max_chars)


def _paginate(
    heading: list[str],
    items: list[str],
    screen: Screen,
    catalogue: Catalogue,
    page: int,
    max_chars: int,
) -> Rendered:
    more = catalogue.render(T("nav_more"))
    last_nav = catalogue.render(T("nav_last_page"))
    pages: list[list[str]] = []
    current: list[str] = list(heading)
    clipped = False
    for item in items:
        candidate = [*current, item, more]
        if gsm.fits(CONTINUE + "\n".join(candidate), max_chars):
            current.append(item)
            continue
        if len(current) > (len(heading) if not pages else 0):
            pages.append(current)
            current = []
        room = max_chars - gsm.length(CONTINUE + "\n".join([*current, more])) - 1
        if not gsm.fits(CONTINUE + "\n".join([*current, item, more]), max_chars):
            item, clipped = _clip(item, room), True
        current.append(item)
    pages.append(current)
    page = max(0, min(page, len(pages) - 1))
    lines = list(pages[page])
    is_last = page == len(pages) - 1
    end = screen.end and is_last
    if not is_last:
        lines.append(more)
    elif not screen.end:
        lines.append(last_nav)
    prefix = END if end else CONTINUE
    body = prefix + "\n".join(lines)
    if not gsm.fits(body, max_chars):
        body, clipped = _clip(body, gsm.limit_for(body, max_chars)), True
    return Rendered(body, len(pages), end, clipped)


def _clip(text: str, room: int) -> str:
    """Cut to `room` units, marking the cut with two dots (GSM-7 has no ellipsis)."""
    room = max(room, 2)
    while gsm.length(text) > room:
        text = text[:-1]
        if gsm.length(text) + 2 <= room:
            return text + ".."
    return text


def clip_to_limit(body: str, max_chars: int) -> str:
    """Last guard before a reply leaves: never hand the operator an oversized screen."""
    if gsm.fits(body, max_chars):
        return body
    return _clip(body, gsm.limit_for(body, max_chars))
