"""Property tests: whatever bytes a file holds, ingest gives events, quarantine or a clear
error naming the file — never a traceback, never a partial commit."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rse_adoption.config import Settings
from rse_adoption.ingest import canonical, ingest_paths
from rse_adoption.store import read_manifest

HEADER = b"timestamp,user,event_type,site\n"
row = st.tuples(
    st.sampled_from(
        ["2026-03-02T09:00:00Z", "02/03/2026 10:00", "", "soon", "2026-13-45", "1772442000"]
    ),
    st.sampled_from(["a@x.fr", "", "B@X.FR", "é@x.fr", '"q"']),
    st.sampled_from(["post", "view", "like", "", "dance", "REPLY"]),
    st.sampled_from(["Lyon", "", "Saint-Étienne", "=cmd()"]),
).map(lambda r: ",".join(r).encode("utf-8"))


def check(data: bytes, name: str = "f.csv") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        config = Settings(data_dir=Path(tmp) / "data")
        summary = ingest_paths([path], config)
        manifest = read_manifest(config.data_dir)
        detail = summary.details[0]
        if detail.status == "error":
            assert detail.message and name in detail.message
            assert manifest.ledger == [] and manifest.event_files == []
        elif detail.status == "ingested":
            assert detail.rows_ingested + detail.duplicates + detail.quarantined == detail.rows_read
            assert sum(f["rows"] for f in manifest.event_files) == detail.rows_ingested
        else:
            assert detail.status == "skipped" and detail.message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, max_size=20), st.binary(max_size=30), st.sampled_from([b"\n", b"\r\n"]))
def test_event_rows_with_garbage_tail(rows: list[bytes], tail: bytes, newline: bytes) -> None:
    check(HEADER + newline.join(rows) + newline + tail)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["time", "user", "type", "x"]),
            st.one_of(
                st.none(), st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2)
            ),
        ),
        max_size=10,
    )
)
def test_json_lines_of_any_shape(objects: list[dict[str, object]]) -> None:
    import json

    body = "\n".join(json.dumps(o) for o in objects).encode()
    check(b'{"time": "2026-03-02T09:00:00Z", "user": "a@x.fr", "type": "post"}\n' + body, "f.jsonl")


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1990, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.none()
    ),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M"]),
    st.sampled_from(["colon", "compact", "z"]),
)
def test_arrow_fast_path_reads_offset_timestamps_as_duckdb_does(
    moment: datetime, offset_minutes: int, layout: str, zone: str
) -> None:
    """Batches of ISO 8601 with offsets take Arrow's cast; everything else DuckDB. Both must
    give the same instant for every value the fast path accepts."""
    sign, minutes = ("+" if offset_minutes >= 0 else "-"), abs(offset_minutes)
    suffix = {
        "colon": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        "compact": f"{sign}{minutes // 60:02d}{minutes % 60:02d}",
        "z": "Z",
    }[zone]
    text = pa.array([moment.strftime(layout) + suffix])
    con = canonical.connect("Europe/Paris")
    fast = canonical.parse_timestamps(con, text)
    slow = canonical.parse_timestamps(con, pa.array([text[0].as_py(), "not a date"]))
    assert fast[0].as_py() == slow[0].as_py() and slow[1].as_py() is None
