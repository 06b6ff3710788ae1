"""Per-person counts over a period: the shared reader of Microsoft 365 usage reports
(Viva Engage, Teams) and Slack member analytics, and their merge into the store.

These exports are not events: each row says how many messages a person posted, liked or
read over the `period_days` days ending on `refresh_date`. They are kept at that grain in
the activity-period table (schema.ACTIVITY_SCHEMA) rather than turned into invented
events. A format module describes its columns (`PeriodFormat`: canonical field -> header
names, compared without case, blanks or punctuation, so the Graph CSV headers, the admin
center's display headers and the JSON camelCase keys all match) and this module reads CSV
or Graph JSON, parses dates and counts, pseudonymises people, flags concealed names and
quarantines bad rows with their line.

Idempotence is by key, not by file: (format, period, refresh date, person). Committing a
file's rows replaces the stored rows of the same key, so a re-export of the same period
with other bytes replaces them, and overlapping periods are kept apart, never summed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .. import store
from ..errors import DataError
from ..event_files import copy_rows
from ..schema import ACTIVITY_SCHEMA
from .canonical import Batch, ReadContext, rejects_table
from .m365_reports import explain
from .report_files import MAX_JSON_BYTES, header_key, headers_of, is_json, json_records
from .textio import (
    iter_csv_records,
    read_sample,
    sniff_delimiter,
    sniff_text,
)

#: A Microsoft 365 report with "conceal user, group and site names" on: user principal
#: names and display names become 32 uppercase hexadecimal characters.
CONCEALED_NAME = re.compile(r"[0-9A-F]{32}")
#: Count fields of the activity-period table.
COUNT_FIELDS = ("posts", "replies", "reactions", "reads", "other_activity")


@dataclass(frozen=True)
class PeriodFormat:
    """How one export names its columns.

    `columns`: canonical field -> accepted header names. Fields: `user` (required),
    `refresh_date`, `period` (both optional: `--period-end`/`--period-days` stand in),
    the COUNT_FIELDS, and `other:*` fields summed into other_activity (yes/no flags count
    as 1/0). `required`: the fields whose headers make a file this format's."""

    name: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    concealable: bool = False
    #: Turns the parsed counts of one row into the stored counts (e.g. Slack's direct
    #: messages moved from posts to other activity). Default: unchanged.
    adjust: Callable[[dict[str, int | None]], dict[str, int | None]] | None = None


