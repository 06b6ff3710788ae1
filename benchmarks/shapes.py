"""Event logs in the shapes users have, for the ingest matrix (benchmarks/run.py).

Each shape is a CSV layout seen in real exports: with or without an event id, timestamps
with `T` or a space, `Z`, a Paris offset or naive (read with `--timezone`), 5 to 12
columns, quoted or not, low-cardinality text (sites, spaces, event types) and
high-cardinality text (content ids, target people, event ids). Rows are generated with
numpy and written by pyarrow's CSV writer a million at a time, month after month (the order
exports have), seeded: the same call writes the same bytes.

`write_shape(name, rows, people, path)` writes one; `SHAPES` lists them with what they
stand for. The Slack-export and Viva Engage shapes are in `bundles.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

#: One year of activity, as the report benchmark's store has.
START = np.datetime64("2025-11-01T00:00:00", "s")
END = np.datetime64("2026-11-01T00:00:00", "s")
CHUNK_ROWS = 1_000_000
SITES = [
    "Paris",
    "Lyon",
    "Marseille",
    "Lille",
    "Nantes",
    "Bordeaux",
    "Toulouse",
    "Strasbourg",
    "Rennes",
    "Grenoble",
    "Nice",
    "Montpellier",
]
EVENT_TYPES = np.array(["view", "reaction", "comment", "post", "login"])
EVENT_WEIGHTS = np.array([0.55, 0.2, 0.1, 0.05, 0.1])
DEVICES = np.array(["web", "desktop", "ios", "android"])
LANGUAGES = np.array(["fr-FR", "en-GB", "de-DE", "es-ES"])


@dataclass(frozen=True)
class Shape:
    """One CSV layout: its columns (header names as users' files spell them), how its
    timestamps are written, whether every value is quoted, and the `ingest` options it
    needs (`--timezone` for naive timestamps)."""

    description: str
    columns: tuple[str, ...]
    timestamps: str  # "T_Z", "space_Z", "T_ms_Z", "paris_offset", "naive"
    quoted: bool = False
    ingest_options: tuple[str, ...] = ()


SHAPES: dict[str, Shape] = {
    "plain": Shape(
        "5 columns, unquoted, no event id, 2026-03-02T18:53:58Z",
        ("timestamp", "user", "event_type", "site", "space"),
        "T_Z",
    ),
    "ids-quoted": Shape(
        "6 columns, quoted, event ids, 2026-03-02 18:53:58Z",
        ("event_id", "timestamp", "user_id", "event_type", "site", "space"),
        "space_Z",
        quoted=True,
    ),
    "paris-offsets": Shape(
        "9 columns, unquoted, no event id, Paris offsets (+01:00/+02:00), "
        "content ids and target people",
        (
            "timestamp",
            "user",
            "event_type",
            "site",
            "space",
            "content_id",
            "target_user",
            "device",
            "language",
        ),
        "paris_offset",
    ),
    "naive-timezone": Shape(
        "7 columns, unquoted, naive local times read with --timezone Europe/Paris",
        ("timestamp", "user", "event_type", "site", "space", "content_id", "target_user"),
        "naive",
        ingest_options=("--timezone", "Europe/Paris"),
    ),
    "wide-quoted": Shape(
        "12 columns, quoted, event ids, milliseconds (2026-03-02T18:53:58.123Z), "
        "content ids, target people and six columns ingest does not keep",
        (
            "event_id",
            "timestamp",
            "user",
            "event_type",
            "site",
            "space",
            "content_id",
            "target_user",
            "device",
            "language",
            "client_version",
            "duration_ms",
        ),
        "T_ms_Z",
        quoted=True,
    ),
}


def _timestamps(rng: np.random.Generator, rows: int, part: int, parts: int) -> pa.Array:
    """`rows` sorted instants (seconds, or ms for T_ms_Z) in slice `part` of `parts` of
    the year: the file runs month after month."""
    span = (END - START).astype(np.int64) * 1000
    low, high = span * part // parts, span * (part + 1) // parts
    millis = np.sort(rng.integers(low, high, rows))
    return pa.array(START.astype("datetime64[ms]") + millis.astype("timedelta64[ms]"))


def _format_timestamps(ts: pa.Array, style: str) -> pa.Array:
    utc = ts.cast(pa.timestamp("ms", tz="UTC"))
    if style == "T_ms_Z":
        return pc.strftime(utc, format="%Y-%m-%dT%H:%M:%SZ")  # %S carries the ms
    seconds = ts.cast(pa.timestamp("s", tz="UTC"), safe=False)
    if style == "T_Z":
        return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")
    if style == "space_Z":
        return pc.strftime(seconds, format="%Y-%m-%d %H:%M:%SZ")
    paris = seconds.cast(pa.timestamp("s", tz="Europe/Paris"))
    if style == "naive":
        return pc.strftime(paris, format="%Y-%m-%d %H:%M:%S")
    if style == "paris_offset":
        text = pc.strftime(paris, format="%Y-%m-%dT%H:%M:%S%z")
        return pc.replace_substring_regex(text, r"(\d\d)(\d\d)$", r"\1:\2")
    raise ValueError(f"unknown timestamp style {style!r}")


def _prefixed(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def _chunk(
    shape: Shape,
    rng: np.random.Generator,
    rows: int,
    people: int,
    part: int,
    parts: int,
    first: int,
) -> pa.Table:
    # a few people do most of the activity (Zipf-like), as in every ESN
    person = np.minimum((rng.pareto(1.2, rows) * people / 20).astype(np.int64), people - 1)
    event_type = EVENT_TYPES[rng.choice(len(EVENT_TYPES), rows, p=EVENT_WEIGHTS)]
    ts = _timestamps(rng, rows, part, parts)
    values: dict[str, Callable[[], pa.Array]] = {
        "event_id": lambda: _prefixed("evt-", np.arange(first, first + rows)),
        "timestamp": lambda: _format_timestamps(ts, shape.timestamps),
        "user": lambda: pc.binary_join_element_wise(
            _prefixed("person", person), "corp.example", "@"
        ),
        "event_type": lambda: pa.array(event_type),
        "site": lambda: pa.array(np.array(SITES)[person % len(SITES)]),
        "space": lambda: _prefixed("community-", rng.integers(0, 400, rows)),
        "content_id": lambda: _prefixed("msg-", rng.integers(0, max(rows // 4, 1), rows) + first),
        "target_user": lambda: pc.binary_join_element_wise(
            _prefixed("person", rng.integers(0, people, rows)), "corp.example", "@"
        ),
        "device": lambda: pa.array(DEVICES[rng.integers(0, len(DEVICES), rows)]),
        "language": lambda: pa.array(LANGUAGES[rng.integers(0, len(LANGUAGES), rows)]),
        "client_version": lambda: _prefixed("1.", rng.integers(0, 60, rows)),
        "duration_ms": lambda: pa.array(rng.integers(0, 600_000, rows)).cast(pa.string()),
    }
    values["user_id"] = values["user"]
    return pa.table({name: values[name]() for name in shape.columns})


def write_shape(name: str, rows: int, people: int, path: Path, seed: int = 7) -> int:
    """Write `rows` events of shape `name` for `people` people to `path`; return rows."""
    shape = SHAPES[name]
    rng = np.random.default_rng(seed)
    parts = max(1, -(-rows // CHUNK_ROWS))
    options = pacsv.WriteOptions(
        quoting_style="all_valid" if shape.quoted else "none",
        quoting_header="needed" if shape.quoted else "none",
    )
    written = 0
    with pacsv.CSVWriter(
        path, _chunk(shape, rng, 1, 1, 0, 1, 0).schema, write_options=options
    ) as out:
        for part in range(parts):
            n = rows * (part + 1) // parts - written
            out.write_table(_chunk(shape, rng, n, people, part, parts, written))
            written += n
    return written
