"""Ingest: recognise each export, read it into canonical events, commit it whole or not at all.

Formats register in FORMATS: each module exposes `NAME`, `sniff(path) -> bool`,
`missing_columns(path) -> list[str]` and `read(path, context) -> Iterator[Batch]`; the first
whose sniff says yes wins. For every input file, `ingest_paths`:

1. skips it if a file with the same content hash is already in the ledger;
2. streams the reader's batches into staged Parquet files, one per UTC month;
3. removes duplicates — within the file and against events already stored for that month,
   by `event_key` — in DuckDB with bounded memory (a no-op rewrite is avoided when there
   is nothing to remove);
4. writes quarantined rows, then publishes data files, quarantine and a ledger entry in one
   manifest commit. A crash at any point leaves the store as before that file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import store
from ..config import Settings
from ..errors import DataError, NoInputError, RseError
from ..privacy import KeyCache, load_or_create_secret
from ..schema import EVENT_DICTIONARY_COLUMNS, EVENT_SCHEMA, EVENT_STATISTICS_COLUMNS
from . import events
from .canonical import ReadContext, connect
from .textio import EncodingMismatch, read_sample

FORMATS: dict[str, ModuleType] = {events.NAME: events}


@dataclass
class FileResult:
    """What happened to one input file. `status` is one of ingested, unchanged, skipped,
    error."""

    path: str
    status: str
    format: str | None = None
    rows_read: int = 0
    rows_ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    message: str | None = None


@dataclass
class IngestSummary:
    """Totals of one ingest run (the `--json` output) and the per-file detail."""

    files: int = 0
    rows_ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    files_skipped: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    details: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        self.details.append(result)
        self.files += 1
        self.rows_ingested += result.rows_ingested
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        self.files_skipped += result.status == "skipped"
        self.files_unchanged += result.status == "unchanged"
        self.files_failed += result.status == "error"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = [asdict(d) for d in self.details]
        return data


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files named, and files found recursively in folders named (hidden ones excepted),
    in a stable order. A path that does not exist is a NoInputError (exit 66)."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise NoInputError(f"{path}: no such file or folder")
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return files


def detect(path: Path) -> ModuleType | None:
    """The first format that recognises the file, or None."""
    for module in FORMATS.values():
        if module.sniff(path):
            return module
    return None


def closest_format(path: Path) -> str:
    """Why no format matched: the format missing the fewest columns, and those columns."""
    best: tuple[int, str, list[str]] | None = None
    for name, module in FORMATS.items():
        try:
            missing = module.missing_columns(path)
        except (RseError, OSError, UnicodeError, ValueError):
            continue
        if best is None or len(missing) < best[0]:
            best = (len(missing), name, missing)
    if best is None:
        return "not a recognised export (unreadable as CSV or JSON Lines)"
    return f"closest format '{best[1]}' lacks column(s): {', '.join(best[2])}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


#: Called after each input file with its result, the files done so far and the total.
ProgressCallback = Callable[[FileResult, int, int], None]


def ingest_paths(
    paths: Iterable[Path],
    settings: Settings,
    *,
    format_name: str = "auto",
    wait_seconds: float = 0.0,
    on_file: ProgressCallback | None = None,
) -> IngestSummary:
    """Ingest every file under `paths` into the store at `settings.data_dir`.

    Raises NoInputError before touching the store if a path is missing, StoreBusyError if
    another writer holds the lock. Unreadable files are reported in the summary with
    status "error" (nothing of them is stored); the other files still land.
    """
    if format_name != "auto" and format_name not in FORMATS:
        raise DataError(f"unknown format {format_name!r}; known: auto, {', '.join(FORMATS)}")
    files = expand_inputs(paths)
    summary = IngestSummary()
    data_dir = settings.data_dir
    with store.writing(data_dir, wait_seconds) as tx:
        secret = load_or_create_secret(data_dir)
        con = connect(settings.timezone, temp_dir=str(tx.staging / "duckdb"))
        ledger_by_hash = {entry["sha256"]: entry for entry in tx.manifest.ledger}
        key_cache = KeyCache(secret)
        identifiers: set[str] = set()  # those in the connection's person_keys table
        try:
            for done, path in enumerate(files, start=1):
                result = _ingest_one(
                    tx, con, key_cache, identifiers, path, format_name, ledger_by_hash
                )
                summary.add(result)
                if on_file is not None:
                    on_file(result, done, len(files))
        finally:
            con.close()
    return summary


def _ingest_one(
    tx: store.WriteTransaction,
    con: Any,
    key_cache: KeyCache,
    identifiers: set[str],
    path: Path,
    format_name: str,
    ledger_by_hash: dict[str, dict[str, Any]],
) -> FileResult:
    display = str(path)
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return FileResult(display, "error", message=f"{path}: cannot be read: {exc.strerror}")
    previous = ledger_by_hash.get(sha)
    if previous is not None:
        return FileResult(
            display,
            "unchanged",
            previous.get("format"),
            duplicates=int(previous.get("rows_ingested", 0)) + int(previous.get("duplicates", 0)),
            message=f"already ingested on {previous.get('ingested_at')}",
        )
    try:
        read_sample(path)
    except RseError as exc:
        return FileResult(display, "error", message=str(exc))
    module = FORMATS.get(format_name) if format_name != "auto" else detect(path)
    if module is None:
        return FileResult(display, "skipped", message=f"{path.name}: {closest_format(path)}")
    context = ReadContext(
        con=con, person_key=key_cache, source_file=path.name, known_identifiers=identifiers
    )
    try:
        try:
            result = _stage_and_commit(tx, con, module, path, context, sha)
        except EncodingMismatch:
            context.encoding = "cp1252"
            result = _stage_and_commit(tx, con, module, path, context, sha)
    except RseError as exc:
        return FileResult(display, "error", module.NAME, message=str(exc))
    ledger_by_hash[sha] = tx.manifest.ledger[-1]
    result.path = display
    return result


def _stage_and_commit(
    tx: store.WriteTransaction,
    con: Any,
    module: ModuleType,
    path: Path,
    context: ReadContext,
    sha: str,
) -> FileResult:
    staging = tx.staging / sha[:16]
    staging.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    staged_rows: dict[str, int] = {}
    rejects: list[pa.Table] = []
    try:
        for batch in module.read(path, context):
            if batch.rejects is not None and batch.rejects.num_rows:
                rejects.append(batch.rejects)
            if batch.events is not None and batch.events.num_rows:
                _stage_events(batch.events, staging, writers, staged_rows)
    except EncodingMismatch:
        _close_all(writers)
        for staged in staging.iterdir():
            staged.unlink()
        raise
    except (OSError, EOFError, zlib.error, pa.ArrowException, UnicodeError, ValueError) as exc:
        _close_all(writers)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise
        raise DataError(f"{path}: cannot be read: {exc}") from exc
    _close_all(writers)

    result = FileResult(str(path), "ingested", module.NAME)
    result.rows_read = sum(staged_rows.values())
    manifest = tx.manifest.copy()
    for month, rows in sorted(staged_rows.items()):
        staged_path = staging / f"month={month}.parquet"
        kept_path, kept, period = _deduplicate(con, tx, month, staged_path, rows)
        result.duplicates += rows - kept
        result.rows_ingested += kept
        if kept_path is not None:
            manifest.event_files.append(
                {"path": tx.relative(kept_path), "month": month, "rows": kept, **period}
            )
    if rejects:
        table = pa.concat_tables(rejects)
        result.quarantined = table.num_rows
        result.rows_read += table.num_rows
        q_path = tx.new_data_path("quarantine")
        pq.write_table(table, q_path)
        store.fsync_file(q_path)
        manifest.quarantine_files.append(
            {"path": tx.relative(q_path), "rows": table.num_rows, "source_file": path.name}
        )
    manifest.ledger.append(
        {
            "file": str(path.resolve()),
            "name": path.name,
            "sha256": sha,
            "size": path.stat().st_size,
            "format": module.NAME,
            "rows_read": result.rows_read,
            "rows_ingested": result.rows_ingested,
            "duplicates": result.duplicates,
            "quarantined": result.quarantined,
            "ingested_at": store.utc_now_iso(),
        }
    )
    tx.commit(manifest)
    return result


def _stage_events(
    table: pa.Table,
    staging: Path,
    writers: dict[str, pq.ParquetWriter],
    staged_rows: dict[str, int],
) -> None:
    """Append a converted batch to the staged file of each month it touches. A batch spanning
    several months (rare in time-ordered exports) is sorted so that months are slices."""
    months = table.column("month")
    bounds = pc.min_max(months).as_py()
    if bounds["min"] != bounds["max"]:
        table = table.take(pc.sort_indices(months))
    offset = 0
    for entry in pc.value_counts(table.column("month")).to_pylist():
        month, count = entry["values"], entry["counts"]
        part = table.slice(offset, count).drop_columns(["month"])
        offset += count
        writer = writers.get(month)
        if writer is None:
            writer = pq.ParquetWriter(
                staging / f"month={month}.parquet",
                EVENT_SCHEMA,
                use_dictionary=EVENT_DICTIONARY_COLUMNS,
                write_statistics=EVENT_STATISTICS_COLUMNS,
            )
            writers[month] = writer
        writer.write_table(part)
        staged_rows[month] = staged_rows.get(month, 0) + part.num_rows


def _close_all(writers: dict[str, pq.ParquetWriter]) -> None:
    for writer in writers.values():
        with contextlib.suppress(Exception):
            writer.close()


def _deduplicate(
    con: Any, tx: store.WriteTransaction, month: str, staged: Path, rows: int
) -> tuple[Path | None, int, dict[str, str]]:
    """Move the staged month file into the store, minus events already known.

    Returns the final path (None when nothing is new), the number of rows kept and the
    UTC dates of its first and last event (recorded in the manifest for reports).
    """
    committed = store.path_list([tx.data_dir / p for p in tx.manifest.event_paths(month)])
    params: dict[str, Any] = {"staged": str(staged)}
    distinct, first_day, last_day = con.execute(
        "SELECT count(DISTINCT event_key), min(ts)::DATE, max(ts)::DATE FROM read_parquet($staged)",
        params,
    ).fetchall()[0]
    period = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()}
    known = 0
    if committed:
        params["committed"] = committed
        known = con.execute(
            "SELECT count(*) FROM read_parquet($staged) s "
            "SEMI JOIN read_parquet($committed) c USING (event_key)",
            params,
        ).fetchall()[0][0]
    final = tx.new_data_path(f"events/month={month}")
    if distinct == rows and known == 0:
        os.replace(staged, final)
        store.fsync_file(final)
        return final, rows, period
    anti = "ANTI JOIN read_parquet($committed) c USING (event_key)" if committed else ""
    # COPY's target cannot be a parameter; `final` is a uuid path the store made.
    target = str(final).replace("'", "''")
    kept = con.execute(
        f"""COPY (
            SELECT DISTINCT ON (s.event_key) s.*
            FROM read_parquet($staged) s {anti}
            ORDER BY s.event_key, s.source_record
        ) TO '{target}' (FORMAT parquet)""",  # noqa: S608
        params,
    ).fetchall()[0][0]
    if kept == 0:
        final.unlink(missing_ok=True)
        return None, 0, period
    first_day, last_day = con.execute(
        "SELECT min(ts)::DATE, max(ts)::DATE FROM read_parquet($final)", {"final": str(final)}
    ).fetchall()[0]
    store.fsync_file(final)
    return final, int(kept), {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()}
