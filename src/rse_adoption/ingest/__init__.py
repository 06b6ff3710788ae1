"""Ingest: recognise each export, read it into canonical events, commit it whole or not at all.

Formats register in FORMATS: each module exposes `NAME`, `sniff(path) -> bool`,
`missing_columns(path) -> list[str]` and `read(path, context) -> Iterator[Batch]`; the first
whose sniff says yes wins. For every input file, `ingest_paths`:

1. skips it if a file with the same content hash is already in the ledger;
2. streams the reader's batches into staged Parquet files, one per UTC month;
3. removes duplicates — within the file and against events already stored for that month,
   by event identity (`_WITH_ID`, `_WITHOUT_ID`) — in DuckDB with bounded memory (a no-op
   rewrite is avoided when there is nothing to remove);
4. writes quarantined rows, then publishes data files, quarantine and a ledger entry in one
   manifest commit. A crash at any point leaves the store as before that file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import threading
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import store
from ..config import Settings
from ..errors import ConcealedNamesError, DataError, NoInputError, RseError
from ..event_files import copy_events
from ..privacy import KeyCache, load_or_create_secret
from ..schema import EVENT_DICTIONARY_COLUMNS, EVENT_SCHEMA, EVENT_STATISTICS_COLUMNS
from . import (
    archive,
    events,
    mapped,
    periods,
    slack_analytics,
    slack_export,
    teams,
    viva_engage,
    yammer_export,
)
from .canonical import ReadContext, connect
from .mapped import Mapping
from .textio import EncodingMismatch, read_sample

#: Every format, in the order detection asks them: specific layouts first, the generic
#: event files last.
FORMATS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (slack_export, yammer_export, viva_engage, teams, slack_analytics, events, mapped)
}


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
    #: Rows of event types a mapping file says to ignore (neither stored nor quarantined).
    ignored: int = 0
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
    dry_run: bool = False
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
    in a stable order. A folder holding an unzipped Slack or Yammer export
    (archive.is_bundle_dir) is one input, read whole by its format. A path that does not
    exist is a NoInputError (exit 66)."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise NoInputError(f"{path}: no such file or folder")
        if path.is_dir():
            files.extend(_walk(path, path))
        else:
            files.append(path)
    return files


def _walk(folder: Path, root: Path) -> list[Path]:
    if archive.is_bundle_dir(folder):
        return [folder]
    found: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            found.extend(_walk(child, root))
        elif child.is_file():
            found.append(child)
    return found


def content_size(path: Path) -> int:
    """Bytes of a file, or of every file of a bundle folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in archive.bundle_files(path))
    return path.stat().st_size


def detect(path: Path, options: ReadOptions | None = None) -> ModuleType | None:
    """The first format that recognises the file, or None. A `--mapping` file is asked
    first: the user wrote it for their files."""
    if (
        options is not None
        and options.mapping is not None
        and mapped.sniff_mapped(path, options.mapping)
    ):
        return mapped
    for module in FORMATS.values():
        if module.sniff(path):
            return module
    return None


def closest_format(path: Path) -> str:
    """Why no format matched: a known report that holds nothing per person, or the format
    missing the fewest columns, and those columns."""
    unused = periods.unused_report(path) if path.is_file() else None
    if unused:
        return unused
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


