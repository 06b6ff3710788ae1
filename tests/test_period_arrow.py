"""The Arrow reader of period files (Viva Engage, Teams, Slack member analytics) gives
exactly the rows, quarantined rows (file, line, reason) and person keys of the row-by-row
reader on the same bytes — whatever the cells hold, wherever the bad rows are."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rse_adoption.errors import DataError
from rse_adoption.ingest import period_arrow, periods, slack_analytics, teams, viva_engage
from rse_adoption.ingest.canonical import ReadContext
from rse_adoption.privacy import KeyCache, person_key

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).parents[1] / ".." / "shared" / "samples"
SECRET = b"a test secret"

VIVA = [
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Posted Count",
    "Read Count",
    "Liked Count",
    "Report Period",
]
TEAMS = [
    "Report Refresh Date",
    "User Principal Name",
    "Team Chat Message Count",
    "Private Chat Message Count",
    "Call Count",
    "Meeting Count",
    "Has Other Action",
    "Report Period",
]
SLACK = ["Name", "Email", "Days active", "Messages posted", "Messages posted in channels",
         "Reactions added", "Last active (UTC)"]  # fmt: skip
LAYOUTS = {
    "viva": (viva_engage.FORMAT, VIVA),
    "teams": (teams.FORMAT, TEAMS),
    "slack": (slack_analytics.FORMAT, SLACK),
}

date_cell = st.sampled_from(
    ["2026-03-31", "2026-03-31T00:00:00", "31/03/2026", "Mar 31, 2026", "", "soon", "2026-02-30"]
)
user_cell = st.sampled_from(
    ["a@x.fr", "A@X.FR", " b@x.fr ", "é@x.fr", "İ@x.fr", "", "  ", "\u00a0c@x.fr", "\x1fd@x",
     "6E55A185B405B6F2A6804BB7897C8AAB", "6e55a185b405b6f2a6804bb7897c8aab", '"q@x.fr"',
     '"r,s@x.fr"', 'a"b@x.fr', '"t""u"']
)  # fmt: skip
count_cell = st.sampled_from(
    ["0", "", "3", "007", "-1", "-0", "x", "2.0", "2.5", " 4", "+5", "True", "no", "Oui",
     "1\u202f234", "0x10", "٣", "99999999999999999999", "9223372036854775807", "inf", '"6"']
)  # fmt: skip
period_cell = st.sampled_from(["7", "D30", "d90", "", "0", "seven", "3661", "1"])
other_cell = st.sampled_from(["Alice", "", "Mar 30, 2026", '"Mar 30, 2026"', "é", "x;y"])


def cell(field: str) -> st.SearchStrategy[str]:
    if "Date" in field or field.startswith("Last active"):
        return date_cell
    if field in ("User Principal Name", "Email"):
        return user_cell
    if field == "Report Period":
        return period_cell
    if field in ("Display Name", "Name"):
        return other_cell
    return count_cell


@st.composite
def period_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """A period file of one of the layouts, mostly good rows, sometimes a short or long
    row, a blank line, CRLF or `;`, a BOM, a bad byte or a line break between quotes."""
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    header = LAYOUTS[layout][1]
    delimiter = draw(st.sampled_from([",", ",", ";"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 12))):
        fields = [draw(cell(f)) for f in header]
        shape = draw(st.sampled_from(["ok"] * 8 + ["short", "long", "blank", "cr", "quoted-lf"]))
        if shape == "short":
            fields = fields[:-1]
        elif shape == "long":
            fields.append("extra")
        elif shape == "blank":
            lines.append("")
        elif shape == "cr":
            fields[0] += "\r"
        elif shape == "quoted-lf":
            fields[-1] = '"a\nb"'
        lines.append(delimiter.join(fields))
    text = newline.join(lines) + draw(st.sampled_from([newline, ""]))
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    tail = draw(st.sampled_from([b"", b"", b"\xff\n", b"\x00\n"]))
    return layout, data + tail


def _read(
    fmt: periods.PeriodFormat, path: Path, *, row_by_row: bool, **context: Any
) -> tuple[object, ...]:
    """(rows, rejects, error) of one reading of `path`."""
    read_context = ReadContext(
        con=duckdb.connect(), person_key=KeyCache(SECRET), source_file=path.name, **context
    )
    saved = period_arrow._plain_csv
    if row_by_row:
        period_arrow._plain_csv = lambda *args: None  # type: ignore[assignment]
    try:
        batches = list(periods.read(fmt, path, read_context))
    except DataError as exc:
        return (), (), str(exc)
    finally:
        period_arrow._plain_csv = saved  # type: ignore[assignment]
    rows = [b.periods for b in batches if b.periods is not None and b.periods.num_rows]
    rejects = [b.rejects for b in batches if b.rejects is not None]
    return (
        pa.concat_tables(rows).to_pylist() if rows else [],
        pa.concat_tables(rejects).to_pylist() if rejects else [],
        None,
    )


def _both(layout: str, path: Path, **context: Any) -> tuple[tuple[object, ...], ...]:
    fmt = LAYOUTS[layout][0]
    if layout == "slack":
        context = {"period_end": date(2026, 3, 31), "period_days": 30, **context}
    return _read(fmt, path, row_by_row=False, **context), _read(
        fmt, path, row_by_row=True, **context
    )


@pytest.fixture
def arrow_used(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The rows each read handed to the row-by-row reader after Arrow (none: Arrow read all)."""
    handed: list[int] = []
    row_reader = periods._read_rows

    def spy(*args: Any) -> Any:
        handed.append(args[6] if len(args) > 6 else 0)
        return row_reader(*args)

    monkeypatch.setattr(periods, "_read_rows", spy)
    yield handed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(period_file(), st.sampled_from([period_arrow.ARROW_BLOCK_BYTES, 256]))
