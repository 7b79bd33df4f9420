"""PO files as translators' tools write them back: wrapped lines, escapes, fuzzy flags."""

from __future__ import annotations

import pytest

from gateway.catalogues import po

WRAPPED = r"""# translator-comments
msgid ""
msgstr ""
"Language: qaa\n"
"X-Generator: Poedit 3.4\n"

#. Where: USSD screen enrol.summary
#: screens
msgctxt "screens:enrol_summary"
msgid ""
"{name}, {persons} pers.\n"
"{product}"
msgstr ""
"{name}, {persons} mɛ\n"
"{product} \"ɔ\""
#, fuzzy
msgctxt "screens:cancel"
msgid "Annuler"
msgstr "Guess"
"""


def test_wrapped_lines_escapes_flags_and_notes_are_read() -> None:
    header, entries = po.read(WRAPPED)
    assert header == {"Language": "qaa", "X-Generator": "Poedit 3.4"}
    summary, cancel = entries
    assert summary.context == "screens:enrol_summary"
    assert summary.source == "{name}, {persons} pers.\n{product}"
    assert summary.translation == '{name}, {persons} mɛ\n{product} "ɔ"'
    assert summary.notes == ["Where: USSD screen enrol.summary"] and not summary.fuzzy
    assert cancel.fuzzy and cancel.translation == "Guess"


def test_what_is_written_reads_back_the_same() -> None:
    entries = [po.Entry("sms:x", 'a "b"\n\tc\\', "ɛ́\n", ["Budget: 3"], fuzzy=True)]
    header, back = po.read(po.write({"Language": "qaa"}, entries))
    assert header == {"Language": "qaa"}
    assert [(e.context, e.source, e.translation, e.notes, e.fuzzy) for e in back] == [
        ("sms:x", 'a "b"\n\tc\\', "ɛ́\n", ["Budget: 3"], True)
    ]


def test_a_string_after_a_blank_line_is_a_problem_named_by_its_line_not_a_crash() -> None:
    stray = 'msgctxt "screens:cancel"\nmsgid "Annuler"\nmsgstr "x"\n\n"stray"\n'
    with pytest.raises(ValueError, match=r"^line 5: a string outside any entry$"):
        po.read(stray)
