"""A language's round trip through a translator, as a mutual runs it:
`alafia catalogue export`, a translated PO file, `alafia catalogue import`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway import cli
from gateway.catalogues import installed, po
from tests.catalogues.toned import CODE, toned

SCREENS_FR = installed.shipped(installed.SCREENS)["fr"]
SMS_FR = installed.shipped(installed.SMS)["fr"]


@pytest.fixture
def catalogues_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CATALOGUES_DIR", str(tmp_path / "catalogues"))
    monkeypatch.delenv("DRAFT_LANGUAGES", raising=False)
    return tmp_path / "catalogues"


def export(tmp_path: Path, *extra: str) -> tuple[dict[str, str], list[po.Entry]]:
    out = tmp_path / f"{CODE}.po"
    assert cli.main(["catalogue", "export", "--language", CODE, "--output", str(out), *extra]) == 0
    return po.read(out.read_text("utf-8"))


def translated(entries: list[po.Entry]) -> list[po.Entry]:
    """What a translator sends back: here the French written with ɔ, ɛ and tone marks."""
    for entry in entries:
        key = entry.context.partition(":")[2]
        if key in ("date_format", "money", "thousands_separator"):
            entry.translation = entry.source
        elif key == "language_name":
            entry.translation = "Essai"
        else:
            entry.translation = toned(entry.source)
    return entries


def write_po(path: Path, entries: list[po.Entry]) -> Path:
    path.write_text(po.write({"Language": CODE}, entries), "utf-8")
    return path


def test_export_lists_every_key_with_its_source_where_it_appears_and_its_budget(
    tmp_path: Path, catalogues_dir: Path
) -> None:
    header, entries = export(tmp_path)
    assert header["Language"] == CODE and header["X-Alafia-Encoding"] == "ucs2"
    by_context = {entry.context: entry for entry in entries}
    expected = {f"screens:{k}" for k in SCREENS_FR.texts} | {f"sms:{k}" for k in SMS_FR.texts}
    assert set(by_context) == expected
    assert all(entry.source == SCREENS_FR.texts[key] for key, entry in _screens(by_context))
    assert all(entry.translation == "" for entry in entries)  # nothing invented
    # where: derived from the journeys; budget: in the language's encoding
    ask = by_context["screens:ask_head_name"]
    assert any("enrol.head_name" in note for note in ask.notes)
    assert any(note.startswith("Budget: ") and "UCS2" in note for note in ask.notes)
    assert any("SMS 'enrolled'" in note for note in by_context["sms:enrolled"].notes)
    # the same file for a language written in GSM-7 gives twice the room or so
    _, folded = export(tmp_path, "--encoding", "gsm7")
    assert (
        _budget(folded, "screens:ask_head_name")
        > 2 * _budget(entries, "screens:ask_head_name") - 10
    )


def _screens(by_context: dict[str, po.Entry]) -> list[tuple[str, po.Entry]]:
    return [(c.partition(":")[2], e) for c, e in by_context.items() if c.startswith("screens:")]


def _budget(entries: list[po.Entry], context: str) -> int:
    [entry] = [e for e in entries if e.context == context]
    [note] = [n for n in entry.notes if n.startswith("Budget: ")]
    return int(note.split()[1])


def test_round_trip_a_draft_then_reviewed_and_exported_again(
    tmp_path: Path, catalogues_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, entries = export(tmp_path)
    path = write_po(tmp_path / "back.po", translated(entries))
    assert cli.main(["catalogue", "import", str(path)]) == 0
    screens = json.loads((catalogues_dir / "screens" / f"{CODE}.json").read_text("utf-8"))
    sms = json.loads((catalogues_dir / "sms" / f"{CODE}.json").read_text("utf-8"))
    assert screens["_status"] == sms["_status"] == "draft"
    assert screens["_encoding"] == "ucs2"
    assert screens["ask_head_name"] == toned(SCREENS_FR.texts["ask_head_name"])
    assert "ɛ\u0301" in "".join(screens.values())
    assert set(sms) - {"_status", "_encoding"} == set(SMS_FR.texts)
    # installed now: the gateway reads it, and a new export carries its translations
    assert CODE in installed.catalogues(installed.SCREENS, catalogues_dir)
    _, again = export(tmp_path)
    assert {e.context: e.translation for e in again} == {
        e.context: e.translation for e in translated(entries)
    }
    # a speaker reviewed it: imported again, no longer a draft
    args = ["catalogue", "import", str(path), "--reviewed-by", "A. Speaker"]
    assert cli.main(args) == 0
    screens = json.loads((catalogues_dir / "screens" / f"{CODE}.json").read_text("utf-8"))
    assert (screens["_status"], screens["_reviewed_by"]) == ("reviewed", "A. Speaker")
    assert "reviewed" in capsys.readouterr().out


def test_a_folded_import_is_written_in_gsm7(tmp_path: Path, catalogues_dir: Path) -> None:
    _, entries = export(tmp_path)
    path = write_po(tmp_path / "back.po", translated(entries))
    out = tmp_path / "elsewhere"
    assert cli.main(["catalogue", "import", str(path), "--fold", "--output", str(out)]) == 0
    screens = json.loads((out / "screens" / f"{CODE}.json").read_text("utf-8"))
    assert screens["_encoding"] == "gsm7"
    assert screens["nav_back"] == "0 Retour"  # ɔ back to o, the tone mark dropped
    assert not (catalogues_dir / "screens").exists()


def test_every_problem_of_a_file_is_reported_at_once_and_nothing_is_written(
    tmp_path: Path, catalogues_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, entries = export(tmp_path)
    entries = translated(entries)
    by_context = {entry.context: entry for entry in entries}
    by_context["screens:ask_mutual"].translation = ""  # untranslated
    by_context["screens:cancel"].fuzzy = True  # a guess nobody checked
    by_context["screens:enrol_summary_head"].translation = "ɔ {family}"  # fields dropped
    by_context["sms:receipt"].translation += " {receipt_number}"  # a field invented
    by_context["screens:error_choose_number"].translation = "{n"  # braces that do not pair
    by_context["screens:menu_enrol"].source = "Adhérer (ancien texte)"  # French changed
    by_context["screens:home_title"].translation = "ߒ" * 120  # too long in any encoding
    unknown = po.Entry("screens:no_such_key", "?", "ɔ")
    path = write_po(tmp_path / "bad.po", [*entries, unknown])

    assert cli.main(["catalogue", "import", str(path)]) == 2
    err = capsys.readouterr().err
    for expected in (
        "qaa screens ask_mutual: missing",
        "qaa screens cancel: missing",
        "qaa screens enrol_summary_head: fields differ from French: lacks ",
        "qaa sms receipt: fields differ from French: has unknown {receipt_number}",
        "qaa screens error_choose_number: braces do not pair",
        "qaa screens menu_enrol: line ",
        "the French text changed since the export",
        "qaa screens no_such_key: unknown key",
        "not imported: ",
    ):
        assert expected in err, expected
    assert not catalogues_dir.exists()


def test_a_screen_too_long_is_reported_with_the_keys_on_it(
    tmp_path: Path, catalogues_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, entries = export(tmp_path)
    entries = translated(entries)
    [home] = [e for e in entries if e.context == "screens:home_title"]
    home.translation = "ߒ" * 120  # N'Ko: no Latin letter to fold into
    assert cli.main(["catalogue", "import", str(write_po(tmp_path / "x.po", entries))]) == 2
    err = capsys.readouterr().err
    assert "screen main.home does not fit 160 characters (UCS2)" in err
    assert "screen main.home does not fit 182 characters (UCS2)" in err
    assert "home_title" in err.split("main.home does not fit 160")[1].split("\n")[0]


def test_a_file_that_is_not_po_is_refused_with_its_line(
    tmp_path: Path, catalogues_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.po"
    path.write_text('msgid ""\nmsgstr ""\n\nmsgctxt "screens:cancel"\nmsgid "Annuler\n', "utf-8")
    assert cli.main(["catalogue", "import", str(path), "--language", CODE]) == 2
    assert "line 5: a string in double quotes was expected" in capsys.readouterr().err


def test_an_incomplete_installed_language_exports_with_what_it_has(
    tmp_path: Path, catalogues_dir: Path
) -> None:
    (catalogues_dir / "screens").mkdir(parents=True)
    partial = {"_status": "draft", "cancel": "ɔ", "language_name": "Essai"}
    (catalogues_dir / "screens" / f"{CODE}.json").write_text(json.dumps(partial), "utf-8")
    _, entries = export(tmp_path)
    found = {e.context: e.translation for e in entries if e.translation}
    assert found == {"screens:cancel": "ɔ", "screens:language_name": "Essai"}