def file_sha256(path: Path, cancelled: threading.Event | None = None) -> str:
    """SHA-256 of a file's bytes; of a bundle folder, of its files' names and hashes.
    Stops early (returning "") once `cancelled` is set: the file failed, its hash is moot."""
    if path.is_dir():
        listing = "\n".join(
            f"{p.relative_to(path).as_posix()}\t{file_sha256(p)}"
            for p in archive.bundle_files(path)
        )
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            if cancelled is not None and cancelled.is_set():
                return ""
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
    dry_run: bool = False,
    period_end: date | None = None,
    period_days: int | None = None,
    mapping: Mapping | None = None,
    daily: DailyReport | None = None,
) -> IngestSummary:
    """Ingest every file under `paths` into the store at `settings.data_dir`.

    `period_end` and `period_days` give the period of activity-count exports that do not
    state it (Slack member analytics); `mapping` is a parsed `--mapping` file, which
    makes files it matches readable as the `mapped` format. `daily` says the files are a
    fetcher's one-day report (see DailyReport).

    Raises NoInputError before touching the store if a path is missing, StoreBusyError if
    another writer holds the lock. Unreadable files are reported in the summary with
    status "error" (nothing of them is stored); the other files still land.
    With `dry_run`, everything is read, checked and de-duplicated against the store as a
    real run would, and the summary is the same, but nothing is committed (a store that
    does not exist yet is not created: the run uses a scratch folder).
    """
    if format_name != "auto" and format_name not in FORMATS:
        raise DataError(f"unknown format {format_name!r}; known: auto, {', '.join(FORMATS)}")
    files = expand_inputs(paths)
    summary = IngestSummary(dry_run=dry_run)
    options = ReadOptions(format_name, period_end, period_days, mapping, daily)
    with contextlib.ExitStack() as scratch:
        data_dir = settings.data_dir
        if dry_run and not (data_dir / store.MANIFEST).exists():  # do not create a store
            data_dir = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="rse-")))
        _ingest_files(files, data_dir, settings, options, wait_seconds, on_file, summary)
    return summary


@dataclass(frozen=True)
class DailyReport:
    """A one-day Microsoft 365 report a fetcher downloaded (fetch/m365.py), read like a
    file ingested by hand except that: its rows are the period of one day ending on `day`
    (ReadContext.day); it replaces that day's rows whole (Microsoft revises recent days);
    the fetcher decides whether it is new (the same bytes can be two empty days, so the
    content hash alone says nothing); concealed names refuse it (ConcealedNamesError,
    nothing stored); and `provenance` (report, day, refresh date...) goes into its ledger
    entry."""

    day: date
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOptions:
    """What the user told ingest about the files: a forced format ("auto" to detect), the
    period of activity-count exports that do not state it, a column mapping, and whether
    they are a fetcher's one-day report."""

    format_name: str = "auto"
    period_end: date | None = None
    period_days: int | None = None
    mapping: Mapping | None = None
    daily: DailyReport | None = None


def _ingest_files(
    files: list[Path],
    data_dir: Path,
    settings: Settings,
    options: ReadOptions,
    wait_seconds: float,
    on_file: ProgressCallback | None,
    summary: IngestSummary,
) -> None:
    with store.writing(data_dir, wait_seconds, dry_run=summary.dry_run) as tx:
        secret = load_or_create_secret(data_dir)
        con = connect(settings.timezone, temp_dir=str(tx.staging / "duckdb"))
        ledger_by_hash = {entry["sha256"]: entry for entry in tx.manifest.ledger}
        key_cache = KeyCache(secret)
        try:
            for done, path in enumerate(files, start=1):
                result = _ingest_one(tx, con, key_cache, path, options, ledger_by_hash)
                summary.add(result)
                if on_file is not None:
                    on_file(result, done, len(files))
        finally:
            con.close()


