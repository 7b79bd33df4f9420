"""The shipped catalogues: complete, consistent, GSM-7, and every screen fits unclipped.

The last part drives the engine through every screen of every journey, in every
language, at 160 and 182 characters, with the longest data people can type or a scheme
can hold, and records what `screens.render` made of each screen, page by page: the
tour of gateway/catalogues/tour.py, which `alafia catalogue check` runs on every catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import gateway
import menus
from gateway.catalogues.checks import FORMAT_KEYS, LIMITS, check_texts, screen_nodes
from gateway.catalogues.tour import Tour, enrol_to_summary, tour_everything
from gateway.catalogues.worst_case import (
    LARGEST_HOUSEHOLD,
    LONG_DEPENDANT,
    LONG_FAMILY_NAME,
    LONG_FIRST_NAMES,
    STATUSES,
)
from menus import gsm, parsers
from menus.journeys import all_journeys, facility
from menus.journeys.coverage_lines import FREE_CARE_GROUNDS
from menus.nodes import Option
from menus.parsers import MAX_NAME
from menus.text import T, load_catalogues

CATALOGUES = load_catalogues()
LANGUAGES = sorted(CATALOGUES)
MENUS_SOURCE = Path(menus.__file__).parent
GATEWAY_SOURCE = Path(gateway.__file__).parent


# -- completeness --------------------------------------------------------------------


def test_french_and_english_are_shipped() -> None:
    assert {"fr", "en"} <= set(CATALOGUES)


def test_the_worst_case_names_are_the_longest_allowed() -> None:
    for name in (LONG_FAMILY_NAME, LONG_FIRST_NAMES, LONG_DEPENDANT):
        assert len(name) == MAX_NAME
        assert parsers.clean_name(name) == name


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_has_the_keys_and_fields_of_the_french_one(language: str) -> None:
    # the checks `alafia catalogue check` makes: keys, {fields}, spelling, metadata
    assert check_texts(CATALOGUES["fr"], CATALOGUES[language], "screens") == []


def _sources() -> Iterator[tuple[Path, str]]:
    for root in (MENUS_SOURCE, GATEWAY_SOURCE):
        for path in sorted(root.rglob("*.py")):
            yield path, path.read_text("utf-8")


def keys_in_source() -> tuple[set[str], set[str]]:
    """Literal keys, and the prefixes of f-string keys, named in menus/ and gateway/."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for _, source in _sources():
        literal |= set(re.findall(r"\b[Tt]\(\s*\"([a-z0-9_]+)\"", source))
        literal |= set(re.findall(r"_notice\([^()]*?,\s*\"([a-z0-9_]+)\"\)", source))
        prefixes |= set(re.findall(r"\bT\(\s*f\"([a-z0-9_]+)\{", source))
    return literal, prefixes


def member_number_reasons() -> set[str]:
    source = (MENUS_SOURCE / "identifiers.py").read_text("utf-8")
    return set(re.findall(r"MemberNumberError\(\"(\w+)\"\)", source))


def referenced_keys() -> set[str]:
    literal, prefixes = keys_in_source()
    # Every f-string key is listed here with the values it can take: a new one must be too.
    expansions = {
        "status_": STATUSES,
        "error_member_no_": member_number_reasons(),
        "facility_not_covered_": set(facility.NOT_COVERED_REASONS),
        "ground_": set(FREE_CARE_GROUNDS),
    }
    assert prefixes == set(expansions)
    assert member_number_reasons() == {"format", "check_digit"}
    return literal | {prefix + value for prefix, values in expansions.items() for value in values}


def test_the_source_scan_finds_the_keys_it_should() -> None:
    literal, _ = keys_in_source()
    # one of each way a key is named: a plain T, a T split over lines, a gateway notice
    assert {"ask_mutual", "product_label_household", "enrol_summary_head", "bad_request"} <= literal


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_named_in_the_code_exists(language: str) -> None:
    missing = referenced_keys() - set(CATALOGUES[language].texts)
    assert missing == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_text_is_used(language: str) -> None:
    unused = set(CATALOGUES[language].texts) - referenced_keys() - FORMAT_KEYS
    assert unused == set()


def _keys_of(value: Any) -> Iterator[str]:
    if isinstance(value, T):
        yield value.key
        for param in value.params.values():
            yield from _keys_of(param)
    elif isinstance(value, Option):
        yield from _keys_of(value.label)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _keys_of(item)


