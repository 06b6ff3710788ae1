"""Generic event files: dialects, aliases, quarantine with line numbers, idempotence."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from rse_adoption.config import Settings
from rse_adoption.errors import RseError
from rse_adoption.ingest import dedupe
from rse_adoption.ingest import events as events_reader
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.store import read_manifest

from .conftest import write

PLAIN = """timestamp,user_id,event_type,site,space
2026-03-02T09:00:00Z,anne@corp.fr,post,Lyon,News
2026-03-02T10:00:00+01:00,bob@corp.fr,like,Lyon,News
2026-03-03T08:30:00,carla@corp.fr,view,Paris,
"""
# The same three events as a French Excel export: `;`, cp1252, day-first dates, local aliases.
FRENCH = """date;courriel;action;établissement;communauté
02/03/2026 09:00:00;ANNE@corp.fr;publication;Lyon;News
02/03/2026 09:00;bob@corp.fr;j'aime;Lyon;News
03/03/2026 08:30:00;carla@corp.fr;lecture;Paris;
"""


def events(settings: Settings) -> list[tuple[object, ...]]:
    manifest = read_manifest(settings.data_dir)
    files = [settings.data_dir / p for p in manifest.event_paths()]
    if not files:
        return []
    return duckdb.execute(
        "SELECT ts::VARCHAR, event_type, site, space FROM read_parquet($files) ORDER BY ts",
        {"files": [str(f) for f in files]},
    ).fetchall()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_plain_csv_with_aliases_and_offsets(tmp_path: Path, settings: Settings) -> None:
    summary = ingest_paths([write(tmp_path / "e.csv", PLAIN)], settings)
    assert (summary.files, summary.rows_ingested, summary.quarantined) == (1, 3, 0)
    assert events(settings) == [
        ("2026-03-02 09:00:00+00", "post", "Lyon", "News"),
        ("2026-03-02 09:00:00+00", "reaction", "Lyon", "News"),
        ("2026-03-03 08:30:00+00", "read", "Paris", None),
    ]


def test_french_excel_dialect_gives_the_same_events_and_adds_nothing(
    tmp_path: Path, settings: Settings
) -> None:
    ingest_paths([write(tmp_path / "e.csv", PLAIN)], settings)
    summary = ingest_paths([write(tmp_path / "fr.csv", FRENCH, "cp1252")], settings)
    assert (summary.rows_ingested, summary.duplicates, summary.quarantined) == (0, 3, 0)
    assert len(events(settings)) == 3


def test_french_dialect_alone(tmp_path: Path, settings: Settings) -> None:
    ingest_paths([write(tmp_path / "fr.csv", "\ufeff" + FRENCH, "utf-8")], settings)
    assert sorted(e[1] for e in events(settings)) == ["post", "reaction", "read"]


def test_naive_timestamps_follow_the_configured_time_zone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", timezone="Europe/Paris")
    ingest_paths([write(tmp_path / "fr.csv", FRENCH, "cp1252")], settings)
    assert events(settings)[0][0] == "2026-03-02 08:00:00+00"


def test_same_file_twice_and_overlapping_file_add_nothing(
    tmp_path: Path, settings: Settings
) -> None:
    first = ingest_paths([write(tmp_path / "e.csv", PLAIN)], settings)
    again = ingest_paths([tmp_path / "e.csv"], settings)
    assert (again.rows_ingested, again.files_unchanged, again.duplicates) == (0, 1, 3)
    lines = PLAIN.splitlines()
    overlap = (
        "\n".join([lines[0], lines[3], "2026-03-04T10:00:00Z,dan@corp.fr,reply,Lyon,News"]) + "\n"
    )
    third = ingest_paths([write(tmp_path / "overlap.csv", overlap)], settings)
    assert (first.rows_ingested, third.rows_ingested, third.duplicates) == (3, 1, 1)
    assert len(events(settings)) == 4


def test_the_ledger_holds_each_file_hash_and_a_renamed_copy_is_unchanged(
    tmp_path: Path, settings: Settings
) -> None:
    ingest_paths([write(tmp_path / "e.csv", PLAIN)], settings)  # hashed while being read
    copy = ingest_paths([write(tmp_path / "copy of e.csv", PLAIN)], settings)
    assert (copy.files_unchanged, copy.rows_ingested) == (1, 0)
    ledger = read_manifest(settings.data_dir).ledger
    assert [e["sha256"] for e in ledger] == [hashlib.sha256(PLAIN.encode()).hexdigest()]


def test_duplicates_inside_one_file_are_removed(tmp_path: Path, settings: Settings) -> None:
    lines = PLAIN.splitlines()
    summary = ingest_paths(
        [write(tmp_path / "d.csv", "\n".join(lines + lines[1:]) + "\n")], settings
    )
    assert (summary.rows_ingested, summary.duplicates) == (3, 3)


def test_event_ids_key_events_when_present(tmp_path: Path, settings: Settings) -> None:
    text = "id,time,user,type\n1,2026-03-02T09:00:00Z,a@x.fr,post\n2,2026-03-02T09:00:00Z,a@x.fr,post\n"
    assert ingest_paths([write(tmp_path / "a.csv", text)], settings).rows_ingested == 2
    moved = text.replace(
        "09:00:00Z", "09:05:00Z"
    )  # same ids, corrected times: still the same events
    assert ingest_paths([write(tmp_path / "b.csv", moved)], settings).duplicates == 2


BAD = (
    "timestamp,user,event_type\n"  # line 1
    "2026-03-02T09:00:00Z,a@x.fr,post\n"  # 2 ok
    "yesterday,a@x.fr,post\n"  # 3 bad timestamp
    '2026-03-02T09:00:00Z,"b@x.fr",dance\n'  # 4 unknown event type
    "2026-03-02T09:00:00Z,,post\n"  # 5 missing user
    "2026-03-02T09:00:00Z,c@x.fr\n"  # 6 wrong column count
    '2026-03-02T09:00:00Z,"multi\n'  # 7 a quoted value running over two lines…
    'line@x.fr",read\n'  # 8 …still one good record
    "\n"  # 9 blank
    "2026-03-02T09:00:00Z,d@x.fr,,\n"  # 10 wrong column count
    "2026-03-02T09:00:00Z,e@x.fr,\n"  # 11 missing event type
    "2026-03-03T10:00:00Z,f@x.fr,view\n"  # 12 ok
)


def test_malformed_rows_are_quarantined_with_physical_line_numbers(
    tmp_path: Path, settings: Settings
) -> None:
    summary = ingest_paths([write(tmp_path / "bad.csv", BAD)], settings)
    assert (summary.rows_ingested, summary.quarantined) == (3, 6)
    from rse_adoption.quarantine import read_quarantine

    rows = [(r["line"], r["reason"]) for r in read_quarantine(settings)]
    assert rows == [
        (3, 'bad timestamp "yesterday"'),
        (4, 'unknown event type "dance"'),
        (5, "missing user"),
        (6, "expected 3 columns, found 2"),
        (10, "expected 3 columns, found 4"),
        (11, "missing event type"),
    ]


def test_gzip_and_json_lines(tmp_path: Path, settings: Settings) -> None:
    gz = tmp_path / "e.csv.gz"
    gz.write_bytes(gzip.compress(PLAIN.encode()))
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(
        json.dumps(
            {
                "time": "2026-03-05T10:00:00Z",
                "email": "eve@corp.fr",
                "action": "comment",
                "group": "IT",
            }
        )
        + "\nnot json\n"
        + json.dumps({"time": "2026-03-05T11:00:00Z", "email": "eve@corp.fr", "action": "nap"})
        + "\n",
        encoding="utf-8",
    )
    summary = ingest_paths([gz, jsonl], settings)
    assert (summary.rows_ingested, summary.quarantined) == (4, 2)
    from rse_adoption.quarantine import read_quarantine

    assert [(r["source_file"], r["line"]) for r in read_quarantine(settings)] == [
        ("more.jsonl", 2),
        ("more.jsonl", 3),
    ]


def test_invalid_utf8_after_the_sniffed_sample_is_read_as_cp1252(
    tmp_path: Path, settings: Settings
) -> None:
    filler = "".join(f"2026-03-02T09:00:00Z,user{i}@x.fr,read\n" for i in range(40_000))  # > 1 MiB
    body = "timestamp,user,event_type\n" + filler + "2026-03-02T09:00:00Z,josé@x.fr,post\n"
    path = write(tmp_path / "late.csv", body, "cp1252")
    summary = ingest_paths([path], settings)
    assert (summary.rows_ingested, summary.quarantined, summary.files_failed) == (40_001, 0, 0)


def test_unreadable_file_stores_nothing_and_is_reported(
    tmp_path: Path, settings: Settings, cli
) -> None:  # type: ignore[no-untyped-def]
    good = write(tmp_path / "in" / "a.csv", PLAIN)
    broken = tmp_path / "in" / "b.csv.gz"
    broken.write_bytes(gzip.compress(PLAIN.encode())[:40])  # truncated gzip
    result = cli("ingest", tmp_path / "in", "--json")
    assert result.exit_code == 65
    data = result.json()
    assert data["files"] == 2 and data["rows_ingested"] == 3 and data["files_failed"] == 1
    assert "b.csv.gz" in result.stderr
    manifest = read_manifest(tmp_path / "data")
    assert [e["name"] for e in manifest.ledger] == [good.name]


def test_missing_input_exits_66(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", tmp_path / "nope.csv")
    assert result.exit_code == 66
    assert "nope.csv" in result.stderr


def test_unrecognised_file_is_skipped_with_the_missing_columns(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "in" / "a.csv", PLAIN)
    write(tmp_path / "in" / "notes.csv", "timestamp,comment\n2026-01-01,hello\n")
    result = cli("ingest", tmp_path / "in", "--json")
    assert result.exit_code == 0
    assert result.json()["files_skipped"] == 1
    only = cli("ingest", tmp_path / "in" / "notes.csv")
    assert only.exit_code == 65
    assert "lacks column(s): user, event_type" in only.stderr


def test_json_output_is_alone_on_stdout(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", write(tmp_path / "a.csv", BAD), "--json")
    data = result.json()
    assert set(data) >= {"files", "rows_ingested", "duplicates", "quarantined", "files_skipped"}
    assert (data["rows_ingested"], data["quarantined"]) == (3, 6)


def test_header_with_a_stray_carriage_return_is_skipped_not_a_crash(
    tmp_path: Path, settings: Settings
) -> None:
    # found by hypothesis: the csv module raises on a lone CR inside a header line
    summary = ingest_paths([write(tmp_path / "cr.csv", "\r\x00")], settings)
    assert summary.details[0].status == "skipped"


def test_one_person_in_several_files_of_one_run_is_keyed_once(
    tmp_path: Path, settings: Settings
) -> None:
    first = write(
        tmp_path / "in" / "a.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
    )
    second = write(
        tmp_path / "in" / "b.csv",
        "timestamp,user,event_type,target_user\n2026-03-03T09:00:00Z,a@x.fr,reply,b@x.fr\n2026-03-03T10:00:00Z,b@x.fr,like,A@x.fr\n",
    )
    summary = ingest_paths([first, second], settings)
    assert (summary.rows_ingested, summary.duplicates) == (3, 0)
    assert len(events(settings)) == 3


def test_padded_and_blank_values_are_trimmed_or_null(tmp_path: Path, settings: Settings) -> None:
    text = (
        "timestamp,user,event_type,site,space\n"
        " 2026-03-02T09:00:00Z , a@x.fr ,  Post ,  Lyon  ,   \n"
        "2026-03-02T10:00:00Z,A@X.FR,like,Lyon,News\n"
        "2026-03-02T11:00:00Z,   ,post,Lyon,News\n"
    )
    summary = ingest_paths([write(tmp_path / "a.csv", text)], settings)
    assert (summary.rows_ingested, summary.quarantined) == (2, 1)
    assert events(settings) == [
        ("2026-03-02 09:00:00+00", "post", "Lyon", None),
        ("2026-03-02 10:00:00+00", "reaction", "Lyon", "News"),
    ]
    files = [str(settings.data_dir / p) for p in read_manifest(settings.data_dir).event_paths()]
    people = duckdb.execute(
        "SELECT count(DISTINCT user_key) FROM read_parquet($f)", {"f": files}
    ).fetchall()
    assert people == [(1,)]  # " a@x.fr " and "A@X.FR" are one person


def test_events_with_and_without_ids_in_one_file_are_each_keyed_their_way(
    tmp_path: Path, settings: Settings
) -> None:
    text = (
        "id,time,user,type\n"
        "1,2026-03-02T09:00:00Z,a@x.fr,post\n"
        ",2026-03-02T09:00:00Z,a@x.fr,post\n"  # no id: the same content as id 1, kept apart
        ",2026-03-02T09:00:00Z,a@x.fr,post\n"  # a true duplicate of the previous row
        "1,2026-03-02T09:30:00Z,a@x.fr,post\n"  # id 1 again: the same event
    )
    summary = ingest_paths([write(tmp_path / "a.csv", text)], settings)
    assert (summary.rows_ingested, summary.duplicates) == (2, 2)
    again = ingest_paths(
        [write(tmp_path / "b.csv", text + "2,2026-03-05T09:00:00Z,b@x.fr,read\n")], settings
    )
    assert (again.rows_ingested, again.duplicates) == (1, 4)


def test_a_store_of_another_format_is_refused_with_a_clear_message(
    tmp_path: Path, settings: Settings
) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "manifest.json").write_text('{"format": 1, "version": 3}')
    with pytest.raises(RseError, match="store format 1.*re-ingest"):
        ingest_paths([write(tmp_path / "a.csv", PLAIN)], settings)


def test_dry_run_reports_what_would_change_and_changes_nothing(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    new_store = cli("ingest", write(tmp_path / "e.csv", PLAIN), "--dry-run", "--json").json()
    assert (new_store["rows_ingested"], new_store["dry_run"]) == (3, True)
    assert not data.exists()  # a store that did not exist is not created
    assert cli("ingest", tmp_path / "e.csv").exit_code == 0
    before = sorted(p.relative_to(data) for p in data.rglob("*") if p.is_file())
    manifest = (data / "manifest.json").read_bytes()
    lines = PLAIN.splitlines()
    overlap = write(
        tmp_path / "overlap.csv",
        "\n".join([lines[0], lines[1], "2026-03-04T10:00:00Z,dan@corp.fr,reply,Lyon,News"]) + "\n",
    )
    dry = cli("ingest", overlap, write(tmp_path / "bad.csv", BAD), "--dry-run", "--json").json()
    assert (dry["rows_ingested"], dry["duplicates"], dry["quarantined"]) == (4, 1, 6)
    assert (data / "manifest.json").read_bytes() == manifest
    assert sorted(p.relative_to(data) for p in data.rglob("*") if p.is_file()) == before
    real = cli("ingest", overlap, tmp_path / "bad.csv", "--json").json()
    assert (real["rows_ingested"], real["duplicates"], real["quarantined"]) == (4, 1, 6)


def stored_identities(settings: Settings) -> list[tuple[object, ...]]:
    files = [str(settings.data_dir / p) for p in read_manifest(settings.data_dir).event_paths()]
    return duckdb.execute(
        "SELECT ts::VARCHAR, user_key, event_type, space, content_id FROM read_parquet($f) "
        "ORDER BY ALL",
        {"f": files},
    ).fetchall()


@settings_(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["2026-03-02T09:00:00Z", "2026-03-02T09:00:01Z", "2026-04-01T00:00:00Z"]
            ),
            st.sampled_from(["a@x.fr", "b@x.fr"]),
            st.sampled_from(["post", "view"]),
            st.sampled_from(["News", ""]),
            st.sampled_from(["m1", ""]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_repeats_are_dropped_alike_in_time_order_across_batches_and_shuffled(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]], rng: Any
) -> None:
    """The first of each identity is kept and the others counted as duplicates, whether
    the file is in time order (repeats dropped while staging, here with batches of 3 rows
    so that one instant spans several) or not (the month-wide check at commit)."""
    header = "timestamp,user,event_type,space,content_id\n"
    in_order = sorted(rows, key=lambda r: r[0])
    shuffled = rows[:]
    rng.shuffle(shuffled)
    expected = len(set(rows))
    results = []
    for order, tail_rows in ((in_order, 10**6), (shuffled, 10**6), (in_order, 2)):
        folder = tmp_path_factory.mktemp("repeats")
        settings = Settings(data_dir=folder / "data")
        body = header + "".join(",".join(r) + "\n" for r in order)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RSE_ADOPTION_SECRET", "one secret for both stores")
            patch.setattr(dedupe, "TAIL_ROWS", tail_rows)  # 2: the month-wide check takes over
            patch.setattr(events_reader, "TRANSFORM_ROWS", 3)
            patch.setattr(events_reader, "CSV_BLOCK_BYTES", 64)
            summary = ingest_paths([write(folder / "log.csv", body)], settings)
        assert (summary.rows_ingested, summary.duplicates) == (expected, len(rows) - expected)
        results.append(stored_identities(settings))
    assert results[0] == results[1] == results[2]


def test_the_ingest_command_runs_without_pandas(tmp_path: Path) -> None:
    """pyarrow would import pandas (0.13 s) only to recognise pandas objects: the `ingest`
    command's process refuses it (cli.main), and still stores every event."""
    import subprocess
    import sys

    log = write(tmp_path / "log.csv", PLAIN)
    program = (
        "import sys\n"
        "from rse_adoption.cli import main\n"
        f"sys.argv = ['rse-adoption', 'ingest', {str(log)!r}, '--data-dir', "
        f"{str(tmp_path / 'data')!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\n"
        "print(code, 'pandas' in sys.modules and sys.modules['pandas'] is not None, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stderr.split()[-2:] == ["0", "False"], done.stderr
    assert json.loads(done.stdout)["rows_ingested"] == 3


@settings_(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["2026-03-02T09:00:00Z", "2026-03-09T10:00:00Z", "2026-04-01T00:00:00Z"]
            ),
            st.sampled_from(["a@x.fr", "b@x.fr"]),
            st.sampled_from(["e1", "e2", "e3", ""]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_repeated_event_ids_are_found_in_memory_and_by_the_query_alike(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]]
) -> None:
    """A month's event ids are checked in Arrow while the file's months hold few of them
    (dedupe.note_ids) and by DuckDB past ID_CHECK_ROWS: the same events are kept either way — the first of each id
    within its month, and every id-less event that differs from the others."""
    header = "timestamp,user,event_type,event_id\n"
    with_id = {(r[0][:7], r[2]) for r in rows if r[2]}
    without_id = {r for r in rows if not r[2]}
    expected = len(with_id) + len(without_id)
    results = []
    for id_check_rows in (10**6, 3, 0):  # 3: some months in memory, the others by query
        folder = tmp_path_factory.mktemp("ids")
        settings = Settings(data_dir=folder / "data")
        body = header + "".join(f"{t},{u},post,{i}\n" for t, u, i in rows)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RSE_ADOPTION_SECRET", "one secret for both stores")
            patch.setattr(dedupe, "ID_CHECK_ROWS", id_check_rows)  # 0: always the query
            summary = ingest_paths([write(folder / "log.csv", body)], settings)
        assert (summary.rows_ingested, summary.duplicates) == (expected, len(rows) - expected)
        files = [str(settings.data_dir / p) for p in read_manifest(settings.data_dir).event_paths()]
        results.append(
            duckdb.execute(
                "SELECT ts::VARCHAR, user_key, event_id, source_record FROM read_parquet($f) "
                "ORDER BY ALL",
                {"f": files},
            ).fetchall()
        )
    assert results[0] == results[1] == results[2]
