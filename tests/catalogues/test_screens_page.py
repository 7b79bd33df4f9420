"""`alafia screens` (gateway/catalogues/screens_page.py): docs/screens.md, every screen
of every journey in French and English with its length; `--check` fails when stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import cli
from gateway.catalogues import screens_page
from menus.journeys import all_journeys


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))


def test_the_page_is_written_then_checked_and_a_stale_one_fails(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "screens.md"
    assert cli.main(["screens", "--output", str(path)]) == 0
    text = path.read_text("utf-8")
    for journey in all_journeys():
        assert f"\n## {journey.name}\n" in text
    # French and English side by side, with a length, for the first question asked
    assert "### `main.language`" in text
    assert "**fr**" in text and "**en**" in text and " characters" in text
    assert "Tapez le numéro d'un choix, ex: 1" in text  # a wrong answer's screen too
    assert "Type the number of a choice, e.g. 1" in text
    assert cli.main(["screens", "--check", "--output", str(path)]) == 0
    path.write_text(text.replace("Tapez", "Tape", 1), "utf-8")
    assert cli.main(["screens", "--check", "--output", str(path)]) == 1
    assert "stale" in capsys.readouterr().out


def test_marks_say_when_a_page_is_close_to_the_limit_or_over() -> None:
    assert screens_page.mark(100, clipped=False) == ""
    assert "close" in screens_page.mark(screens_page.LIMIT - 2, clipped=False)
    assert "over" in screens_page.mark(screens_page.LIMIT + 1, clipped=False)
    assert "cut" in screens_page.mark(120, clipped=True)
    assert screens_page.mark(screens_page.LIMIT - 2, clipped=False, paged=True) == ""
