"""Activity-period rows into the store: a file's period told by its name, the rows that
contradict each other (one person, one period, other counts) quarantined, and the merge
of a file's rows with those held for the same (format, period, refresh date)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import store
from ..event_files import copy_rows
from ..schema import ACTIVITY_SCHEMA
from .canonical import rejects_table

#: A Microsoft 365 report with "conceal user, group and site names" on: user principal
#: names and display names become 32 uppercase hexadecimal characters.

#: The activity counts of a period row (schema.ACTIVITY_SCHEMA), compared between rows.
COUNT_FIELDS = ("posts", "replies", "reactions", "reads", "other_activity")

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
    would be a silent guess. Exact repeats stay (the merge counts them as duplicates).
    A file of one period listing nobody twice (the usual case) needs no query."""
    if each_person_once(table):
        return table, None
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


def each_person_once(table: pa.Table) -> bool:
    """Whether all of `table`'s rows are of one (format, period, refresh date) and no person
    is listed twice: then the merge needs no de-duplication (a file of a million people
    merges in a fraction of the time)."""
    for name in ("source_format", "period_days", "refresh_date"):
        if pc.count_distinct(table[name]).as_py() > 1:
            return False
    keys = np.sort(table["person_key"].to_numpy())
    return not np.any(keys[1:] == keys[:-1])


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
    distinct = table if each_person_once(table) else None
    con.register("incoming", table)
    try:
        partitions = con.execute(
            "SELECT DISTINCT source_format, period_days, refresh_date FROM incoming ORDER BY ALL"
        ).fetchall()
        for source_format, period_days, refresh_date in partitions:
            _merge_partition(
                con,
                tx,
                manifest,
                source_format,
                period_days,
                refresh_date,
                result,
                whole,
                distinct,
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
    distinct: pa.Table | None = None,
) -> None:
    """`distinct`: the incoming rows, when they are this partition's only and list nobody
    twice (`each_person_once`): then no window picks each person's last row, and nothing
    counts repeats."""
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
    if distinct is not None:  # this partition's rows only, each person once
        new_rows = new_rows.split(" QUALIFY ")[0]
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
    elif distinct is not None:
        total, unchanged, replaced = distinct.num_rows, 0, 0
        select = new_rows
    else:
        total = con.execute(f"SELECT count(*) FROM ({new_rows})", params).fetchall()[0][0]  # noqa: S608
        unchanged = replaced = 0
        select = new_rows
    result.rows_unchanged += int(unchanged)
    result.rows_replaced += int(replaced) - int(unchanged)
    result.rows_new += int(total) - int(replaced)
    if distinct is None:
        result.rows_repeated += int(
            con.execute(
                "SELECT count(*) FROM incoming WHERE source_format = $format "
                "AND period_days = $days AND refresh_date = $refresh::DATE",
                {k: params[k] for k in ("format", "days", "refresh")},
            ).fetchall()[0][0]
        ) - int(total)
    target = tx.new_data_path("activity")
    if distinct is not None and select == new_rows:  # the file's rows alone: no query
        written = _write_sorted(distinct, target)
        concealed = int(pc.sum(distinct["concealed"]).as_py() or 0)
    else:
        written = copy_rows(con, f"SELECT * FROM ({select}) ORDER BY person_key", params, target)  # noqa: S608
        concealed = int(
            con.execute(
                "SELECT count(*) FILTER (WHERE concealed) FROM read_parquet($file)",
                {"file": str(target)},
            ).fetchall()[0][0]
        )
    store.fsync_file(target)
    _replace_entries(tx, manifest, same, target, written, concealed, params, period_days)


def _write_sorted(table: pa.Table, target: Path) -> int:
    """Write `table`, rows ordered by person key as the query's files are, to the Parquet
    file `target` with pyarrow; its number of rows. For a file's rows that list each person
    once this is the whole merge, in a fraction of DuckDB's sorted COPY: the keys are
    unique (any sort gives the same order), a column of one value or of nulls is the same
    in any order, and numpy gathers a column of numbers in a third of Arrow's `take` time."""
    import pyarrow.parquet as pq

    order = np.argsort(table["person_key"].to_numpy())
    columns = []
    for column in table.columns:
        if column.null_count == len(column) or _one_value(column):
            columns.append(column)
        elif column.null_count or pa.types.is_string(column.type):
            columns.append(column.take(pa.array(order)))
        else:
            values = column.to_numpy()[order]
            columns.append(pa.array(values, column.type))
    pq.write_table(pa.table(columns, schema=table.schema), target)
    return table.num_rows


def _one_value(column: pa.ChunkedArray) -> bool:
    """Whether every cell of `column` (no nulls) holds the same value."""
    if column.null_count or not len(column):
        return False
    return bool(pc.all(pc.equal(column, column[0])).as_py())


def _replace_entries(
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    same: list[dict[str, Any]],
    target: Path,
    rows: int,
    concealed: int,
    params: dict[str, Any],
    period_days: int,
) -> None:
    """The partition's new file in `manifest`, in place of the files it replaces."""
    manifest.activity_files = [e for e in manifest.activity_files if e not in same]
    manifest.activity_files.append(
        {
            "path": tx.relative(target),
            "source_format": params["format"],
            "period_days": period_days,
            "refresh_date": params["refresh"],
            "rows": rows,
            "concealed_rows": concealed,
        }
    )