def test_arrow_reader_gives_the_row_readers_rows_rejects_and_keys(
    case: tuple[str, bytes], block: int
) -> None:
    layout, data = case
    saved = period_arrow.ARROW_BLOCK_BYTES
    period_arrow.ARROW_BLOCK_BYTES = block  # small blocks: Arrow hands over after some batches
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.csv"
            path.write_bytes(data)
            arrow, rows = _both(layout, path)
    finally:
        period_arrow.ARROW_BLOCK_BYTES = saved
    assert arrow == rows


#: The real public exports of ../shared/samples, when the project has them beside it.
NEEDS_SAMPLES = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the shared samples are not beside the project ({SAMPLES})"
)


@pytest.mark.parametrize(
    ("layout", "path"),
    [
        ("viva", FIXTURES / "viva_engage_activity_user_detail_D7.csv"),
        ("viva", FIXTURES / "viva_engage_admin_center_export.csv"),
        pytest.param(
            "viva",
            SAMPLES / "m365" / "pnp_cli_viva_engage_activityuserdetail_D7_concealed.csv",
            marks=NEEDS_SAMPLES,
        ),
        ("teams", FIXTURES / "teams_user_activity_user_detail_D30.csv"),
        ("teams", FIXTURES / "teams_user_activity_user_detail_v1_D7.csv"),
        pytest.param(
            "teams",
            SAMPLES / "m365" / "pnp_cli_teams_useractivityuserdetail_D7_concealed.csv",
            marks=NEEDS_SAMPLES,
        ),
        ("slack", FIXTURES / "slack_member_analytics.csv"),
    ],
)
def test_real_layouts_read_alike(layout: str, path: Path) -> None:
    arrow, rows = _both(layout, path, period_end=date(2026, 3, 31), period_days=7)
    assert arrow == rows and arrow[0]


def _write(tmp_path: Path, layout: str, rows: list[list[str]]) -> Path:
    path = tmp_path / f"{layout}.csv"
    lines = [",".join(LAYOUTS[layout][1])] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_plain_files_are_read_by_arrow_alone(tmp_path: Path, arrow_used: list[int]) -> None:
    viva = _write(
        tmp_path,
        "viva",
        [["2026-03-31", f"p{i}@x.fr", "Name", str(i % 7), "", "True", "7"] for i in range(50)],
    )
    slack = _write(
        tmp_path,
        "slack",
        [
            ["A", "a@x.fr", "3", "9", "7", "2", '"Mar 30, 2026"'],
            ["B", "b@x.fr", "", "1", "2", "", ""],
        ],
    )
    teams_file = _write(
        tmp_path, "teams", [["2026-03-31", "c@x.fr", "4", "1", "0", "2", "Yes", "7"]]
    )
    for layout, path in (("viva", viva), ("slack", slack), ("teams", teams_file)):
        arrow, rows = _both(layout, path)
        assert arrow == rows
    assert arrow_used == [0, 0, 0]  # the forced row-by-row readings only
    slack_rows = _both("slack", slack)[0][0]
    # 9 posted, 7 of them in channels: 2 direct messages are other activity; 3 days
    # active are reads (Slack: active is "read or sent a message")
    assert [
        (r["posts"], r["reactions"], r["other_activity"], r["reads"])  # type: ignore[index]
        for r in slack_rows  # type: ignore[attr-defined]
    ] == [(7, 2, 2, 3), (2, 0, 0, 0)]
    (teams_row,) = _both("teams", teams_file)[0][0]  # type: ignore[misc]
    assert (teams_row["posts"], teams_row["other_activity"]) == (4, 1 + 0 + 2 + 1)  # type: ignore[index]


