"""menus/screens.py: every reply fits the operator's limit, long lists page, nothing is lost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus import gsm, screens
from menus.screens import Screen, clip_to_limit, render
from menus.text import Catalogue, T, Text, load_catalogues

CATALOGUES = load_catalogues()
LANGUAGES = sorted(CATALOGUES)
LIMITS = (160, 182)


def options(count: int, label: str = "Mutuelle de santé numéro {n}") -> tuple[Text, ...]:
    return tuple(T("option", {"n": n, "label": label.format(n=n)}) for n in range(1, count + 1))


def all_pages(screen: Screen, catalogue: Catalogue, limit: int) -> list[screens.Rendered]:
    first = render(screen, catalogue, 0, limit)
    return [render(screen, catalogue, page, limit) for page in range(first.pages)]


def lines_of(body: str) -> list[str]:
    return body[len(screens.CONTINUE) :].split("\n")


# -- one page ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_short_menu_is_one_page_with_back(language: str) -> None:
    catalogue = CATALOGUES[language]
    screen = Screen((T("ask_mutual"),), options(3), can_go_back=True)
    rendered = render(screen, catalogue, 0, 160)
    back = catalogue.render(T("nav_back"))
    assert rendered == screens.Rendered(
        "CON "
        + "\n".join(
            [
                catalogue.render(T("ask_mutual")),
                "1. Mutuelle de santé numéro 1",
                "2. Mutuelle de santé numéro 2",
                "3. Mutuelle de santé numéro 3",
                back,
            ]
        ),
        pages=1,
        end=False,
    )
    assert not rendered.clipped


def test_no_back_line_without_history_or_on_an_end_screen() -> None:
    fr = CATALOGUES["fr"]
    assert render(Screen((T("home_title"),), options(2)), fr, 0, 160).body == (
        "CON Mutuelle de santé\n1. Mutuelle de santé numéro 1\n2. Mutuelle de santé numéro 2"
    )
    ended = render(Screen((), (T("enrol_cancelled"),), end=True, can_go_back=True), fr, 0, 160)
    assert ended.body == "END Adhésion annulée. Rien n'a été enregistré."
    assert ended.end


def test_a_notice_comes_first() -> None:
    fr = CATALOGUES["fr"]
    screen = Screen((T("ask_member_no"),), notice=T("error_member_no_format"), can_go_back=True)
    assert render(screen, fr, 0, 160).body == (
        "CON Le numéro de membre a 9 chiffres.\nNuméro de membre (9 chiffres):\n0 Retour"
    )


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("end", [False, True])
def test_a_screen_exactly_at_the_limit_is_one_page(limit: int, end: bool) -> None:
    fr = CATALOGUES["fr"]
    text = "a" * (limit - 4)
    rendered = render(Screen((), (text,), end=end), fr, 0, limit)
    assert rendered.pages == 1
    assert rendered.body == ("END " if end else "CON ") + text
    assert gsm.length(rendered.body) == limit
    assert not rendered.clipped


@pytest.mark.parametrize("limit", LIMITS)
def test_the_prefix_counts(limit: int) -> None:
    fr = CATALOGUES["fr"]
    rendered = render(Screen((), ("a" * (limit - 3),), end=True), fr, 0, limit)
    assert rendered.clipped
    assert rendered.body.startswith("END aaa")
    assert gsm.length(rendered.body) <= limit


# -- pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_long_menu_pages(language: str, limit: int) -> None:
    catalogue = CATALOGUES[language]
    more = catalogue.render(T("nav_more"))
    last_nav = catalogue.render(T("nav_last_page"))
    items = options(20)
    screen = Screen((T("ask_mutual"),), items, can_go_back=True)
    pages = all_pages(screen, catalogue, limit)

    assert len(pages) > 1
    seen: list[str] = []
    for number, page in enumerate(pages):
        assert gsm.fits(page.body, limit), page.body
        assert page.body.startswith("CON ")
        assert not page.end and not page.clipped
        assert page.pages == len(pages)
        lines = lines_of(page.body)
        if number < len(pages) - 1:
            assert lines[-1] == more
        else:
            assert lines[-1] == last_nav
        assert more not in lines[:-1] and last_nav not in lines[:-1]
        seen += [line for line in lines[:-1] if line[0].isdigit()]
    # every option once, in order, keeping its number from the whole list
    assert seen == [catalogue.render(item) for item in items]
    # the question is on the first page only
    assert lines_of(pages[0].body)[0] == catalogue.render(T("ask_mutual"))
    assert all(catalogue.render(T("ask_mutual")) not in p.body for p in pages[1:])


@pytest.mark.parametrize(("asked", "shown"), [(-3, 0), (0, 0), (1, 1), (4, 4), (5, 4), (99, 4)])
def test_the_page_index_clamps(asked: int, shown: int) -> None:
    fr = CATALOGUES["fr"]
    screen = Screen((T("ask_mutual"),), options(20), can_go_back=True)
    assert render(screen, fr, 0, 160).pages == 5
    assert render(screen, fr, asked, 160).body == render(screen, fr, shown, 160).body


@pytest.mark.parametrize("limit", LIMITS)
def test_an_end_screen_pages_with_con_pages_then_ends(limit: int) -> None:
    fr = CATALOGUES["fr"]
    more = fr.render(T("nav_more"))
    lines = tuple(f"Ligne {n} avec assez de texte pour remplir" for n in range(12))
    pages = all_pages(Screen((), lines, end=True), fr, limit)
    assert len(pages) > 1
    for page in pages[:-1]:
        assert page.body.startswith("CON ") and not page.end
        assert lines_of(page.body)[-1] == more
    last = pages[-1]
    assert last.body.startswith("END ") and last.end
    assert lines_of(last.body)[-1] == lines[-1]  # no navigation once the session ends
    assert [line for p in pages for line in lines_of(p.body) if line != more] == list(lines)
    assert all(gsm.fits(p.body, limit) for p in pages)


@pytest.mark.parametrize("limit", LIMITS)
def test_ucs2_items_halve_the_room(limit: int) -> None:
    fr = CATALOGUES["fr"]
    gsm_items = options(12, "Mutuelle de Dosou {n}")
    ucs2_items = options(12, "Mutuelle de Dɔsɔu {n}")
    gsm_pages = all_pages(Screen((T("ask_mutual"),), gsm_items), fr, limit)
    ucs2_pages = all_pages(Screen((T("ask_mutual"),), ucs2_items), fr, limit)
    assert len(ucs2_pages) > len(gsm_pages)
    for page in ucs2_pages:
        assert not gsm.is_gsm7(page.body)
        assert gsm.length(page.body) <= limit // 2
        assert not page.clipped
    seen = [line for p in ucs2_pages for line in lines_of(p.body)[:-1] if line[0].isdigit()]
    assert seen == [fr.render(item) for item in ucs2_items]


def test_a_ucs2_screen_that_fits_in_gsm7_room_still_pages() -> None:
    fr = CATALOGUES["fr"]
    text = "ê" * 100  # 100 units: under 160 but over the UCS-2 room of 80
    rendered = render(Screen((), (text[:50], text[50:]), end=True), fr, 0, 160)
    assert rendered.pages == 2
    assert gsm.length(rendered.body) <= 80


# -- clipping ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", LIMITS)
def test_a_single_overlong_line_is_clipped_and_the_rest_survives(limit: int) -> None:
    fr = CATALOGUES["fr"]
    long_item = "1. " + "x" * 300
    screen = Screen((T("ask_mutual"),), (long_item, "2. Kandi", "3. Parakou"), can_go_back=True)
    pages = all_pages(screen, fr, limit)
    assert pages[0].clipped
    first = lines_of(pages[0].body)
    assert first[0] == fr.render(T("ask_mutual"))
    assert first[1].startswith("1. xxx") and len(first[1]) < len(long_item)
    assert first[-1] == fr.render(T("nav_more"))  # the way on is never cut off
    assert gsm.length(pages[0].body) <= limit
    rest = [line for p in pages[1:] for line in lines_of(p.body)]
    assert "2. Kandi" in rest and "3. Parakou" in rest
    assert lines_of(pages[-1].body)[-1] == fr.render(T("nav_last_page"))


@pytest.mark.parametrize("limit", LIMITS)
def test_a_clipped_line_is_marked_with_two_dots(limit: int) -> None:
    fr = CATALOGUES["fr"]
    screen = Screen((T("ask_mutual"),), ("1. " + "x" * 300, "2. Kandi"))
    assert lines_of(render(screen, fr, 0, limit).body)[1].endswith("..")


def test_a_clipped_ucs2_line_keeps_the_navigation() -> None:
    fr = CATALOGUES["fr"]
    screen = Screen((T("ask_mutual"),), ("1. Dɔsɔu " + "x" * 200, "2. Kandi"))
    first = render(screen, fr, 0, 160)
    assert gsm.length(first.body) <= 80
    assert lines_of(first.body)[-1] == fr.render(T("nav_more"))


def test_an_item_that_fits_on_a_page_of_its_own_is_not_clipped() -> None:
    fr = CATALOGUES["fr"]
    item = "1. " + "x" * 100
    pages = all_pages(Screen(("H" * 120,), (item, "2. y")), fr, 160)
    assert not any(p.clipped for p in pages)
    assert any(item in lines_of(p.body) for p in pages)


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        ("CON short", 160),
        ("END " + "a" * 156, 160),
        ("END " + "a" * 178, 182),
        ("CON " + "ê" * 76, 160),
    ],
)
def test_clip_to_limit_leaves_what_fits(body: str, limit: int) -> None:
    assert clip_to_limit(body, limit) == body


@pytest.mark.parametrize(
    ("body", "limit", "room"),
    [
        ("CON " + "a" * 300, 160, 160),
        ("END " + "a" * 300, 182, 182),
        ("CON " + "€" * 100, 160, 160),
        ("CON " + "ê" * 100, 160, 80),
        ("CON " + "ê" * 100, 182, 91),
        ("END " + "😀" * 100, 160, 80),
    ],
)
def test_clip_to_limit_cuts_what_does_not(body: str, limit: int, room: int) -> None:
    clipped = clip_to_limit(body, limit)
    assert gsm.fits(clipped, limit)
    assert gsm.length(clipped) <= room
    assert body.startswith(clipped.rstrip("."))
    assert gsm.length(clipped) >= room - 3  # nothing cut that did not need to be


def test_clip_to_limit_marks_the_cut() -> None:
    assert clip_to_limit("END " + "a" * 300, 160).endswith("..")


# -- any list ------------------------------------------------------------------------

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ éèà'-", min_size=1, max_size=110)


@given(
    labels=st.lists(WORDS, min_size=0, max_size=40),
    language=st.sampled_from(LANGUAGES),
    limit=st.sampled_from(LIMITS),
    end=st.booleans(),
    can_go_back=st.booleans(),
)
def test_any_list_pages_into_screens_that_fit_and_keep_every_item(
    labels: list[str], language: str, limit: int, end: bool, can_go_back: bool
) -> None:
    catalogue = CATALOGUES[language]
    items = tuple(T("option", {"n": n, "label": label}) for n, label in enumerate(labels, 1))
    screen = Screen((T("ask_mutual"),), items, end=end, can_go_back=can_go_back)
    pages = all_pages(screen, catalogue, limit)
    rendered_items = [catalogue.render(item) for item in items]
    nav = {catalogue.render(T(key)) for key in ("nav_more", "nav_last_page", "nav_back")}
    for number, page in enumerate(pages):
        assert gsm.fits(page.body, limit)
        assert not page.clipped
        is_last = number == len(pages) - 1
        assert page.end == (end and is_last)
        assert page.body.startswith("END " if end and is_last else "CON ")
    shown = [line for p in pages for line in lines_of(p.body)]
    assert [line for line in shown if line not in nav][1:] == rendered_items
