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


#: Columns pyarrow writes with a dictionary: not the person key or the record number,
#: whose values are all different (trying costs time, and the writer gives up).
DICTIONARY_COLUMNS = [
    name for name in ACTIVITY_SCHEMA.names if name not in ("person_key", "source_record")
]


class StagedRows:
    """A file's activity-period rows written to a Parquet file of its staging folder while
    the file is read (in the pipeline's writer thread, overlapping the reading and the
    person keys' workers). When the file turns out to list each person once in one
    period that the store does not hold yet — a first export, the usual case — this file
    is the merge's result, moved into the store as it is: nothing is written after the
    reading ends. Otherwise it is dropped and the merge queries as before."""

    NAME = "activity-periods.parquet"

    def __init__(self, folder: Path, partition: tuple[str, int, date]) -> None:
        self.path = folder / self.NAME
        self.partition = partition
        self.rows = 0
        self._writer: Any = None

    @classmethod
    def for_first_batch(
        cls, folder: Path, manifest: store.Manifest, table: pa.Table
    ) -> StagedRows | None:
        """Rows to stage, from the file's first batch of period rows: None when the store
        already holds rows of that batch's first row's period (they will be merged)."""
        partition = _first_partition(table)
        for entry in manifest.activity_files:
            held = (entry["source_format"], int(entry["period_days"]), entry["refresh_date"])
            if held == (partition[0], partition[1], partition[2].isoformat()):
                return None
        return cls(folder, partition)

    def write(self, table: pa.Table) -> None:
        """Append a batch (in the writer thread)."""
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.path, ACTIVITY_SCHEMA, use_dictionary=DICTIONARY_COLUMNS
            )
        self._writer.write_table(
            table if table.schema == ACTIVITY_SCHEMA else table.cast(ACTIVITY_SCHEMA)
        )
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


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
    staged: StagedRows | None = None,
) -> MergeResult:
    """Write `table`'s rows into `manifest` (not yet committed): for each (format, period
    days, refresh date) present, one new file holding the stored rows of other people and
    the new rows, replacing the previous file. A person listed twice in the same file and
    period keeps their last row. With `whole` (a day fetched again after Microsoft revised
    it), the new rows replace the period's rows entirely: nobody's old row is kept.
    `staged`: the same rows already written while the file was read (`StagedRows`)."""
    result = MergeResult(concealed_rows=int(pc.sum(table["concealed"]).as_py() or 0))
    distinct = table if each_person_once(table) else None
    con.register("incoming", table)
    try:
        partitions = (
            [_first_partition(table)]  # one partition (each_person_once): no scan
            if distinct is not None and table.num_rows
            else con.execute(
                "SELECT DISTINCT source_format, period_days, refresh_date FROM incoming "
                "ORDER BY ALL"
            ).fetchall()
        )
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
                staged,
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
    staged: StagedRows | None = None,
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
        written = _write_rows(distinct, target, staged)
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


def _first_partition(table: pa.Table) -> tuple[str, int, date]:
    """(format, period days, refresh date) of `table`'s first row."""
    first = table.slice(0, 1).select(["source_format", "period_days", "refresh_date"])
    row = first.to_pylist()[0]
    return (row["source_format"], row["period_days"], row["refresh_date"])


def _write_rows(table: pa.Table, target: Path, staged: StagedRows | None) -> int:
    """Write `table`, a file's rows listing each person once, to the Parquet file `target`
    in the file's order; its number of rows. The staged file of the same rows, when it
    holds them all, is moved there instead (`StagedRows`). (The merge's query writes its
    files ordered by person key; nothing reads them in that order, and sorting a million
    rows cost a third of this merge.)"""
    import os

    import pyarrow.parquet as pq

    partition = _first_partition(table)
    if staged is not None and staged.rows == table.num_rows and staged.partition == partition:
        staged.close()
        os.replace(staged.path, target)
    else:
        pq.write_table(table, target, use_dictionary=DICTIONARY_COLUMNS)
    return table.num_rows


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
