"""Property tests: whatever bytes a file holds, ingest gives events, quarantine or a clear
error naming the file — never a traceback, never a partial commit."""

from __future__ import annotations

import json
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rse_adoption.cli import INGEST_FORMATS
from rse_adoption.config import Settings
from rse_adoption.ingest import canonical
from rse_adoption.ingest.pipeline import ingest_paths
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


def check(data: bytes | dict[str, bytes], name: str = "f.csv", **options: object) -> None:
    """Ingest `data` (a file's bytes, or zip members) into a fresh store: events, periods
    and quarantine account for every row read, or the file is skipped, or it is an error
    naming it with nothing stored."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if isinstance(data, dict):
            with zipfile.ZipFile(path, "w") as archive:
                for member, content in data.items():
                    archive.writestr(member, content)
        else:
            path.write_bytes(data)
        config = Settings(data_dir=Path(tmp) / "data")
        summary = ingest_paths([path], config, **options)  # type: ignore[arg-type]
        manifest = read_manifest(config.data_dir)
        detail = summary.details[0]
        if detail.status == "error":
            assert detail.message and name in detail.message
            assert manifest.ledger == [] and manifest.event_files == []
            assert manifest.activity_files == []
        elif detail.status == "ingested":
            assert (
                detail.rows_ingested + detail.duplicates + detail.quarantined + detail.ignored
                == detail.rows_read
            )
            stored = sum(f["rows"] for f in manifest.event_files)
            stored += sum(f["rows"] for f in manifest.activity_files)
            assert stored == detail.rows_ingested
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


#: Zones with a DST change of an hour (both hemispheres), of half an hour, and none; and
#: zones whose rules changed lately (the system's zone files and DuckDB's may differ).
ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "UTC",
    "America/Vancouver",
    "Africa/Casablanca",
    "America/Havana",
    "Europe/Chisinau",
]
#: Local times next to the 2026 clock changes of those zones (repeated and skipped hours).
NEAR_CHANGES = [
    datetime(2026, 3, 29, 2, 30),
    datetime(2026, 10, 25, 2, 30),
    datetime(2026, 3, 8, 2, 30),
    datetime(2026, 11, 1, 1, 30),
    datetime(2026, 4, 5, 2, 30),
    datetime(2026, 10, 4, 2, 30),
    datetime(2026, 4, 5, 1, 45),
    datetime(2026, 10, 4, 2, 15),
]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2099, 12, 30)),
        st.sampled_from(NEAR_CHANGES),
    ),
    st.sampled_from(
        ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H"]
    ),
    st.sampled_from(ZONES),
)
def test_arrow_reads_naive_timestamps_as_duckdb_does(
    moment: datetime, layout: str, zone: str
) -> None:
    """Naive ISO 8601 in the store's time zone: Arrow's reading (when it takes the batch)
    gives DuckDB's instant, also in an hour repeated or skipped by a clock change."""
    text = pa.array([moment.strftime(layout)])
    con = canonical.connect(zone)
    fast = canonical.parse_timestamps(con, text)
    slow = canonical.parse_timestamps(con, pa.array([text[0].as_py(), "not a date"]))
    assert fast[0].as_py() == slow[0].as_py() and slow[1].as_py() is None


def test_naive_timestamps_are_read_by_arrow_with_duckdb_offsets() -> None:
    con = canonical.connect("America/Vancouver")
    # the zone's rules changed in 2026: DuckDB's own, not the system's files, decide
    text = pa.array(["2026-11-01 12:00:00", "2026-03-29 02:30:00", None])
    fast = canonical._naive_iso(con, text)
    assert (
        fast is not None
        and fast.to_pylist()
        == canonical.parse_timestamps(con, pa.array([*text.to_pylist(), "not a date"])).to_pylist()[
            :3
        ]
    )
    assert canonical._naive_iso(con, pa.array(["2026-03-02T09"])) is None  # DuckDB refuses
    assert canonical._naive_iso(con, pa.array(["2026-03-29T09:00:00Z"])) is None


# --- every other reader: Microsoft 365, Slack, Yammer, mapped files -------------------