def match(fmt: PeriodFormat, headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """Canonical field -> position of its header; and the required fields missing."""
    keys = [header_key(h) for h in headers]
    found: dict[str, int] = {}
    for f, names in fmt.columns.items():  # the first alias present wins (Email before User ID)
        for name in names:
            if header_key(name) in keys:
                position = keys.index(header_key(name))
                if position not in found.values():
                    found[f] = position
                    break
    missing = [fmt.columns[f][0] for f in fmt.required if f not in found]
    return found, missing


def oversized_json(path: Path) -> str | None:
    """Why a `.json` file cannot be read, when it is one JSON document (not JSON Lines)
    larger than MAX_JSON_BYTES: such a document is read whole. None otherwise."""
    if not path.name.lower().endswith(".json") or path.stat().st_size <= MAX_JSON_BYTES:
        return None
    first = read_sample(path, 1 << 16).split(b"\n", 1)
    if len(first) == 2:
        try:
            if isinstance(json.loads(first[0].decode("utf-8-sig")), dict):
                return None  # JSON Lines: read line by line, any size
        except (ValueError, UnicodeDecodeError):
            pass
    return (
        f"{path}: a JSON document larger than {MAX_JSON_BYTES >> 20} MiB (and not JSON "
        "Lines): not an export this tool reads whole"
    )


def missing_columns(fmt: PeriodFormat, path: Path) -> list[str]:
    return match(fmt, headers_of(path))[1]


def sniff(fmt: PeriodFormat, path: Path) -> bool:
    try:
        return not missing_columns(fmt, path)
    except (DataError, OSError, UnicodeError):
        return False


def _records(path: Path, context: ReadContext) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (line, fields) of every row, CSV or JSON alike (a JSON object's line is
    its position in the list, counting from 1)."""
    if is_json(path):
        records = json_records(path)
        headers: list[str] = []
        for obj in records:
            if isinstance(obj, dict):
                headers.extend(str(k) for k in obj if str(k) not in headers)

        def rows() -> Iterator[tuple[int, list[str]]]:
            for position, obj in enumerate(records, start=1):
                if not isinstance(obj, dict):
                    yield position, []
                    continue
                yield position, [_json_text(obj.get(h)) for h in headers]

        return headers, rows()
    info = sniff_text(path)
    delimiter = sniff_delimiter(info.first_line)
    records_iter = iter_csv_records(path, context.encoding or info.encoding, delimiter)
    first = next(records_iter, None)
    return (first[1] if first else []), records_iter


def _json_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return "+".join(str(v) for v in value)
    return str(value)


_FLAGS = {"true": 1, "yes": 1, "oui": 1, "false": 0, "no": 0, "non": 0, "": 0}


def parse_count(raw: str) -> int:
    """A count: an integer; an empty cell is 0 (Microsoft writes some zeros as empty);
    `True`/`False` and `Yes`/`No` are 1/0. ValueError otherwise."""
    if raw.isdigit() and raw.isascii():  # the usual cell, read directly
        return int(raw)
    text = raw.strip()
    flag = _FLAGS.get(text.lower())
    if flag is not None:
        return flag
    value = float(text.replace("\u202f", "").replace(" ", ""))
    if value < 0 or value != int(value):
        raise ValueError(text)
    return int(value)


@functools.lru_cache(maxsize=4096)
def parse_date(raw: str) -> date:
    """`YYYY-MM-DD` (Microsoft 365), `DD/MM/YYYY` (re-saved by French Excel), or
    `Mar 17, 2025` (Slack analytics); a time part is ignored."""
    text = raw.strip()
    for fmt, part in (("%Y-%m-%d", text[:10]), ("%d/%m/%Y", text[:10]), ("%b %d, %Y", text)):
        try:
            return datetime.strptime(part, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_period(raw: str) -> int:
    """Days of a report period: `7`, `D7`, `30`, `D30`... (any positive number of days)."""
    text = raw.strip().upper().removeprefix("D")
    days = int(text)
    if not 1 <= days <= 3660:
        raise ValueError(raw)
    return days


#: Rows turned into an Arrow table at a time (bounds the reader's memory).
BATCH_ROWS = 100_000


@dataclass
class _Rows:
    columns: dict[str, list[Any]] = field(
        default_factory=lambda: {f.name: [] for f in ACTIVITY_SCHEMA}
    )
    users: list[str] = field(default_factory=list)
    reject_lines: list[int] = field(default_factory=list)
    reject_reasons: list[str] = field(default_factory=list)
    reject_raw: list[str] = field(default_factory=list)

    def reject(self, line: int, reason: str, fields: list[str], delimiter: str = ",") -> None:
        self.reject_lines.append(line)
        self.reject_reasons.append(reason)
        self.reject_raw.append(delimiter.join(fields)[:2000])


def read(fmt: PeriodFormat, path: Path, context: ReadContext) -> Iterator[Batch]:
    """The file's activity-period rows, BATCH_ROWS at a time; the last batch carries the
    quarantined rows."""
    headers, records = _records(path, context)
    positions, missing = match(fmt, headers)
    if missing:
        why = explain(path) or f"missing column(s) {', '.join(missing)}"
        raise DataError(f"{path}: not a {fmt.name} export: {why}")
    if context.day is None:
        lacks_end = "refresh_date" not in positions and context.period_end is None
        lacks_days = "period" not in positions and context.period_days is None
        if lacks_end and lacks_days:
            raise DataError(
                f"{path}: this {fmt.name} export does not say its period; give "
                "--period-end YYYY-MM-DD and --period-days N (the last day and the length of "
                "the period chosen when it was exported)"
            )
        if lacks_end:
            raise DataError(
                f"{path}: this {fmt.name} export has no 'Report Refresh Date' column, so the "
                "last day of its period is unknown (its rows give the period's length); "
                "give --period-end YYYY-MM-DD"
            )
        if lacks_days:
            raise DataError(
                f"{path}: this {fmt.name} export has no 'Report Period' column, so the "
                "length of its period is unknown; give --period-days N"
            )
    rows = _Rows()
    width = len(headers)
    record_number = 0
    for line, fields in records:
        if len(fields) != width:
            rows.reject(line, f"expected {width} columns, found {len(fields)}", fields)
            continue
        record_number += 1
        problem = _add_row(fmt, positions, fields, context, rows, record_number)
        if problem:
            rows.reject(line, problem, fields)
        elif len(rows.users) >= BATCH_ROWS:
            yield Batch(periods=_periods_table(rows, context))
    periods = _periods_table(rows, context) if rows.users else None
    rejects = (
        rejects_table(
            [path.name] * len(rows.reject_lines),
            rows.reject_lines,
            rows.reject_reasons,
            rows.reject_raw,
        )
        if rows.reject_lines
        else None
    )
    yield Batch(periods=periods, rejects=rejects)


def _periods_table(rows: _Rows, context: ReadContext) -> pa.Table:
    """The rows gathered since the last call, keyed and as an Arrow table; `rows` is
    emptied (Python lists take ten times the memory of the table)."""
    rows.columns["person_key"] = context.person_key.many(rows.users, remember=False)
    table = pa.table(rows.columns, schema=ACTIVITY_SCHEMA)
    for values in rows.columns.values():
        values.clear()
    rows.users.clear()
    return table


def _add_row(
    fmt: PeriodFormat,
    positions: dict[str, int],
    fields: list[str],
    context: ReadContext,
    rows: _Rows,
    record_number: int,
) -> str | None:
    """Parse one row into `rows`; the reason it cannot be, or None."""

    def cell(name: str) -> str | None:
        position = positions.get(name)
        return None if position is None else fields[position]

    user = (cell("user") or "").strip()
    if not user:
        return "missing user"
    # A report fetched for one day (Graph's `date=`) is the period of that day: its own
    # "Report Refresh Date" is the latest date of Microsoft's data, not the day asked for.
    day = context.day.isoformat() if context.day is not None else None
    raw_refresh = day or cell("refresh_date")
    try:
        refresh = parse_date(raw_refresh) if raw_refresh is not None else context.period_end
    except ValueError:
        return f"bad date {json.dumps(raw_refresh)}"
    raw_period = "1" if day else cell("period")
    try:
        period = parse_period(raw_period) if raw_period is not None else context.period_days
    except ValueError:
        return f"bad report period {json.dumps(raw_period)}"
    counts: dict[str, int | None] = {}
    other = 0
    for name, position in positions.items():
        if name in ("user", "refresh_date", "period"):
            continue
        try:
            value = parse_count(fields[position])
        except ValueError:
            return f"bad count {json.dumps(fields[position][:40])} in {fmt.columns[name][0]}"
        if name.startswith("other:"):
            other += value
        else:
            counts[name] = value
    if any(n.startswith("other:") for n in positions):
        counts["other_activity"] = counts.get("other_activity", 0) or 0
        counts["other_activity"] = (counts["other_activity"] or 0) + other
    if fmt.adjust is not None:
        counts = fmt.adjust(counts)
    out = rows.columns
    out["source_format"].append(fmt.name)
    out["refresh_date"].append(refresh)
    out["period_days"].append(period)
    for name in COUNT_FIELDS:
        out[name].append(counts.get(name))
    out["concealed"].append(bool(fmt.concealable and CONCEALED_NAME.fullmatch(user)))
    out["source_file"].append(context.source_file)
    out["source_record"].append(record_number)
    rows.users.append(user)
    return None


_NAMED_PERIOD = re.compile(r"(\d{4}-\d{2}-\d{2})\D{1,3}(\d{4}-\d{2}-\d{2})")


def period_from_name(name: str) -> tuple[date, int] | None:
    """(last day, days) of a period a file's name states as its first and last day
    (`member-analytics_2026-08-03_2026-10-31.csv`), or None. Used only for exports whose
    rows do not say their period (Slack member analytics); --period-end/--period-days win."""
    found = _NAMED_PERIOD.search(name)
    if found is None:
        return None
    try:
        first, last = (date.fromisoformat(found.group(i)) for i in (1, 2))
    except ValueError:
        return None
    days = (last - first).days + 1
    return (last, days) if 1 <= days <= 3660 else None


def split_conflicts(
    con: duckdb.DuckDBPyConnection, table: pa.Table, file_name: str
) -> tuple[pa.Table, pa.Table | None]:
    """(`table` less the rows of people listed more than once in one period with different
    counts, those rows as quarantined ones). Such rows contradict each other (a sanitised
    export that gives everyone the same name, two exports pasted together): keeping one
    would be a silent guess. Exact repeats stay (the merge counts them as duplicates)."""
    counts = ", ".join(COUNT_FIELDS)
    con.register("incoming", table)
    try:
        conflicting = con.sql(
            f"""
            SELECT source_format, period_days, refresh_date, person_key,
                   count(*) AS n, list(source_record ORDER BY source_record) AS records
            FROM incoming
            GROUP BY ALL
            HAVING count(DISTINCT ({counts}, concealed)) > 1
            """  # noqa: S608 -- only constants are formatted in
        ).to_arrow_table()
        if not conflicting.num_rows:
            return table, None
        con.register("conflicting", conflicting)
        kept = con.sql(
            "SELECT i.* FROM incoming i ANTI JOIN conflicting c USING "
            "(source_format, period_days, refresh_date, person_key) ORDER BY i.source_record"
        ).to_arrow_table()
        con.unregister("conflicting")
    finally:
        con.unregister("incoming")
    reasons = []  # one quarantined row per row dropped, so that the file's rows add up
    for n, records in zip(
        conflicting["n"].to_pylist(), conflicting["records"].to_pylist(), strict=True
    ):
        shown = ", ".join(str(r) for r in records[:5]) + (", …" if len(records) > 5 else "")
        reasons += [
            f"record {record}: one person listed on {n} rows of the same period with "
            f"different counts (records {shown}): none of them kept; is the export "
            "sanitised, or two exports joined?"
            for record in records
        ]
    rejects = rejects_table(
        [file_name] * len(reasons),
        [None] * len(reasons),  # type: ignore[list-item]
        reasons,
        [None] * len(reasons),  # type: ignore[list-item]
    )
    return kept.cast(ACTIVITY_SCHEMA), rejects


@dataclass
class MergeResult:
    """What committing a file's activity rows did to the table."""

    rows_new: int = 0
    rows_replaced: int = 0
    rows_unchanged: int = 0
    #: Rows of a person listed again in the same file and period (the last one is kept).
    rows_repeated: int = 0
    concealed_rows: int = 0


def merge_periods(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    table: pa.Table,
    *,
    whole: bool = False,
) -> MergeResult:
    """Write `table`'s rows into `manifest` (not yet committed): for each (format, period
    days, refresh date) present, one new file holding the stored rows of other people and
    the new rows, replacing the previous file. A person listed twice in the same file and
    period keeps their last row. With `whole` (a day fetched again after Microsoft revised
    it), the new rows replace the period's rows entirely: nobody's old row is kept."""
    result = MergeResult(concealed_rows=int(pc.sum(table["concealed"]).as_py() or 0))
    con.register("incoming", table)
    try:
        partitions = con.execute(
            "SELECT DISTINCT source_format, period_days, refresh_date FROM incoming ORDER BY ALL"
        ).fetchall()
        for source_format, period_days, refresh_date in partitions:
            _merge_partition(
                con, tx, manifest, source_format, period_days, refresh_date, result, whole
            )
    finally:
        con.unregister("incoming")
    return result


def _merge_partition(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    source_format: str,
    period_days: int,
    refresh_date: date,
    result: MergeResult,
    whole: bool = False,
) -> None:
    same = [
        entry
        for entry in manifest.activity_files
        if entry["source_format"] == source_format
        and int(entry["period_days"]) == period_days
        and entry["refresh_date"] == refresh_date.isoformat()
    ]
    params: dict[str, Any] = {
        "format": source_format,
        "days": period_days,
        "refresh": refresh_date.isoformat(),
    }
    new_rows = (
        "SELECT * FROM incoming WHERE source_format = $format AND period_days = $days "
        "AND refresh_date = $refresh::DATE "
        "QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY source_record DESC) = 1"
    )
    counts = ", ".join(COUNT_FIELDS)
    if same:
        params["old"] = store.path_list([tx.data_dir / e["path"] for e in same])
        unchanged, replaced, total = con.execute(
            f"""
            WITH n AS ({new_rows}), o AS (SELECT * FROM read_parquet($old))
            SELECT count(*) FILTER (WHERE o.person_key IS NOT NULL
                                      AND (n.{counts.replace(", ", ", n.")}) IS NOT DISTINCT FROM
                                          (o.{counts.replace(", ", ", o.")})),
                   count(o.person_key), count(*)
            FROM n LEFT JOIN o USING (person_key)
            """,  # noqa: S608 -- only constants are formatted in
            params,
        ).fetchall()[0]
        select = (
            f"SELECT * FROM ({new_rows}) UNION ALL "  # noqa: S608
            f"SELECT * FROM read_parquet($old) WHERE person_key NOT IN "
            f"(SELECT person_key FROM incoming WHERE source_format = $format "
            f"AND period_days = $days AND refresh_date = $refresh::DATE)"
        )
        if whole:
            select = new_rows
            del params["old"]
    else:
        total = con.execute(f"SELECT count(*) FROM ({new_rows})", params).fetchall()[0][0]  # noqa: S608
        unchanged = replaced = 0
        select = new_rows
    result.rows_unchanged += int(unchanged)
    result.rows_replaced += int(replaced) - int(unchanged)
    result.rows_new += int(total) - int(replaced)
    result.rows_repeated += int(
        con.execute(
            "SELECT count(*) FROM incoming WHERE source_format = $format AND period_days = $days "
            "AND refresh_date = $refresh::DATE",
            {k: params[k] for k in ("format", "days", "refresh")},
        ).fetchall()[0][0]
    ) - int(total)
    target = tx.new_data_path("activity")
    written = copy_rows(con, f"SELECT * FROM ({select}) ORDER BY person_key", params, target)  # noqa: S608
    concealed = int(
        con.execute(
            "SELECT count(*) FILTER (WHERE concealed) FROM read_parquet($file)",
            {"file": str(target)},
        ).fetchall()[0][0]
    )
    store.fsync_file(target)
    manifest.activity_files = [e for e in manifest.activity_files if e not in same]
    manifest.activity_files.append(
        {
            "path": tx.relative(target),
            "source_format": source_format,
            "period_days": period_days,
            "refresh_date": refresh_date.isoformat(),
            "rows": written,
            "concealed_rows": concealed,
        }
    )


def plugin(
    fmt: PeriodFormat,
) -> tuple[
    Callable[[Path], bool],
    Callable[[Path], list[str]],
    Callable[[Path, ReadContext], Iterator[Batch]],
]:
    """The (sniff, missing_columns, read) functions a format module exposes, for `fmt`."""
    return (
        lambda path: sniff(fmt, path),
        lambda path: missing_columns(fmt, path),
        lambda path, context: read(fmt, path, context),
    )
