"""`alafia catalogue check`: the shipped catalogues pass (CI runs it); an installed one
that is broken fails it, with every problem listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway import cli
from gateway.catalogues import installed
from gateway.catalogues.checks import check_texts
from menus.text import Catalogue
from tests.catalogues.toned import CODE, toned_texts

SCREENS_FR = installed.shipped(installed.SCREENS)["fr"]
SMS_FR = installed.shipped(installed.SMS)["fr"]


@pytest.fixture
def catalogues_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CATALOGUES_DIR", str(tmp_path / "catalogues"))
    return tmp_path / "catalogues"


def install(folder: Path, part: str, language: str, texts: object) -> None:
    (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / part / f"{language}.json").write_text(json.dumps(texts), "utf-8")


def test_the_shipped_catalogues_pass(
    catalogues_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["catalogue", "check"]) == 0
    assert "every catalogue is complete" in capsys.readouterr().out


def test_a_broken_installed_catalogue_fails_with_every_problem(
    catalogues_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    screens = toned_texts(SCREENS_FR, _status="reviewed")  # by nobody named
    del screens["ask_mutual"]
    screens["rights_none"] = "ɔ {member_no} {nobody}"
    screens["home_title"] = "ߒ" * 120  # fits no screen, whatever the encoding
    install(catalogues_dir, "screens", CODE, screens)
    # its SMS texts are missing; another language's file is not JSON; one shadows French
    (catalogues_dir / "screens" / "yo.json").write_text("{not json", "utf-8")
    install(catalogues_dir, "sms", "fr", {"enrolled": "?"})

    assert cli.main(["catalogue", "check"]) == 1
    err = capsys.readouterr().err
    for expected in (
        "qaa screens ask_mutual: missing",
        "qaa screens rights_none: fields differ from French",
        "qaa screens _reviewed_by: reviewed, but by whom?",
        "qaa sms: no catalogue of SMS texts",
        "yo screens: ",
        "not a readable JSON catalogue",
        "fr sms: ",
        "would replace the shipped catalogue: ignored",
    ):
        assert expected in err, expected
    # the screens are toured once the keys and fields are right: then the long title shows
    screens["ask_mutual"] = "ɔ"
    screens["rights_none"] = SCREENS_FR.texts["rights_none"]
    install(catalogues_dir, "screens", CODE, screens)
    assert cli.main(["catalogue", "check"]) == 1
    assert "qaa screens: screen main.home does not fit 160" in capsys.readouterr().err


def test_a_gsm7_catalogue_must_be_written_in_gsm7() -> None:
    screens = Catalogue(CODE, toned_texts(SCREENS_FR, _encoding="gsm7"))
    problems = [str(p) for p in check_texts(SCREENS_FR, screens, "screens")]
    assert "qaa screens nav_back: not GSM-7: 'ɔɛ'" in problems
    sms = Catalogue(CODE, {**SMS_FR.texts, "_encoding": "gsm7"})
    assert check_texts(SMS_FR, sms, "sms") == []


def test_the_gateway_leaves_out_a_catalogue_a_phone_would_meet_a_missing_text_in(
    catalogues_dir: Path,
) -> None:
    whole = toned_texts(SCREENS_FR, _status="reviewed", _reviewed_by="A. Speaker")
    install(catalogues_dir, "screens", CODE, whole)
    install(catalogues_dir, "screens", "qab", {k: v for k, v in whole.items() if k != "cancel"})
    install(catalogues_dir, "screens", "qac", {**whole, "rights_none": "ɔ {nobody}"})
    found = installed.catalogues(installed.SCREENS, catalogues_dir)
    assert sorted(found) == ["en", "fr", CODE]