FIXTURES = Path(__file__).parent / "fixtures"
VIVA = (
    b"Report Refresh Date,User Principal Name,Posted Count,Read Count,Liked Count,Report Period\n"
)
viva_row = st.tuples(
    st.sampled_from(["2026-03-31", "", "31/03/2026", "tomorrow"]),
    st.sampled_from(["a@x.fr", "", "6E55A185B405B6F2A6804BB7897C8AAB", "A@X.FR"]),
    st.sampled_from(["0", "", "3", "-1", "x", "2.0"]),
    st.sampled_from(["0", "", "7", "True"]),
    st.sampled_from(["0", "", "1", "No"]),
    st.sampled_from(["7", "D30", "", "0", "seven"]),
).map(lambda r: ",".join(r).encode("utf-8"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(viva_row, max_size=15), st.binary(max_size=30))
def test_microsoft_365_rows_of_any_value(rows: list[bytes], tail: bytes) -> None:
    check(VIVA + b"\n".join(rows) + b"\n" + tail)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "user",
                    "ts",
                    "subtype",
                    "reactions",
                    "users",
                    "thread_ts",
                    "id",
                    "profile",
                    "email",
                    "name",
                    "value",
                    "postedCount",
                    "userPrincipalName",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_value)
def test_graph_json_of_any_shape(value: object) -> None:
    check(json.dumps({"value": value}).encode(), "report.json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    json_value,
    json_value,
    st.one_of(json_value.map(lambda v: json.dumps(v).encode()), st.binary(max_size=60)),
)
def test_slack_exports_of_any_content(users: object, channels: object, day: bytes) -> None:
    check(
        {
            "users.json": json.dumps(users),
            "channels.json": json.dumps(channels),
            "general/2026-03-31.json": day,
        },
        "export.zip",
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.binary(max_size=100))
def test_yammer_exports_of_any_bytes(messages: bytes, users: bytes) -> None:
    header = b"id,thread_id,replied_to_id,group_id,sender_id,created_at\n"
    check({"Messages.csv": header + messages, "Users.csv": b"id,email\n" + users}, "y.zip")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_mapped_files_of_any_bytes(body: bytes) -> None:
    from rse_adoption.ingest.mapped import load_mapping

    mapping = load_mapping(FIXTURES / "mapped" / "map.toml")
    check("Quand;Qui;Quoi;Où\n".encode() + body, "plateforme.csv", mapping=mapping)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "viva_engage_activity_user_detail_D7.csv",
            "viva_engage_activity_user_detail_D7.json",
            "teams_user_activity_user_detail_D30.csv",
            "slack_member_analytics.csv",
        ]
    ),
    st.floats(min_value=0, max_value=1),
    st.sampled_from(["keep", "utf-16", "latin-1"]),
)
def test_truncated_or_re_encoded_real_layouts(name: str, cut: float, encoding: str) -> None:
    """A download cut short, or re-saved in another encoding: rows or a clear error."""
    data = (FIXTURES / name).read_bytes()
    if encoding != "keep":
        data = data.decode("utf-8-sig").encode(encoding, errors="replace")
    options = {"period_end": datetime(2026, 3, 31).date(), "period_days": 30}
    check(data[: int(len(data) * cut)], name, **options)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(min_value=0, max_value=1), st.sampled_from(["slack_export", "yammer_export"]))
def test_truncated_zips(cut: float, export: str) -> None:
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        archive = shutil.make_archive(str(Path(tmp) / "e"), "zip", FIXTURES / export)
        data = Path(archive).read_bytes()
    check(data[: int(len(data) * cut)], "export.zip")


TWO_GB = 2 * 1024**3


@pytest.mark.parametrize(
    ("name", "header", "options"),
    [
        ("events.csv", b"timestamp,user,event_type\n2026-03-01T10:00:00Z,a@b.c,post\n", {}),
        (
            "events.jsonl",
            b'{"timestamp": "2026-03-01T10:00:00Z", "user": "a", "type": "post"}\n',
            {},
        ),
        ("viva.csv", VIVA + b"2026-03-31,a@x.fr,1,0,0,7\n", {}),
        (
            "report.json",
            b'{"value": [{"userPrincipalName": "a", "postedCount": 1, "readCount": 0, "likedCount": 0',
            {},
        ),
        (
            "plateforme.csv",
            "Quand;Qui;Quoi;Où\n31/03/2026 09:00;a@x.fr;Publication;\n".encode(),
            {"mapping": True},
        ),
    ],
)
def test_a_2_gb_line_is_a_clear_error_with_bounded_memory(
    tmp_path: Path, name: str, header: bytes, options: dict[str, object]
) -> None:
    """A file whose second record is one 2 GB line (a sparse file: no disk is used)."""
    from rse_adoption.ingest.mapped import load_mapping

    path = tmp_path / name
    with open(path, "wb") as f:
        f.write(header)
        f.seek(TWO_GB)
        f.write(b"\n")
    if options.get("mapping"):
        options = {"mapping": load_mapping(FIXTURES / "mapped" / "map.toml")}
    config = Settings(data_dir=tmp_path / "data")
    summary = ingest_paths([path], config, **options)  # type: ignore[arg-type]
    detail = summary.details[0]
    assert detail.status == "error" and name in (detail.message or "")
    assert any(w in (detail.message or "") for w in ("longer than", "larger than"))
    manifest = read_manifest(config.data_dir)
    assert manifest.event_files == [] and manifest.activity_files == [] and manifest.ledger == []


