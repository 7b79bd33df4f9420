"""Put a screen into words and cut it to the operator's limit.

Every reply must fit `max_chars` counted with the `CON `/`END ` prefix, in GSM-7 units
or UCS-2 units when a character needs it. Lists that do not fit are split into pages
(98 next, 0 back, 00 main menu); a single line too long for any page is clipped, which
the catalogue checks forbid (`alafia catalogue check`).

A question that waits for typed words (`Screen.question`: a PIN, a name, an amount) is
never paged: "98" on it would read as the answer, so its one screen keeps the question,
the reason for a wrong answer and "0 Back", and leaves out the lines before the question
when they do not fit. A wrong answer's reason on a list stands in for its title when
both would push options to a second page. A screen in UCS-2 (a language
written with ɔ, ɛ, tone marks) that would be clipped is shown folded into GSM-7 instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from menus import gsm
from menus.text import Catalogue, T, Text

CONTINUE = "CON "
MIN_CUT = 12  # a cut line shorter than this says nothing; start a new page for it
END = "END "


@dataclass(frozen=True)
class Screen:
    """What a node shows: a heading, then items (numbered options or plain lines)."""

    heading: tuple[Text, ...] = ()
    items: tuple[Text, ...] = ()
    end: bool = False
    can_go_back: bool = False
    notice: Text | None = None  # a short reason shown above, after a wrong answer
    spoken: bool = False  # the question wants words a keypad cannot type (a voice host records)
    question: bool = False  # waits for typed words, not a number from the list: never paged


@dataclass(frozen=True)
class Rendered:
    body: str
    pages: int
    end: bool
    clipped: bool = field(default=False, compare=False)
    # A line was cut laying the pages out: the same for every page of the screen.
    cut: bool = field(default=False, compare=False)


# How a host puts screens into words: `render` (a USSD body) unless it says otherwise
# (menus.spoken for voice). Arguments: the screen, the session's catalogue, the page, the
# operator's screen size.
Renderer = Callable[[Screen, Catalogue, int, int], Rendered]


def render(screen: Screen, catalogue: Catalogue, page: int, max_chars: int) -> Rendered:
    rendered = _render(screen, catalogue.render, page, max_chars)
    if rendered.cut and not _all_gsm7(screen, catalogue):
        # A language written with letters such as ɔ and ɛ needs UCS-2, which halves the
        # room: a screen that cannot fit whole that way is shown folded into GSM-7 (ɔ as
        # o, tone marks dropped), unless its script has no close Latin letter. Decided
        # for the whole screen, never page by page: pages laid out two ways would skip
        # or repeat options between them.
        folded = _render(screen, lambda text: _fold(catalogue.render(text)), page, max_chars)
        if not folded.cut:
            return folded
    return rendered


def _all_gsm7(screen: Screen, catalogue: Catalogue) -> bool:
    texts = [*screen.heading, *screen.items, *([screen.notice] if screen.notice else [])]
    return all(gsm.is_gsm7(catalogue.render(text)) for text in texts)


def _fold(words: str) -> str:
    folded = gsm.fold(words)
    return folded if folded.count("?") == words.count("?") else words


def _render(screen: Screen, words: Callable[[Text], str], page: int, max_chars: int) -> Rendered:
    heading = [words(line) for line in screen.heading]
    notice = [words(screen.notice)] if screen.notice is not None else []
    items = [words(item) for item in screen.items]
    back = words(T("nav_back"))
    nav = [back] if screen.can_go_back and not screen.end else []
    prefix = END if screen.end else CONTINUE
    for shown in _one_page_layouts(notice, heading, items, screen.question):
        body = prefix + "\n".join(shown + nav)
        if gsm.fits(body, max_chars):
            return Rendered(body, 1, screen.end)
    if screen.question:
        # Still too long: the reason is cut, never the question nor the way back.
        question = heading[-1:] if heading else []
        rest = "\n".join(question + nav)
        cut = [
            shorten(line, lambda text: gsm.fits(prefix + text + "\n" + rest, max_chars))
            for line in notice
        ]
        body = prefix + "\n".join(cut + question + nav)
        if not gsm.fits(body, max_chars):
            return Rendered(clip_to_limit(body, max_chars), 1, screen.end, True, True)
        return Rendered(body, 1, screen.end, bool(notice), bool(notice))
    return _paginate(notice, heading, items, screen, words, page, max_chars)


def _one_page_layouts(
    notice: list[str], heading: list[str], items: list[str], question: bool
) -> list[list[str]]:
    """The ways to show a screen on one page, best first. Everything; then, after a
    wrong answer or on a typed question, fewer of the lines before the last heading line
    (the question itself), the first ones dropped first: the nearest context (what is
    due, a payment already waiting) stays as long as it fits; then a list without its
    title, the reason in its place."""
    layouts = [notice + heading + items]
    if notice or question:
        layouts += [notice + heading[first:] + items for first in range(1, len(heading))]
    if notice and items and not question:
        layouts.append(notice + items)
    return layouts


def _paginate(
    notice: list[str],
    heading: list[str],
    items: list[str],
    screen: Screen,
    words: Callable[[Text], str],
    page: int,
    max_chars: int,
) -> Rendered:
    more = words(T("nav_more"))
    last_nav = words(T("nav_last_page"))

    def fits_page(lines: list[str]) -> bool:
        return gsm.fits(CONTINUE + "\n".join([*lines, more]), max_chars)

    # A wrong answer's reason tops every page, so it shows on the page the answer was on.
    pages: list[list[str]] = []
    current: list[str] = list(notice)
    clipped = False
    # The heading's lines page like the items: a long summary pushes its options to
    # the next page instead of squeezing out the navigation.
    for item in [line for text in heading for line in text.split("\n")] + items:
        if fits_page([*current, item]):
            current.append(item)
            continue
        if fits_page([*notice, item]):  # it fits a page of its own: move it, don't cut it
            pages.append(current)
            current = [*notice, item]
            continue
        # Too long for any page: cut it where it stands, unless too little room is left.
        cut = shorten(item, _after(current, fits_page))
        if len(cut) < MIN_CUT and len(current) > len(notice):
            pages.append(current)
            current = list(notice)
            cut = shorten(item, _after(current, fits_page))
        current.append(cut)
        clipped = True
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
    laid_out_cut = clipped
    if not gsm.fits(body, max_chars):
        body, clipped = clip_to_limit(body, max_chars), True
    return Rendered(body, len(pages), end, clipped, laid_out_cut)


def _after(lines: list[str], fits_page: Callable[[list[str]], bool]) -> Callable[[str], bool]:
    """Does a line fit a page after `lines`?"""
    before = list(lines)
    return lambda text: fits_page([*before, text])


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """Cut `text` until it fits, marking the cut with two dots (GSM-7 has no ellipsis)."""
    if fits(text):
        return text
    while text and not fits(text + ".."):
        text = text[:-1]
    return text + ".."


def clip_to_limit(body: str, max_chars: int) -> str:
    """Last guard before a reply leaves: never hand the operator an oversized screen."""
    return shorten(body, lambda text: gsm.fits(text, max_chars))
