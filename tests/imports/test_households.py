"""`alafia import households`: a spreadsheet of households, as a district office sends it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import models
from gateway import cli
from gateway.imports.households_csv import validate
from gateway.imports.rows import SchemeRules
from gateway.imports.table import FileProblem, read_table
from gateway.settings import Settings
from tests.conftest import TODAY

HEADER_FR = "Ménage;Nom;Prénoms;Sexe;Date de naissance;Lien;Téléphone;NPI;Activité;Village"
KANDI_FILE = [
    HEADER_FR,
    "1;houngbo;afi;F;15/04/1988;chef;97 00 00 01;1234567890;Agriculteur;Gando",
    "1;HOUNGBO;jean-marc;H;2016;enfant;;;;",
    "1;Houngbo;Ella;F;2019-06-02;fille;;;;",
    "2;ADJOVI;Koffi;M;1980;chef;+229 01 97 00 00 02;;trader;",
    "2;ADJOVI;Rose;F;01/01/1985;conjointe;0197000002;;;",
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, clean: None) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


def write(tmp_path: Path, lines: list[str], name: str = "menages.csv", **encoding: str) -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding=encoding.get("encoding", "utf-8"))
    return path


def run(path: Path, *options: str) -> int:
    return cli.main(["import", "households", str(path), *options])


def count(db: Session, model: type[models.Base]) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_a_valid_file_imports_every_household_whole(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, KANDI_FILE, encoding="cp1252")  # Excel on a French Windows

    assert run(path, "--mutual", "MS-KANDI", "--by", "cli:amina") == 0

    out = capsys.readouterr().out
    assert "read as Windows-1252" in out and "separator ';'" in out
    assert "5 rows read: 2 households imported (5 members), 0 already there" in out
    households = db.scalars(select(models.Household).order_by(models.Household.id)).all()
    assert [(h.phone, h.channel, h.village, h.commune) for h in households] == [
        ("+2290197000001", "import", "Gando", "Kandi"),
        ("+2290197000002", "import", None, "Kandi"),
    ]
    first = households[0].members
    assert [(m.last_name, m.first_names, m.relationship_to_head) for m in first] == [
        ("HOUNGBO", "Afi", "head"),
        ("HOUNGBO", "Jean-Marc", "child"),
        ("HOUNGBO", "Ella", "child"),
    ]
    assert (first[0].national_id, first[0].occupation, first[0].sex) == (
        "1234567890",
        "farmer",
        "F",
    )
    assert (first[1].birth_year, first[1].birth_year_only, first[1].sex) == (2016, True, "M")
    assert str(first[2].birth_date) == "2019-06-02"
    assert households[1].members[1].relationship_to_head == "spouse"
    assert households[1].members[0].occupation == "trader"
    # What the enrolment service writes with each household, and our audit entry.
    assert count(db, models.CoveragePeriod) == 2
    assert count(db, models.Message) == 2
    assert count(db, models.RegisterEvent) == 2
    entries = db.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id)).all()
    assert [(e.actor, e.action, e.household_id, e.member_no, e.details) for e in entries] == [
        (
            "cli:amina",
            "household_imported",
            households[0].id,
            first[0].member_no,
            {"file": "menages.csv", "line": 2, "persons": 3},
        ),
        (
            "cli:amina",
            "household_imported",
            households[1].id,
            households[1].members[0].member_no,
            {"file": "menages.csv", "line": 5, "persons": 2},
        ),
    ]


def test_a_file_with_errors_imports_only_its_valid_households(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        [
            "household,last_name,first_names,sex,birth_date,relationship,phone",
            "A,KORA,Issa,M,1975,head,97000011",
            "A,KORA,Awa,F,31/02/1980,spouse,",  # no such day: household A held back whole
            "B,SABI,Bio,M,1970,head,97000012",
            "B,SABI,Gado,X,2010,child,",
            "C,DAFIA,Zime,M,1960,child,97000013",  # no head
            "D,YAROU,Sale,M,1966,head,97000014",
            "D,YAROU,Bake,M,1990,head,",  # two heads
            "E,GOUDA,Alou,M,1970,head,97000015",
            "E,GOUDA,Sika,F,2012,child,97000016",  # another phone
            "F,BIO,Orou,M,1972,head,",  # no phone
            "G,SEKO,Baké,M,1971,head,97000017",  # the one valid household
            ",NOBODY,Lost,M,1990,head,97000018",
        ],
    )

    assert run(path, "--mutual", "MS-KANDI") == 1

    out = capsys.readouterr().out
    for expected in (
        'household "A", lines 2-3:',
        'line 3, column "birth_date": "31/02/1980" is not a birth date',
        'line 5, column "sex": "X": expected M or F',
        'line 6, column "relationship": no head of household',
        'line 8, column "relationship": a second head (the first is on line 7)',
        'line 10, column "phone": a household has one phone',
        'line 11, column "phone": empty: the head\'s row gives the phone',
        'line 13, column "household": empty: which household?',
        "12 rows read: 1 households imported (1 members), 0 already there, 7 skipped for errors",
    ):
        assert expected in out, expected
    assert [m.last_name for m in db.scalars(select(models.Member))] == ["SEKO"]
    assert count(db, models.AuditEntry) == 1


def test_the_same_file_twice_creates_nothing_twice(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, KANDI_FILE)
    assert run(path, "--mutual", "MS-KANDI") == 0
    capsys.readouterr()

    assert run(path, "--mutual", "MS-KANDI") == 0

    assert "0 households imported (0 members), 2 already there (2 from an earlier run)" in (
        capsys.readouterr().out
    )
    assert (count(db, models.Household), count(db, models.Member)) == (2, 5)
    assert (count(db, models.Message), count(db, models.AuditEntry)) == (2, 2)


def test_two_files_numbering_households_alike_do_not_collide(
    env: Settings, db: Session, tmp_path: Path
) -> None:
    header = "menage;nom;prenoms;sexe;date_naissance;lien;telephone"
    village_a = write(tmp_path, [header, "1;ALI;Moussa;M;1980;chef;97000021"], "a.csv")
    village_b = write(tmp_path, [header, "1;BONI;Yacoubou;M;1982;chef;97000022"], "b.csv")

    assert run(village_a, "--mutual", "MS-KANDI") == 0
    assert run(village_b, "--mutual", "MS-KANDI") == 0

    assert count(db, models.Household) == 2


def test_a_family_enrolled_another_way_is_reported_not_enrolled_again(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "menage;nom;prenoms;sexe;date_naissance;lien;telephone"
    first = write(tmp_path, [header, "7;ALI;Moussa;M;1980;chef;97000021"], "first.csv")
    assert run(first, "--mutual", "MS-KANDI") == 0
    # Another office's file, its own numbering, the same family (by phone, name, year).
    again = write(tmp_path, [header, "12;Ali;moussa;H;01/05/1980;chef;0197000021"], "again.csv")
    capsys.readouterr()

    assert run(again, "--mutual", "MS-KANDI") == 0

    out = capsys.readouterr().out
    assert 'household "12", line 2: already enrolled, head\'s member number' in out
    assert count(db, models.Household) == 1


def test_an_invalid_household_phone_is_said_clearly_and_changes_nothing(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "menage;nom;prenoms;sexe;date_naissance;lien;telephone"
    path = write(
        tmp_path,
        [header, "1;ALI;Moussa;M;1980;chef;12345", "2;BONI;Yaya;M;1980;chef;197000022"],
    )

    assert run(path, "--mutual", "MS-KANDI") == 1

    out = capsys.readouterr().out
    assert 'line 2, column "telephone": "12345" is not a valid phone number' in out
    assert "a leading 0 was lost? format the column as text" in out
    assert count(db, models.Household) == 0 and count(db, models.Message) == 0


def test_products_must_be_named_where_a_mutual_has_several_and_caps_hold(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        [
            "household;last_name;first_names;sex;birth_date;relationship;phone;product;category",
            "1;ALI;Moussa;M;1980;head;97000031;;",
            "2;BONI;Yaya;M;2012;head;97000032;scolaire;",
            "2;BONI;Ada;F;2014;child;;;",
            "3;SABI;Awa;F;1990;head;97000033;FAMILLE;Indigent",
            "4;GADO;Issa;M;1990;head;97000034;OR;",
        ],
    )

    assert run(path, "--mutual", "MS-PARAKOU") == 1

    out = capsys.readouterr().out
    assert 'line 2, column "product": MS-PARAKOU offers FAMILLE, SCOLAIRE: say which' in out
    assert "line 3: 2 persons: SCOLAIRE takes at most 1" in out
    assert '"OR" is not a product of MS-PARAKOU (FAMILLE, SCOLAIRE)' in out
    (household,) = db.scalars(select(models.Household)).all()
    assert (household.category, household.product.code) == ("indigent", "FAMILLE")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"nom,prenoms\nALI,Moussa\n", "missing column(s): household|menage"),
        (
            b"menage;nom;prenoms;sexe;naissance;lien;telephone;npii\n1;A;B;M;1990;chef;1\n",
            'column 8 "npii" is not a column we know',
        ),
        (b"PK\x03\x04\x14\x00", "this is an Excel workbook (.xlsx), not CSV"),
        (b"", "the file is empty"),
        (b"menage;nom;prenoms;sexe;naissance;lien;telephone\n", "a header but no rows"),
    ],
)
def test_a_file_we_cannot_use_is_reported_without_a_traceback(
    env: Settings,
    db: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    said: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    assert run(path, "--mutual", "MS-KANDI") == 2

    err = capsys.readouterr().err
    assert "not imported, nothing changed" in err and said in err
    assert "Traceback" not in err
    assert count(db, models.Household) == 0


def test_an_unknown_mutual_or_a_missing_file_is_a_file_problem(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, KANDI_FILE)
    assert run(path, "--mutual", "MS-NOWHERE") == 2
    assert run(tmp_path / "missing.csv", "--mutual", "MS-KANDI") == 2
    err = capsys.readouterr().err
    assert "MS-NOWHERE: no mutual has this code" in err and "cannot be read" in err


def test_a_dry_run_reports_and_writes_nothing(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, KANDI_FILE)

    assert run(path, "--mutual", "MS-KANDI", "--dry-run") == 0

    assert "Dry run, nothing written: 5 rows read, 2 households valid (5 members)" in (
        capsys.readouterr().out
    )
    assert count(db, models.Household) == 0


def test_the_progress_bar_goes_to_stderr_when_asked_and_logs_keep_no_names(
    env: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write(tmp_path, KANDI_FILE)
    caplog.set_level(logging.DEBUG)

    assert run(path, "--mutual", "MS-KANDI", "--progress") == 0

    assert "2/2" in capsys.readouterr().err
    assert "HOUNGBO" not in caplog.text and "97000001" not in caplog.text


def rules(**changes: object) -> SchemeRules:
    base: dict[str, object] = {
        "mutual_code": "MS-KANDI",
        "products": {"FAMILLE": 12},
        "occupations": {"farmer": "farmer"},
        "today": TODAY,
    }
    return SchemeRules(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "stored", "year_only"),
    [
        ("15/04/1988", "1988-04-15", False),
        ("15-04-1988", "1988-04-15", False),
        ("1988-04-15", "1988-04-15", False),
        ("1988-4-5", "1988-04-05", False),
        ("15/04/1988 00:00", "1988-04-15", False),  # a date cell, as Excel exports it
        ("1988", "1988-01-01", True),
    ],
)
def test_birth_dates_as_spreadsheets_write_them(written: str, stored: str, year_only: bool) -> None:
    table = read_table(
        f"menage;nom;prenoms;sexe;naissance;lien;tel\n1;ALI;Issa;M;{written};chef;97000001\n".encode()
    )

    (household,) = validate(table, rules()).households

    assert (household.request.head.birth_date, household.request.head.birth_year_only) == (
        stored,
        year_only,
    )


@pytest.mark.parametrize("written", ["2030", "31/02/1988", "1888", "88", "1988-13-01", "hier"])
def test_birth_dates_we_refuse(written: str) -> None:
    table = read_table(
        f"menage;nom;prenoms;sexe;naissance;lien;tel\n1;ALI;Issa;M;{written};chef;97000001\n".encode()
    )

    (rejected,) = validate(table, rules()).rejected

    assert [p.column for p in rejected.problems] == ["naissance"]


def test_utf8_with_a_bom_commas_and_quoted_fields_keep_their_line_numbers() -> None:
    content = (
        "\ufeffHousehold,Last name,First names,Sex,Birth date,Relationship,Phone\r\n"
        '1,ALI,"Issa\r\nMoussa",M,1980,head,97000001\r\n'  # a line break inside a cell
        "1,ALI,Awa,X,1982,spouse,\r\n"
    ).encode()

    table = read_table(content)
    validation = validate(table, rules())

    assert (table.encoding, table.delimiter) == ("UTF-8", ",")
    assert [row.line for row in table.rows] == [2, 4]
    (rejected,) = validation.rejected
    assert [(p.line, p.column) for p in rejected.problems] == [(4, "Sex")]


def test_bytes_that_are_no_text_at_all_are_refused() -> None:
    with pytest.raises(FileProblem, match="binary data"):
        read_table(b"menage;nom\x00;prenoms\n")
