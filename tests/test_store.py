"""Store guarantees: a killed ingest leaves the store as before a file or with it whole,
leftovers of a crash (half-written Parquet files) are never read and are cleaned, a second
writer gets exit 75, and an ingest can run while a report reads."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from rse_adoption import store
from rse_adoption.config import Settings
from rse_adoption.demo import event_batches, make_organisation
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.metrics import build_report

from .conftest import write


def consistent_rows(data_dir: Path) -> int:
    """Check the committed state reads back whole; return the number of stored events."""
    manifest = store.read_manifest(data_dir)
    files = [data_dir / p for p in manifest.event_paths()]
    for path in files:
        pq.read_metadata(path)  # raises on a half-written footer
    if not files:
        assert sum(e["rows_ingested"] for e in manifest.ledger) == 0
        return 0
    rows, keys = duckdb.execute(
        "SELECT count(*), count(DISTINCT (ts, user_key, event_type, space, content_id, target_user_key)) FROM read_parquet($files)",
        {"files": [str(f) for f in files]},
    ).fetchall()[0]
    assert rows == keys, "an event is stored twice"
    assert rows == sum(e["rows_ingested"] for e in manifest.ledger), "ledger and data disagree"
    assert rows == sum(f["rows"] for f in manifest.event_files)
    return int(rows)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four event files of about 60,000 rows each: long enough to be killed mid-way."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = tmp_path_factory.mktemp("exports")
    table = pa.concat_tables(event_batches(make_organisation(scale=2.0), rate_scale=2.0))
    step = table.num_rows // 4 + 1
    for i in range(4):
        pacsv.write_csv(table.slice(i * step, step), folder / f"part-{i}.csv")
    return folder


def run_ingest(exports: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rse_adoption.cli",
            "ingest",
            str(exports),
            "--data-dir",
            str(data_dir),
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_9_at_any_moment_leaves_a_consistent_store(exports: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert run_ingest(exports, reference).wait() == 0
    expected = consistent_rows(reference)
    assert expected > 100_000
    per_file = [e["rows_ingested"] for e in store.read_manifest(reference).ledger]
    whole_files = {sum(per_file[:k]) for k in range(len(per_file) + 1)}
    data_dir = tmp_path / "killed"
    states = set()
    for delay in (0.3, 0.8, 1.3, 1.8, 2.4, 3.0, 3.8):
        proc = run_ingest(exports, data_dir)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        states.add(consistent_rows(data_dir))
    assert run_ingest(exports, data_dir).wait() == 0
    assert consistent_rows(data_dir) == expected
    assert states <= whole_files, f"a file landed partly: {sorted(states)} vs {sorted(whole_files)}"
    assert not (data_dir / "tmp").exists()


def test_kill_9_during_reports_leaves_the_store_readable(exports: Path, tmp_path: Path) -> None:
    """A report only reads, except with --history, which commits a history file: killed at
    any moment, the store reads back whole, each history entry is a whole file, and the
    next report (and the next writer) proceed."""
    data_dir = tmp_path / "data"
    assert run_ingest(exports, data_dir).wait() == 0
    expected = consistent_rows(data_dir)
    command = [sys.executable, "-m", "rse_adoption.cli", "report", "--data-dir", str(data_dir)]
    for delay in (0.2, 0.5, 0.8, 1.1, 1.5):
        proc = subprocess.Popen(
            [*command, "--history", "--format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert consistent_rows(data_dir) == expected
        for entry in store.read_manifest(data_dir).history_files:
            assert pq.read_metadata(data_dir / entry["path"]).num_rows == entry["rows"]
    done = subprocess.run([*command, "--history", "--format", "json"], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert run_ingest(exports, data_dir).wait() == 0  # the next writer cleans up and goes on
    assert consistent_rows(data_dir) == expected


def test_two_ingests_at_once_one_waits_and_both_land(exports: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    files = sorted(exports.glob("*.csv"))
    first = run_ingest(exports, data_dir)  # all four files: several seconds
    deadline = time.monotonic() + 20
    while not (data_dir / "tmp").exists():  # the staging folder: the first holds the lock
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "rse_adoption.cli",
            "ingest",
            str(files[0]),
            "--data-dir",
            str(data_dir),
            "--wait",
            "120",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert first.wait() == 0 and second.returncode == 0, second.stderr
    assert consistent_rows(data_dir) == sum(
        e["rows_ingested"] for e in store.read_manifest(data_dir).ledger
    )
    # whichever ran first, the file shared by both runs is stored once
    assert len(store.read_manifest(data_dir).ledger) == 4


def test_half_written_files_of_a_crash_are_ignored_then_removed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", min_group_size=1)
    ingest_paths(
        [
            write(
                tmp_path / "a.csv",
                "timestamp,user,event_type,site\n2026-03-02T09:00:00Z,a@x.fr,post,Lyon\n",
            )
        ],
        settings,
    )
    good = settings.data_dir / store.read_manifest(settings.data_dir).event_paths()[0]
    orphan = settings.data_dir / "events" / "month=2026-03" / "crashed.parquet"
    orphan.write_bytes(good.read_bytes()[:-12])  # a Parquet file whose footer never made it
    (settings.data_dir / ".manifest.json.dead.tmp").write_text("{not json")
    assert build_report(settings).sites[0].segments.contributor == 1  # the orphan is not read
    ingest_paths(
        [
            write(
                tmp_path / "b.csv",
                "timestamp,user,event_type,site\n2026-03-03T09:00:00Z,b@x.fr,view,Lyon\n",
            )
        ],
        settings,
    )
    assert not orphan.exists()
    assert not list(settings.data_dir.glob(".manifest.json.*"))
    assert consistent_rows(settings.data_dir) == 2


def test_a_second_writer_exits_75(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    source = write(
        tmp_path / "a.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
    )
    with store.writing(tmp_path / "data"):
        result = cli("ingest", source)
        assert result.exit_code == 75
        assert "busy" in result.stderr
        directory = write(tmp_path / "d.csv", "email,site\na@x.fr,Lyon\n")
        assert cli("directory", directory).exit_code == 75
    assert cli("ingest", source).exit_code == 0


def test_ingest_during_a_report_keeps_the_reader_snapshot(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ingest_paths(
        [
            write(
                tmp_path / "a.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
            )
        ],
        settings,
    )
    with store.reading(settings.data_dir) as snapshot:
        ingest_paths(
            [
                write(
                    tmp_path / "b.csv",
                    "timestamp,user,event_type\n2026-03-03T09:00:00Z,b@x.fr,post\n",
                )
            ],
            settings,
        )
        assert all((settings.data_dir / p).exists() for p in snapshot.event_paths())
    assert consistent_rows(settings.data_dir) == 2


def test_secret_file_is_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ingest_paths(
        [
            write(
                tmp_path / "a.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
            )
        ],
        settings,
    )
    assert (settings.data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    stored = b"".join(p.read_bytes() for p in (settings.data_dir / "events").rglob("*.parquet"))
    assert b"a@x.fr" not in stored  # people are stored under pseudonymous keys only


def test_directory_replacement_is_atomic(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", write(tmp_path / "d1.csv", "email,site\na@x.fr,Lyon\n")).exit_code == 0
    first = store.read_manifest(tmp_path / "data").directory
    bad = cli("directory", write(tmp_path / "d2.csv", "email,site\nb@x.fr,Paris\nc@x.fr,\n"))
    assert bad.exit_code == 65
    assert store.read_manifest(tmp_path / "data").directory == first
    assert cli("directory", write(tmp_path / "d3.csv", "email,site\nb@x.fr,Paris\n")).exit_code == 0
    assert store.read_manifest(tmp_path / "data").directory["source_file"] == "d3.csv"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_input_is_reported(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "a.csv", "timestamp,user,event_type\n")
    path.chmod(0)
    assert cli("ingest", path).exit_code == 65


def test_disk_full_during_ingest_loses_nothing(
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n")
    assert cli("ingest", first).exit_code == 0
    data = tmp_path / "data"
    manifest = (data / "manifest.json").read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    second = tmp_path / "second.csv"
    second.write_text("timestamp,user,event_type\n2026-03-03T09:00:00Z,b@x.fr,post\n")
    result = cli("ingest", second)
    assert result.exit_code == 74
    assert "disk full" in result.stderr and "Traceback" not in result.stderr
    assert (data / "manifest.json").read_bytes() == manifest  # nothing half-committed
    monkeypatch.undo()
    monkeypatch.setenv("RSE_ADOPTION_DATA_DIR", str(data))
    retry = cli("ingest", second, "--json")
    assert retry.exit_code == 0 and retry.json()["rows_ingested"] == 1
