"""`rse-adoption status`: the store's content from the manifest, and the warnings a person
should act on."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from rse_adoption.config import Settings
from rse_adoption.status import store_status

from .conftest import write

DIRECTORY = (
    "email,site\n"
    + "".join(f"q{i}@x.fr,{'Quiet' if i < 6 else 'Busy'}\n" for i in range(12))
    + "".join(f"t{i}@x.fr,Tiny\n" for i in range(2))
)
EVENTS = (
    "timestamp,user,event_type\n"
    + "".join(f"2026-03-0{1 + i % 5}T09:00:00Z,q{i}@x.fr,post\n" for i in range(6, 12))
    + "yesterday,q6@x.fr,post\n"
)


def test_content_and_warnings(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert cli("directory", write(tmp_path / "d.csv", DIRECTORY)).exit_code == 0
    assert cli("ingest", write(tmp_path / "e.csv", EVENTS)).exit_code == 0
    status = store_status(Settings(data_dir=data), today=date(2026, 3, 20))
    assert (status.first_day, status.last_day) == ("2026-03-01", "2026-03-05")
    assert (status.files, status.rows, status.quarantined) == (1, 6, 1)
    assert status.directory is not None and status.directory["rows"] == 14
    codes = {w.code: w.message for w in status.warnings}
    assert set(codes) == {"stale_data", "site_without_activity", "quarantine"}
    assert "no activity after 2026-03-05 (15 days ago" in codes["stale_data"]
    assert codes["site_without_activity"].startswith("Quiet: no activity")
    assert "Tiny" not in " ".join(codes.values())  # 2 people: below the privacy threshold

    recent = store_status(Settings(data_dir=data), today=date(2026, 3, 6))
    assert "stale_data" not in {w.code for w in recent.warnings}
    later = store_status(Settings(data_dir=data), today=date.today() + timedelta(days=91))
    assert "stale_directory" in {w.code for w in later.warnings}  # loaded today

    shown = cli("status", "--json")
    assert shown.exit_code == 0 and shown.json()["rows"] == 6
    assert {w["code"] for w in shown.json()["warnings"]} >= {"quarantine"}
    text = cli("status")
    assert "6 from 2026-03-01 to 2026-03-05" in text.stdout and "warning" in text.stdout


def test_an_empty_store_says_what_to_do_and_a_missing_one_is_not_created(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "typo"
    result = cli("status", "--data-dir", missing)
    assert result.exit_code == 66 and not missing.exists()
    (tmp_path / "empty").mkdir()  # an empty folder is no store either: both commands say 66
    for command in ("status", "report"):
        empty = cli(command, "--data-dir", tmp_path / "empty")
        assert empty.exit_code == 66 and "no store here" in empty.stderr, command
    assert list((tmp_path / "empty").iterdir()) == []
    directory = write(tmp_path / "d.csv", "email,site\na@x.fr,Lyon\n")
    assert cli("directory", directory, "--data-dir", tmp_path / "dir-only").exit_code == 0
    codes = {
        w["code"]
        for w in cli("status", "--data-dir", tmp_path / "dir-only", "--json").json()["warnings"]
    }
    assert codes == {"no_data"}
    no_events = cli("report", "--data-dir", tmp_path / "dir-only")
    assert no_events.exit_code == 66 and "holds no events" in no_events.stderr