def test_a_bad_row_late_in_the_file_is_quarantined_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrow_used: list[int]
) -> None:
    """Arrow gives the rows before the block holding the bad row; the row-by-row reader
    takes over from there: every row once, the bad one quarantined with its line."""
    monkeypatch.setattr(period_arrow, "ARROW_BLOCK_BYTES", 1 << 10)
    good = [["2026-03-31", f"p{i}@x.fr", "N", "1", "2", "3", "7"] for i in range(400)]
    path = _write(
        tmp_path,
        "viva",
        [*good[:300], ["2026-03-31", "bad@x.fr", "N", "many", "0", "0", "7"], *good[300:]],
    )
    arrow, rows = _both("viva", path)
    assert arrow == rows
    assert arrow_used[0] > 0  # Arrow read some rows first
    found, rejects, _ = arrow
    assert len(found) == 400 and [r["source_record"] for r in found] == list(range(1, 402))[
        :300
    ] + list(range(302, 402))  # type: ignore[arg-type, index]
    assert [(r["source_file"], r["line"], r["reason"]) for r in rejects] == [  # type: ignore[attr-defined, index]
        ("viva.csv", 302, 'bad count "many" in Posted Count')
    ]


def test_count_too_large_to_store_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "viva", [["2026-03-31", "a@x.fr", "N", "99999999999999999999", "0", "0", "7"]]
    )
    for reading in _both("viva", path):
        assert reading[0] == [] and reading[2] is None
        assert [r["reason"] for r in reading[1]] == [
            'bad count "99999999999999999999" in Posted Count'
        ]  # type: ignore[attr-defined, index]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=12) | st.sampled_from(["", " ", "A@B.C", " İ ", "\x1c"]), max_size=20)
)
def test_keys_of_a_column_are_person_keys(identifiers: list[str]) -> None:
    keys = KeyCache(SECRET).keys_of_array(pa.array(identifiers, pa.string())).to_pylist()
    assert keys == [person_key(SECRET, i) if i.strip() else -1 for i in identifiers]


def test_keys_of_a_column_under_a_long_secret() -> None:
    secret = b"s" * 100  # longer than SHA-256's block: HMAC hashes it first
    assert KeyCache(secret).keys_of_array(pa.array(["x@y.z"])).to_pylist() == [
        person_key(secret, "x@y.z")
    ]


def test_keys_computed_by_worker_processes_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrow_used: list[int]
) -> None:
    """A large file's keys come from two worker processes, several batches in flight; a bad
    row late in it still hands over to the row-by-row reader at the right row."""
    monkeypatch.setattr(period_arrow, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(period_arrow, "ARROW_BLOCK_BYTES", 1 << 10)
    monkeypatch.setenv("RSE_ADOPTION_WORKERS", "2")
    good = [["2026-03-31", f" P{i}@X.fr", "N", "1", "2", "3", "7"] for i in range(400)]
    bad = ["2026-03-31", "bad@x.fr", "N", "1", "2", "3", "seven"]
    path = _write(tmp_path, "viva", [*good[:250], bad, *good[250:]])
    assert period_arrow.key_workers(path) == 2
    arrow, rows = _both("viva", path)
    assert arrow == rows and arrow_used[0] > 0
    keys = [r["person_key"] for r in arrow[0]]  # type: ignore[attr-defined, index]
    assert keys == [person_key(SECRET, f"p{i}@x.fr") for i in range(400)]


def test_key_workers_answer_in_order() -> None:
    batches = [pa.array([f"u{b}-{i}@x.fr" for i in range(b * 7)] + [" ", None]) for b in range(6)]
    with KeyCache(SECRET).workers(2) as workers:
        answers = [workers.submit(batch) for batch in batches]
        keys = [answer().to_pylist() for answer in answers]
    assert keys == [
        [person_key(SECRET, i) if i and i.strip() else -1 for i in batch.to_pylist()]
        for batch in batches
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=150), st.text(max_size=20))
def test_person_key_is_hmac_sha256_of_the_normalised_identifier(secret: bytes, raw: str) -> None:
    """person_key resumes from precomputed SHA-256 states: the same as the standard
    library's HMAC, whatever the secret's length (above 64 bytes it is hashed first)."""
    import hmac

    digest = hmac.digest(secret, raw.strip().lower().encode("utf-8"), "sha256")
    assert person_key(secret, raw) == int.from_bytes(digest[:8], "big") >> 1