def _ingest_one(
    tx: store.WriteTransaction,
    con: Any,
    key_cache: KeyCache,
    path: Path,
    options: ReadOptions,
    ledger_by_hash: dict[str, dict[str, Any]],
) -> FileResult:
    display = str(path)
    try:
        size = content_size(path)
        # A file can only be in the ledger if an entry has its size: then hash it first and
        # skip it if known (the nightly re-run over the same folder). Otherwise its hash,
        # needed only for the ledger entry, is computed in a thread while it is read.
        known_size = any(entry.get("size") == size for entry in ledger_by_hash.values())
        sha = file_sha256(path) if known_size else None
    except OSError as exc:
        return FileResult(display, "error", message=f"{path}: cannot be read: {exc.strerror}")
    previous = ledger_by_hash.get(sha) if sha and options.daily is None else None
    if previous is not None:
        return FileResult(
            display,
            "unchanged",
            previous.get("format"),
            duplicates=int(previous.get("rows_ingested", 0)) + int(previous.get("duplicates", 0)),
            message=f"already ingested on {previous.get('ingested_at')}",
        )
    try:
        if path.suffix.lower() == ".zip" and path.is_file():
            archive.Bundle(path).close()  # a truncated or hostile zip is an error, not a skip
        elif not path.is_dir():
            read_sample(path)
            too_big = periods.oversized_json(path)
            if too_big:
                raise DataError(too_big)
    except RseError as exc:
        return FileResult(display, "error", message=str(exc))
    module = (
        FORMATS.get(options.format_name) if options.format_name != "auto" else detect(path, options)
    )
    if module is None:
        return FileResult(display, "skipped", message=f"{path.name}: {closest_format(path)}")
    context = ReadContext(
        con=con,
        person_key=key_cache,
        source_file=path.name,
        period_end=options.period_end,
        period_days=options.period_days,
        mapping=options.mapping,
        day=options.daily.day if options.daily is not None else None,
    )
    failed = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as hasher:
        content_hash: str | Future[str] = sha or hasher.submit(file_sha256, path, failed)
        try:
            try:
                result = _stage_and_commit(
                    tx, con, module, path, context, content_hash, options.daily
                )
            except EncodingMismatch:
                context.encoding = "cp1252"
                result = _stage_and_commit(
                    tx, con, module, path, context, content_hash, options.daily
                )
        except ConcealedNamesError:
            failed.set()
            raise  # the fetcher stops its run: every other day is concealed too
        except RseError as exc:
            failed.set()  # do not finish hashing a file that will not be committed
            return FileResult(display, "error", module.NAME, message=str(exc))
        except BaseException:
            failed.set()
            raise
    entry = tx.manifest.ledger[-1]
    ledger_by_hash[entry["sha256"]] = entry
    result.path = display
    return result


def _stage_and_commit(
    tx: store.WriteTransaction,
    con: Any,
    module: ModuleType,
    path: Path,
    context: ReadContext,
    sha: str | Future[str],
    daily: DailyReport | None = None,
) -> FileResult:
    """Stage the file's events by month, remove duplicates, and commit them with the
    quarantine and the ledger entry. `sha` is the file's SHA-256, or its computation under
    way (waited for before the commit)."""
    staging = tx.staging / uuid.uuid4().hex
    staging.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    months: dict[str, StagedMonth] = {}
    rejects: list[pa.Table] = []
    period_tables: list[pa.Table] = []
    ignored = 0
    # Parquet encoding runs in a second thread (pyarrow releases the GIL) while the next
    # batch is read and converted; at most two batches wait, so memory stays bounded.
    pending: deque[Future[None]] = deque()
    try:
        with ThreadPoolExecutor(max_workers=1) as writer_thread:
            try:
                for batch in module.read(path, context):
                    if batch.rejects is not None and batch.rejects.num_rows:
                        rejects.append(batch.rejects)
                    if batch.periods is not None and batch.periods.num_rows:
                        period_tables.append(batch.periods)
                    ignored += batch.ignored
                    if batch.events is not None and batch.events.num_rows:
                        pending.append(
                            writer_thread.submit(
                                _stage_events, batch.events, staging, writers, months
                            )
                        )
                        if len(pending) > 2:
                            pending.popleft().result()
            finally:
                for future in pending:  # wait for every write (and raise the first error)
                    future.result()
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

    try:
        content_sha = sha if isinstance(sha, str) else sha.result()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror}") from exc
    result = FileResult(str(path), "ingested", module.NAME)
    result.rows_read = sum(m.rows for m in months.values()) + ignored
    result.ignored = ignored
    manifest = tx.manifest.copy()
    for month, stats in sorted(months.items()):
        staged_path = staging / f"month={month}.parquet"
        kept_path, kept, period = _deduplicate(con, tx, month, staged_path, stats)
        result.duplicates += stats.rows - kept
        result.rows_ingested += kept
        if kept_path is not None:
            manifest.event_files.append(
                {
                    "path": tx.relative(kept_path),
                    "month": month,
                    "rows": kept,
                    "source_format": module.NAME,
                    **period,
                }
            )
    if daily is not None:
        concealed = sum(int(pc.sum(t["concealed"]).as_py() or 0) for t in period_tables)
        if concealed:
            raise ConcealedNamesError(f"{path.name}: {concealed_names_message(concealed)}")
        if not period_tables:  # revised to nobody active that day: no rows remain
            manifest.activity_files = [
                e
                for e in manifest.activity_files
                if (e["source_format"], int(e["period_days"]), e["refresh_date"])
                != (module.NAME, 1, daily.day.isoformat())
            ]
    if period_tables:
        merged = periods.merge_periods(
            con, tx, manifest, pa.concat_tables(period_tables), whole=daily is not None
        )
        result.rows_read += (
            merged.rows_new + merged.rows_replaced + merged.rows_unchanged + merged.rows_repeated
        )
        result.rows_ingested += merged.rows_new + merged.rows_replaced
        result.duplicates += merged.rows_unchanged + merged.rows_repeated
        notes = []
        if merged.rows_replaced:
            notes.append(f"{merged.rows_replaced} row(s) replaced those of an earlier export")
        if merged.concealed_rows:
            notes.append(concealed_names_message(merged.concealed_rows))
        result.message = "; ".join(notes) or None
    if ignored:
        note = f"{ignored} row(s) of event types the mapping ignores"
        result.message = f"{result.message}; {note}" if result.message else note
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
            "sha256": content_sha,
            "size": content_size(path),
            "format": module.NAME,
            "rows_read": result.rows_read,
            "rows_ingested": result.rows_ingested,
            "duplicates": result.duplicates,
            "quarantined": result.quarantined,
            "ingested_at": store.utc_now_iso(),
            **(daily.provenance if daily is not None else {}),
        }
    )
    tx.commit(manifest)
    return result