def test_every_key_in_the_journey_definitions_exists() -> None:
    named: set[str] = set()
    for journey in all_journeys():
        if journey.entry is not None and not callable(journey.entry.label):
            named |= set(_keys_of(journey.entry.label))  # a function's: the source scan
        for node in journey.nodes:
            for attribute in ("prompt", "options", "lines"):
                named |= set(_keys_of(getattr(node, attribute, None)))
    assert {"resume_offer", "ask_head_first_names", "sex_female", "menu_pay", "confirm"} <= named
    for language in LANGUAGES:
        assert named - set(CATALOGUES[language].texts) == set(), language


# -- GSM-7 ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_french_and_english_texts_are_gsm7(language: str) -> None:
    outside = {
        key: sorted({ch for ch in text if not gsm.is_gsm7(ch)})
        for key, text in CATALOGUES[language].texts.items()
        if not gsm.is_gsm7(text)
    }
    assert outside == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_names_are_gsm7(language: str) -> None:
    # Every language's own name is on the one language screen, whatever its script.
    assert gsm.is_gsm7(CATALOGUES[language].texts["language_name"])


class _ShuffledDir:
    """The catalogues directory, listed in the order a different file system might use."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def iterdir(self) -> Iterator[Any]:
        return reversed(list(self.real.iterdir()))


class _Package:
    def __init__(self, real: Any) -> None:
        self.real = real

    def joinpath(self, name: str) -> Any:
        return _ShuffledDir(self.real.joinpath(name))


def test_the_language_order_does_not_depend_on_the_file_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = list(load_catalogues())
    real_files = resources.files
    monkeypatch.setattr(resources, "files", lambda package: _Package(real_files(package)))
    assert list(load_catalogues()) == here


# -- every screen, worst case (gateway/catalogues/tour.py, shared with the CLI) ------


@pytest.fixture
def make_tour() -> Any:
    return lambda language, limit: Tour.of(CATALOGUES, language, limit)


# The summary repeats the head's full name (up to 40 + 40 letters): its heading pages
# like a list, so it needs no exception below; it is also checked on its own.
SUMMARY = "enrol.summary"


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_fits_unclipped_with_the_longest_data(
    make_tour: Any, language: str, limit: int
) -> None:
    tour: Tour = make_tour(language, limit)
    tour_everything(tour)

    assert screen_nodes() - {shown.node for shown in tour.shown} == set()
    clipped: list[tuple[str, str]] = []
    for shown in tour.shown:
        for page in shown.pages:
            assert gsm.fits(page.body, limit), (shown.node, page.body)
            assert gsm.is_gsm7(page.body) or language not in ("fr", "en"), page.body
            if page.clipped:
                clipped.append((shown.node, page.body))
    assert clipped == []
    paged = {shown.node for shown in tour.shown if len(shown.pages) > 1}
    assert {"enrol.mutual", "rights.show"} <= paged  # the worst case did reach paging


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_summary_with_the_longest_names_keeps_confirm_and_cancel(
    make_tour: Any, language: str, limit: int
) -> None:
    tour: Tour = make_tour(language, limit)
    enrol_to_summary(tour, wrong_first=False)
    summary = tour.shown[-1]
    assert summary.node == SUMMARY
    catalogue = CATALOGUES[language]
    navigation = {catalogue.render(T(key)) for key in ("nav_more", "nav_last_page", "nav_back")}
    lines = [line for page in summary.pages for line in page.body[4:].split("\n")]
    content = [line for line in lines if line not in navigation]
    options = [f"1. {catalogue.render(T('confirm'))}", f"2. {catalogue.render(T('cancel'))}"]
    # the heading's lines page like the options: every one of them whole, in order: the
    # household, each of its 16 persons with their price, the total, then the options
    assert len(content) == 1 + LARGEST_HOUSEHOLD + 1 + len(options)
    assert content[-2:] == options
    assert content[0].startswith(parsers.display_name(LONG_FAMILY_NAME.upper()) + ",")
    assert content[1].startswith(parsers.display_name(LONG_FIRST_NAMES) + " ")
    assert not any(page.clipped for page in summary.pages)
    assert summary.pages[-1].body.endswith("\n" + catalogue.render(T("nav_last_page"))) or (
        len(summary.pages) == 1
    )


def test_the_limits_checked_here_are_the_only_ones_the_gateway_takes() -> None:
    from gateway.settings import ConfigError, Settings

    for limit in LIMITS:
        assert Settings.from_env({"USSD_MAX_CHARS": str(limit)}).ussd_max_chars == limit
    assert Settings.from_env({}).ussd_max_chars in LIMITS
    for outside in (min(LIMITS) - 1, max(LIMITS) + 1, 60):
        with pytest.raises(ConfigError, match="USSD_MAX_CHARS"):
            Settings.from_env({"USSD_MAX_CHARS": str(outside)})