def test_key_workers_take_identifiers_holding_a_nul_byte() -> None:
    """Requests are NUL-separated values, split by the worker at C speed; a value holding
    a NUL goes as offsets and bytes instead, with the same keys."""
    batch = pa.array(["a@x.fr", "b\x00c@x.fr", "", "D@X.FR"])
    with KeyCache(SECRET).workers(2) as workers:
        keys = workers.submit(batch)().to_pylist()
    assert keys == [person_key(SECRET, "a@x.fr"), person_key(SECRET, "b\x00c@x.fr"), -1,
                    person_key(SECRET, "d@x.fr")]  # fmt: skip


def _plain_bytes_verdict(data: bytes, delimiter: str, block: int) -> bool:
    """Whether `_PlainBytes` (the streaming check) lets `data` through, read in blocks."""
    import io

    stream = period_arrow._PlainBytes(io.BytesIO(data), delimiter)
    try:
        while stream.read(block):
            pass
    except period_arrow._NotPlain:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(['"', '""', ",", ";", "\n", "\r\n", "\r", "a", "é", " "]), max_size=40
    ),
    st.sampled_from([",", ";"]),
    st.sampled_from([3, 7, 64]),
)
def test_the_mapped_files_check_is_the_streaming_check(
    pieces: list[str], delimiter: str, check_bytes: int
) -> None:
    """A mapped file is checked whole (quotes by numpy, the regular expression only for a
    block numpy cannot clear): the verdict is the streaming reader's, whatever the bytes
    and wherever the blocks end."""
    import mmap

    data = "".join(pieces).encode("utf-8") or b"x"
    saved = period_arrow.CHECK_BYTES
    period_arrow.CHECK_BYTES = check_bytes
    try:
        with tempfile.TemporaryFile() as f:
            f.write(data)
            f.flush()
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                period_arrow._check_mapped(mapped, delimiter)
                verdict = True
            except period_arrow._NotPlain:
                verdict = False
            finally:
                mapped.close()
    finally:
        period_arrow.CHECK_BYTES = saved
    assert verdict == _plain_bytes_verdict(data, delimiter, 1 << 20)


def test_whole_quoted_fields_leave_doubled_quotes_to_the_regular_expression() -> None:
    import numpy as np

    def block(text: bytes) -> Any:
        return np.frombuffer(text, np.uint8)

    assert period_arrow._whole_quoted_fields(block(b'a,"Mar 30, 2026",""\n"x"\r\n'), ord(","))
    assert not period_arrow._whole_quoted_fields(block(b'a,"t""u"\n'), ord(","))  # decided
    assert not period_arrow._whole_quoted_fields(block(b'a,"x\ny"\n'), ord(","))  # by the
    assert not period_arrow._whole_quoted_fields(block(b'a,b"c"\n'), ord(","))  # regex


def test_a_compressed_file_is_checked_as_it_streams(tmp_path: Path, arrow_used: list[int]) -> None:
    """A .gz file cannot be mapped: its bytes are checked as Arrow reads them."""
    import gzip

    rows = [["2026-03-31", f"p{i}@x.fr", '"N, N"', str(i), "", "1", "7"] for i in range(30)]
    plain = _write(tmp_path, "viva", rows)
    packed = tmp_path / "viva.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    arrow, rows_read = _both("viva", packed)
    assert arrow == rows_read and len(arrow[0]) == 30  # type: ignore[arg-type]
    assert arrow_used == [0]  # the forced row-by-row reading only