def _stage_events(
    table: pa.Table,
    staging: Path,
    writers: dict[str, pq.ParquetWriter],
    staged: dict[str, StagedMonth],
) -> None:
    """Append a converted batch to the staged file of each UTC month it touches. Exports
    come month after month, so a batch is nearly always one month, found from its first
    and last timestamps; only a batch spanning months is split row by row."""
    ts = table.column("ts")
    bounds = pc.min_max(ts).as_py()
    first, last = _month_of(bounds["min"]), _month_of(bounds["max"])
    if first == last:
        parts = [(first, table, bounds)]
    else:
        months = pc.add(pc.multiply(pc.year(ts), 100), pc.month(ts))
        parts = []
        for m in pc.unique(months).to_pylist():
            part = table.filter(pc.equal(months, m))
            parts.append((f"{m // 100:04d}-{m % 100:02d}", part, pc.min_max(part["ts"]).as_py()))
    for month, part, part_bounds in parts:
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
        stats = staged.setdefault(
            month, StagedMonth(first=part_bounds["min"], last=part_bounds["max"])
        )
        stats.rows += part.num_rows
        stats.with_id += part.num_rows - part.column("event_id").null_count
        stats.first = min(stats.first, part_bounds["min"])
        stats.last = max(stats.last, part_bounds["max"])


def concealed_names_message(rows: int) -> str:
    """What to tell a user whose Microsoft 365 export hides user names."""
    from ..metrics import CONCEALED_NAMES_FIX

    return (
        f"{rows} row(s) have concealed user names (32-character hashes): the tenant hides "
        "names in usage reports, so these people cannot be joined to the directory or to "
        f"sites. {CONCEALED_NAMES_FIX}"
    )


@dataclass
class StagedMonth:
    """What staging learnt of one month's events, so that de-duplication need not scan
    for it: how many, how many carry an event id, and the first and last instants."""

    first: datetime
    last: datetime
    rows: int = 0
    with_id: int = 0


def _month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _close_all(writers: dict[str, pq.ParquetWriter]) -> None:
    for writer in writers.values():
        with contextlib.suppress(Exception):
            writer.close()