# --- every reader forced on every other format's file ---------------------------------


@pytest.fixture(scope="module")
def other_formats_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One file (or export folder) of every kind the readers meet: the test fixtures, the
    demo's platform exports, and small files built here (empty, a Slack day file alone, a
    Slack export without messages, another Microsoft 365 report, a gzip, plain text)."""
    import gzip
    import shutil

    from rse_adoption.demo import write_demo

    root = tmp_path_factory.mktemp("formats")
    write_demo(root / "demo", seed=7, scale=0.05)
    built = root / "built"
    (built / "listings").mkdir(parents=True)
    for name in ("users.json", "channels.json"):
        shutil.copy(FIXTURES / "slack_export" / name, built / "listings")
    (built / "empty.csv").write_bytes(b"")
    (built / "notes.txt").write_bytes(b"just some words, and ; a comma\n")
    (built / "2026-03-31.json").write_bytes(
        (FIXTURES / "slack_export/general/2026-03-31.json").read_bytes()
    )
    (built / "getEmailActivityUserDetail.csv").write_bytes(
        b"Report Refresh Date,User Principal Name,Send Count,Receive Count,Read Count,"
        b"Report Period\n2026-03-31,a@x.fr,1,2,3,7\n"
    )
    (built / "events.csv.gz").write_bytes(
        gzip.compress(b"timestamp,user,event_type\n2026-03-01T10:00:00Z,a@x.fr,post\n")
    )
    shutil.make_archive(str(built / "slack"), "zip", FIXTURES / "slack_export")
    shutil.make_archive(str(built / "yammer"), "zip", FIXTURES / "yammer_export")
    files = [
        *(p for p in sorted(FIXTURES.iterdir()) if p.is_file()),
        FIXTURES / "slack_export",
        FIXTURES / "yammer_export",
        FIXTURES / "mapped" / "plateforme.csv",
        *(p for p in sorted((root / "demo" / "platforms").rglob("*")) if p.is_file()),
        *sorted(built.iterdir()),
    ]
    return files


FORMAT_NAMES = list(INGEST_FORMATS)


@pytest.mark.parametrize("format_name", FORMAT_NAMES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=10_000),
    st.booleans(),
    st.booleans(),
)
def test_every_forced_format_on_every_file_gives_rows_or_a_one_line_error(
    other_formats_files: list[Path],
    format_name: str,
    which: int,
    as_json: bool,
    with_mapping: bool,
) -> None:
    """`ingest --format NAME` on any format's file: exit 0, 65 or 66 (docs/operations.md),
    never a traceback; each error is one line naming the file; with --json, standard output
    is exactly one JSON object."""
    from typer.testing import CliRunner

    from rse_adoption.cli import app

    path = other_formats_files[which % len(other_formats_files)]
    args = ["ingest", str(path), "--format", format_name, "--dry-run"]
    args += ["--period-end", "2026-03-31", "--period-days", "30"]
    if with_mapping:
        args += ["--mapping", str(FIXTURES / "mapped" / "map.toml")]
    if as_json:
        args.append("--json")
    with tempfile.TemporaryDirectory() as tmp:
        result = CliRunner().invoke(app, [*args, "--data-dir", str(Path(tmp) / "data")])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        result.exception,
    )
    assert result.exit_code in (0, 65, 66), (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    for line in errors:
        assert line.startswith("rse-adoption: error: "), (args, result.stderr)
    if as_json:
        summary = json.loads(result.stdout)
        assert isinstance(summary, dict) and summary["files"] >= 1
        assert all(line.startswith("rse-adoption: error: ") for line in result.stderr.splitlines())
        for detail in summary["details"]:
            if detail["status"] == "error":
                assert "\n" not in detail["message"]
                assert Path(detail["path"]).name in detail["message"], detail