def _stored_activity(data_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the activity files' rows in their order, the manifest's entries without paths)."""
    import pyarrow.parquet as pq

    from rse_adoption.store import read_manifest

    entries = read_manifest(data_dir).activity_files
    rows = [r for e in entries for r in pq.read_table(data_dir / e["path"]).to_pylist()]
    return rows, [{k: v for k, v in e.items() if k != "path"} for e in entries]


def test_a_first_export_is_written_while_read_and_moved_into_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file listing each person once in a period the store does not hold: its rows are
    written to staging as they are read and that file becomes the store's, in the file's
    order. Without staging (the fallback: the rows written after reading) the store holds
    the same rows and entries; and the rows are the reader's."""
    from rse_adoption.config import Settings
    from rse_adoption.ingest import period_merge
    from rse_adoption.ingest.pipeline import ingest_paths

    monkeypatch.setattr(period_arrow, "ARROW_BLOCK_BYTES", 1 << 10)  # several batches
    monkeypatch.setenv("RSE_ADOPTION_SECRET", SECRET.decode())
    path = _write(
        tmp_path,
        "viva",
        [["2026-03-31", f"p{(i * 7919) % 300}@x.fr", "N", str(i % 5), "2", "", "7"]
         for i in range(300)],
    )  # fmt: skip
    staged_writes: list[int] = []
    write = period_merge.StagedRows.write
    monkeypatch.setattr(
        period_merge.StagedRows,
        "write",
        lambda self, table: (staged_writes.append(table.num_rows), write(self, table))[1],
    )
    ingest_paths([path], Settings(data_dir=tmp_path / "staged"))
    assert len(staged_writes) > 1 and sum(staged_writes) == 300
    assert not list((tmp_path / "staged").rglob(period_merge.StagedRows.NAME))
    staged = _stored_activity(tmp_path / "staged")
    expected, _, _ = _read(viva_engage.FORMAT, path, row_by_row=True)
    assert staged[0] == expected  # the reader's rows, in the file's order
    assert staged[1] == [{"source_format": "viva_engage", "period_days": 7,
                          "refresh_date": "2026-03-31", "rows": 300, "concealed_rows": 0}]  # fmt: skip

    monkeypatch.setattr(period_merge.StagedRows, "for_first_batch", lambda *args: None)
    ingest_paths([path], Settings(data_dir=tmp_path / "after"))
    assert _stored_activity(tmp_path / "after") == staged


def test_a_period_already_held_is_merged_by_the_query_not_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second export of a period the store holds is merged with it (people kept, counts
    replaced): nothing is staged, and a first export of another period still is."""
    from rse_adoption.config import Settings
    from rse_adoption.ingest import period_merge
    from rse_adoption.ingest.pipeline import ingest_paths

    monkeypatch.setenv("RSE_ADOPTION_SECRET", SECRET.decode())
    settings = Settings(data_dir=tmp_path / "data")
    for folder in "abc":
        (tmp_path / folder).mkdir()
    first = _write(tmp_path / "a", "viva", [["2026-03-31", "a@x.fr", "N", "1", "0", "0", "7"],
                                           ["2026-03-31", "b@x.fr", "N", "0", "3", "0", "7"]])  # fmt: skip
    ingest_paths([first], settings)
    staged: list[int] = []
    write = period_merge.StagedRows.write
    monkeypatch.setattr(
        period_merge.StagedRows,
        "write",
        lambda self, table: (staged.append(table.num_rows), write(self, table))[1],
    )
    second = _write(tmp_path / "b", "viva", [["2026-03-31", "b@x.fr", "N", "4", "3", "0", "7"],
                                            ["2026-03-31", "c@x.fr", "N", "0", "1", "0", "7"]])  # fmt: skip
    ingest_paths([second], settings)
    assert staged == []
    rows, entries = _stored_activity(settings.data_dir)
    counts = {r["person_key"]: r["posts"] for r in rows}
    assert counts == {person_key(SECRET, "a@x.fr"): 1, person_key(SECRET, "b@x.fr"): 4,
                      person_key(SECRET, "c@x.fr"): 0}  # fmt: skip
    assert [e["rows"] for e in entries] == [3]
    month = _write(tmp_path / "c", "viva", [["2026-03-31", "a@x.fr", "N", "1", "0", "0", "30"]])
    ingest_paths([month], settings)
    assert staged == [1]