#: What makes two events the same (docs/ingest.md): the source's event id within its
#: format when there is one, else the whole canonical content. Compared as values, not
#: hashed: exact, and no key column to compute and store. Events with and without an id
#: are compared separately (the two filters below), each on plain columns.
_WITH_ID = ("event_id IS NOT NULL", ("source_format", "event_id"))
_WITHOUT_ID = (
    "event_id IS NULL",
    ("ts", "user_key", "event_type", "space", "content_id", "target_user_key"),
)


def _same_event(columns: tuple[str, ...]) -> str:
    """Join condition of tables `s` and `c` on `columns` (nulls compare equal)."""
    return " AND ".join(f"s.{c} IS NOT DISTINCT FROM c.{c}" for c in columns)


def _new_events_sql(kind: str, columns: tuple[str, ...], against_committed: bool) -> str:
    """The staged events of one kind that are new: the first of each identity in the file
    (by record), none already committed."""
    anti = (
        f"ANTI JOIN read_parquet($committed) c ON {_same_event(columns)}"
        if against_committed
        else ""
    )
    return (
        f"(SELECT DISTINCT ON ({', '.join('s.' + c for c in columns)}) s.* "  # noqa: S608
        f"FROM read_parquet($staged) s {anti} WHERE s.{kind} "
        f"ORDER BY {', '.join('s.' + c for c in columns)}, s.source_record)"
    )


def _distinct_events(con: Any, params: dict[str, Any], where: str, columns: tuple[str, ...]) -> int:
    """How many distinct identities the staged events matching `where` hold. Counting
    distinct hashes first is twice as fast and nearly always settles it: when every row has
    its own hash there is nothing to remove. (The hash is DuckDB's, used within this query
    only, so its changes between versions do not matter.) Otherwise count exactly."""
    rows, hashes = con.execute(
        f"SELECT count(*), count(DISTINCT hash({', '.join(columns)})) "  # noqa: S608
        f"FROM read_parquet($staged) WHERE {where}",
        params,
    ).fetchall()[0]
    if hashes == rows:
        return int(rows)
    return int(
        con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(columns)} "  # noqa: S608
            f"FROM read_parquet($staged) WHERE {where})",
            params,
        ).fetchall()[0][0]
    )


def _deduplicate(
    con: Any, tx: store.WriteTransaction, month: str, staged: Path, stats: StagedMonth
) -> tuple[Path | None, int, dict[str, str]]:
    """Move the staged month file into the store, minus events already known.

    Returns the final path (None when nothing is new), the number of rows kept and the
    UTC dates of its first and last event (recorded in the manifest for reports).
    """
    committed = store.path_list([tx.data_dir / p for p in tx.manifest.event_paths(month)])
    params: dict[str, Any] = {"staged": str(staged)}
    both = {**params, "committed": committed}
    kinds = [
        kind
        for kind, count in ((_WITH_ID, stats.with_id), (_WITHOUT_ID, stats.rows - stats.with_id))
        if count
    ]
    period = {
        "first_day": stats.first.date().isoformat(),
        "last_day": stats.last.date().isoformat(),
    }
    distinct = sum(_distinct_events(con, params, where, columns) for where, columns in kinds)
    known = committed and sum(
        con.execute(
            "SELECT count(*) FROM read_parquet($staged) s "  # noqa: S608
            f"SEMI JOIN read_parquet($committed) c ON {_same_event(columns)} "
            f"WHERE s.{where}",
            both,
        ).fetchall()[0][0]
        for where, columns in kinds
    )
    final = tx.new_data_path(f"events/month={month}")
    if distinct == stats.rows and not known:
        os.replace(staged, final)
        store.fsync_file(final)
        return final, stats.rows, period
    new_events = " UNION ALL ".join(
        _new_events_sql(where, columns, bool(committed)) for where, columns in kinds
    )
    kept, days = copy_events(con, new_events, both if committed else params, final)
    if days is None:
        return None, 0, period
    return final, kept, days
