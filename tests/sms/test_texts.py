"""The words of every SMS: the same templates in every language, French and English
inside GSM-7, one segment each with realistic values, and segments counted as the
aggregator bills them."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.catalogues.checks import MEMBER_LISTS
from gateway.catalogues.worst_case import SMS_VALUES
from gateway.sms.outbox import Outbox
from gateway.sms.texts import SmsTexts
from menus import gsm

TEXTS = SmsTexts.load("fr", "*384*22#")
# The longest values a template meets in the field (shared with `alafia catalogue check`).
WORST = SMS_VALUES


def test_every_language_has_every_template() -> None:
    keys = {language: set(c.texts) for language, c in TEXTS.catalogues.items()}
    assert keys["fr"] == keys["en"]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "template",
    sorted(set(TEXTS.catalogues["fr"].texts) - {"date_format", "money", "thousands_separator"}),
)
def test_each_template_is_one_gsm7_segment_with_the_longest_values(
    language: str, template: str
) -> None:
    """One segment each; the texts that list a household's members, two (their list is
    cut to fit two by gateway/sms/enrolment.py)."""
    words = TEXTS.word(language, template, WORST)
    assert gsm.is_gsm7(words), words
    assert gsm.segments(words) == (2 if template in MEMBER_LISTS else 1), (len(words), words)


@pytest.mark.parametrize(
    ("words", "encoding", "segments"),
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # two septets each: 160
        ("€" * 81, "gsm7", 2),
        ("a" * 152 + "€", "gsm7", 1),
        ("a" * 153 + "€" * 4, "gsm7", 2),  # an escape pair never straddles two parts
        ("ɔ" * 70, "ucs2", 1),
        ("ɔ" * 71, "ucs2", 2),
        ("ɔ" * 134, "ucs2", 2),
        ("ɔ" * 135, "ucs2", 3),
        ("🙂" * 35, "ucs2", 1),  # surrogate pairs: two units each
        ("🙂" * 36, "ucs2", 2),
    ],
)
def test_segments_are_counted_as_the_aggregator_bills_them(
    words: str, encoding: str, segments: int
) -> None:
    assert (gsm.encoding_of(words), gsm.segments(words)) == (encoding, segments)


def test_a_name_with_letters_outside_gsm7_is_folded_to_keep_one_segment() -> None:
    message = Outbox.standard().message(
        phone="+2290197000701",
        language="fr",
        purpose="campaign",
        template="campaign_enrol",
        params={"mutual": "Mutuelle de Kpɔ̀mɛ"},
        now=datetime(2026, 11, 23, 10),
    )
    assert "Mutuelle de Kpome" in message.text
    assert (message.encoding, message.segments) == ("gsm7", 1)


def test_a_name_with_no_gsm7_likeness_is_measured_in_ucs2_when_queued() -> None:
    message = Outbox.standard().message(
        phone="+2290197000701",
        language="fr",
        purpose="campaign",
        template="campaign_enrol",
        params={"mutual": "ⵜⴰⵎⴰⵣⵉⵖⵜ " * 8},
        now=datetime(2026, 11, 23, 10),
    )
    assert message.encoding == "ucs2" and message.segments == 3  # kept as written


def test_an_unknown_language_falls_back_to_the_default() -> None:
    assert TEXTS.word("yo", "reply_stop", {}) == TEXTS.word("fr", "reply_stop", {})
