"""A language that needs UCS-2 (70 characters an SMS, about 80 a screen instead of 160):
every screen of every journey still fits and pages, at both operator limits; a screen
that cannot fit whole in UCS-2 is shown folded into GSM-7 rather than cut."""

from __future__ import annotations

import pytest

from gateway.catalogues import installed
from gateway.catalogues.checks import LIMITS, check_language, check_sms
from gateway.catalogues.tour import Tour, tour_everything
from menus import gsm, screens
from menus.screens import Screen
from menus.text import Catalogue, T
from tests.catalogues.toned import CODE, toned_catalogue

SCREENS = installed.shipped(installed.SCREENS)
SMS = installed.shipped(installed.SMS)
TONED = toned_catalogue(SCREENS["fr"])
WITH_TONED = {**SCREENS, CODE: TONED}


@pytest.mark.parametrize("limit", LIMITS)
def test_every_screen_fits_and_pages_in_ucs2(limit: int) -> None:
    tour = Tour.of(WITH_TONED, CODE, limit)
    tour_everything(tour)
    pages = [(shown.node, page) for shown in tour.shown for page in shown.pages]
    assert all(gsm.fits(page.body, limit) and not page.clipped for _, page in pages)
    ucs2 = [(node, page) for node, page in pages if not gsm.is_gsm7(page.body)]
    assert len(ucs2) > len(pages) // 2  # most screens keep their letters
    assert all(gsm.length(page.body) <= limit // 2 for _, page in ucs2)
    # lists that fit one GSM-7 page take several in UCS-2, each with its navigation
    paged = [s for s in tour.shown if len(s.pages) > 1 and not gsm.is_gsm7(s.pages[0].body)]
    assert {"enrol.commune", "main.home", "agent.menu"} <= {shown.node for shown in paged}
    # 64-letter mutual names leave too little room in UCS-2: that list is shown folded
    mutuals = [s for s in tour.shown if s.node == "enrol.mutual"]
    assert any(all(gsm.is_gsm7(page.body) for page in s.pages) for s in mutuals)
    more = TONED.render(T("nav_more"))
    for shown in paged:
        assert all(page.body.endswith("\n" + more) for page in shown.pages[:-1]), shown


def test_the_check_finds_no_problem_in_a_complete_ucs2_language() -> None:
    sms = {**SMS, CODE: toned_catalogue(SMS["fr"])}
    assert check_language(WITH_TONED, sms, CODE) == []


def test_a_screen_too_long_for_ucs2_is_folded_whole_not_cut() -> None:
    catalogue = Catalogue(CODE, {**TONED.texts, "home_title": "ɔ" * 100 + " ɛ́"})
    screen = Screen(heading=(T("home_title"),), items=(T("nav_back"),), end=True)
    shown = screens.render(screen, catalogue, 0, 160)
    assert gsm.is_gsm7(shown.body) and not shown.clipped
    assert shown.body.startswith("END " + "o" * 100 + " e\n")
    # one that fits UCS-2 keeps its letters
    kept = screens.render(Screen(heading=(T("nav_back"),), end=True), catalogue, 0, 160)
    assert kept.body == "END " + TONED.texts["nav_back"] and not gsm.is_gsm7(kept.body)


def test_folding_is_decided_for_the_whole_screen_so_no_option_is_skipped() -> None:
    """Only the third option needs cutting in UCS-2, and the first page would be GSM-7
    anyway (French navigation): every page is folded all the same, so the pages are laid
    out one way and each option shows on exactly one of them."""
    options = ("1 " + "A" * 60, "2 ɔ" + "B" * 20, "3 ɔ" + "C" * 90, "4 " + "D" * 20)
    screen = Screen(heading=("Menu",), items=options)
    french = SCREENS["fr"]
    first = screens.render(screen, french, 0, 160)
    bodies = [screens.render(screen, french, page, 160).body for page in range(first.pages)]
    for option in ("1 A", "2 oB", "3 oC", "4 D"):
        assert sum(option in body for body in bodies) == 1, (option, bodies)
    assert all(gsm.is_gsm7(body) for body in bodies)


def test_a_script_with_no_latin_letter_is_cut_not_turned_into_question_marks() -> None:
    catalogue = Catalogue(CODE, {**TONED.texts, "home_title": "ߒ" * 100})  # N'Ko
    shown = screens.render(Screen(heading=(T("home_title"),), end=True), catalogue, 0, 160)
    assert shown.clipped and "?" not in shown.body and gsm.fits(shown.body, 160)


def test_an_ucs2_sms_may_take_three_segments_not_four() -> None:
    sms = toned_catalogue(SMS["fr"])
    assert check_sms(sms) == []
    long = Catalogue(CODE, {**sms.texts, "receipt": sms.texts["receipt"] + " ɔ" * 60})
    [problem] = check_sms(long)
    assert (problem.key, problem.part) == ("receipt", "sms")
    assert "4 SMS (UCS2" in problem.what
