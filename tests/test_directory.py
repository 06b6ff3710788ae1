"""The employee directory: English and French headers, flags, dates, whole-file validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rse_adoption.directory import parse_date, parse_flag, read_directory
from rse_adoption.errors import DataError
from rse_adoption.privacy import KeyCache

from .conftest import write

KEYS = KeyCache(b"test-secret")


def test_french_excel_export(tmp_path: Path) -> None:
    text = (
        "Matricule;Courriel;Site;Service;Date d'entrée;Date de sortie;Ambassadeur\r\n"
        "E1;Anne@Corp.fr;Lyon ;Ventes;01/02/2020;;oui\r\n"
        "E2;;Saint-Étienne;RH;2021-03-04;30/06/2026;non\r\n"
    )
    table = read_directory(write(tmp_path / "d.csv", text, "cp1252"), KEYS)
    rows = table.to_pylist()
    assert rows[0]["person_key"] == KEYS("anne@corp.fr")  # e-mail first, case-insensitive
    assert rows[0]["alt_key"] == KEYS("E1")
    assert rows[0]["site"] == "Lyon"
    assert rows[0]["hire_date"] == date(2020, 2, 1)
    assert rows[0]["is_ambassador"] is True
    assert rows[1]["person_key"] == KEYS("e2") and rows[1]["alt_key"] is None
    assert rows[1]["site"] == "Saint-Étienne"
    assert rows[1]["leave_date"] == date(2026, 6, 30)
    assert rows[1]["department"] == "RH"


def test_only_person_and_site_are_required(tmp_path: Path) -> None:
    table = read_directory(write(tmp_path / "d.csv", "user_id,location\n42,Paris\n"), KEYS)
    row = table.to_pylist()[0]
    assert (row["site"], row["is_ambassador"], row["hire_date"]) == ("Paris", False, None)


def test_ambassador_since_implies_the_flag(tmp_path: Path) -> None:
    table = read_directory(
        write(tmp_path / "d.csv", "email,site,ambassador since\na@x.fr,Lyon,2026-01-01\n"), KEYS
    )
    assert table.to_pylist()[0]["is_ambassador"] is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,department\nAnne,RH\n", "d.csv:1: directory header lacks user_id or email, site"),
        ("email,site\na@x.fr,\n", "d.csv:2: no site"),
        ("email,site\n,Lyon\n", "d.csv:2: no employee id or e-mail"),
        ("email,site,hire_date\na@x.fr,Lyon,31/31/2020\n", "d.csv:2: bad date '31/31/2020'"),
        ("email,site,ambassador\na@x.fr,Lyon,peut-être\n", "d.csv:2: bad yes/no value 'peut-être'"),
        (
            "email,site\na@x.fr,Lyon\nA@X.FR,Paris\n",
            "d.csv:3: person listed twice (first on line 2)",
        ),
        (
            "email,site\na@x.fr,Lyon,extra\nb@x.fr\n",
            "d.csv:2: expected 2 columns, found 3 (and 1 more bad rows)",
        ),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError) as info:
        read_directory(write(tmp_path / "d.csv", text), KEYS)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("oui", True),
        ("Non", False),
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("no", False),
        ("", False),
    ],
)
def test_flag_values(value: str, expected: bool) -> None:
    assert parse_flag(value) is expected


def test_dates_accept_iso_day_first_and_a_time_part() -> None:
    assert parse_date("2026-03-04") == date(2026, 3, 4)
    assert parse_date("04/03/2026") == date(2026, 3, 4)
    assert parse_date("04/03/2026 00:00:00") == date(2026, 3, 4)
    assert parse_date(" ") is None
