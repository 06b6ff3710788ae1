"""The ingest pipeline: every input file read by its format, staged, de-duplicated and
committed whole or not at all.

For every input file, `ingest_paths`:

1. skips it if a file with the same content hash is already in the ledger;
2. streams the reader's batches into staged Parquet files, one per UTC month;
3. removes duplicates — within the file and against events already stored for that month
   (dedupe.py) — in DuckDB with bounded memory;
4. writes quarantined rows, then publishes data files, quarantine and a ledger entry in one
   manifest commit. A crash at any point leaves the store as before that file.
"""

from __future__ import annotations

import contextlib
import errno
import tempfile
import threading
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import person_summary, store
from ..config import Settings
from ..errors import ConcealedNamesError, DataError, RseError
from ..privacy import KeyCache, load_or_create_secret
from ..schema import (
    EVENT_DICTIONARY_COLUMNS,
    EVENT_SCHEMA,
    EVENT_STATISTICS_COLUMNS,
)
from . import archive, m365_reports, period_commit, periods
from .canonical import Members, ReadContext, connect
from .dedupe import StagedMonth, deduplicate, drop_repeats, note_ids
from .inputs import content_size, expand_inputs, file_sha256
from .mapped import Mapping
from .period_merge import StagedRows
from .records import record_skipped, replace_members
from .registry import (
    FORMATS,
    DailyReport,
    Format,
    ReadOptions,
    closest_format,
    detect,
)
from .textio import EncodingMismatch, read_sample


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
    #: Replies whose replied-to message is neither in the file nor in the store (a Yammer
    #: export): read as comments without a target.
    replies_without_target: int = 0


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = [asdict(d) for d in self.details]
        return data


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
    fetched: dict[str, Any] | None = None,
) -> IngestSummary:
    """Ingest every file under `paths` into the store at `settings.data_dir`.

    `period_end` and `period_days` give the period of activity-count exports that do not
    state it (Slack member analytics); `mapping` is a parsed `--mapping` file, which
    makes files it matches readable as the `mapped` format. `daily` says the files are a
    fetcher's one-day report (see DailyReport). `fetched` says the files are a fetcher's
    download (fetch/slack.py): its provenance (what was fetched, up to when) goes into
    each file's ledger entry, and a reader does not refuse a download for holding nothing
    to count.

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
    if daily is None:  # files `fetch m365 --keep-raw` saved: each day's versions in order
        files = m365_reports.order_kept_raw(files)
    summary = IngestSummary(dry_run=dry_run)
    options = ReadOptions(format_name, period_end, period_days, mapping, daily, fetched)
    with contextlib.ExitStack() as scratch:
        data_dir = settings.data_dir
        if dry_run and not (data_dir / store.MANIFEST).exists():  # do not create a store
            data_dir = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="rse-")))
        _ingest_files(files, data_dir, settings, options, wait_seconds, on_file, summary)
    return summary


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
        outcomes: dict[str, FileResult] = {}
        try:
            for done, path in enumerate(files, start=1):
                with archive.shared_listings():  # a zip is listed once, not three times
                    result = _ingest_one(
                        tx, con, key_cache, path, _kept_raw_options(path, options), ledger_by_hash
                    )
                summary.add(result)
                outcomes[str(path.resolve())] = result
                if on_file is not None:
                    on_file(result, done, len(files))
        finally:
            con.close()
        record_skipped(tx, outcomes)


def _kept_raw_options(path: Path, options: ReadOptions) -> ReadOptions:
    """A file `fetch m365 --keep-raw` saved is read as the fetcher read it: the one-day
    period of the day in its name, replacing that day whole, with the fetcher's ledger
    keys (ingest/m365_reports.py `kept_raw`); any other file as the options say."""
    if options.daily is not None or options.fetched is not None:
        return options
    kept = m365_reports.kept_raw(path)
    if kept is None or options.format_name not in ("auto", kept.format_name):
        return options
    provenance = m365_reports.kept_raw_provenance(path, kept)
    return replace(options, format_name=kept.format_name, daily=DailyReport(kept.day, provenance))


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
    if options.daily is not None and options.daily.provenance.get("source") == "keep-raw":
        try:
            sha = sha or file_sha256(path)
        except OSError as exc:
            return FileResult(display, "error", message=f"{path}: cannot be read: {exc.strerror}")
        if m365_reports.kept_version_taken(tx.manifest.ledger, sha, options.daily.provenance):
            previous = next(e for e in reversed(tx.manifest.ledger) if e.get("sha256") == sha)
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
    named = None
    if options.period_end is None and options.period_days is None:
        named = periods.period_from_name(path.name)  # files that carry no period column
    context = ReadContext(
        con=con,
        person_key=key_cache,
        source_file=path.name,
        period_end=options.period_end if named is None else named[0],
        period_days=options.period_days if named is None else named[1],
        mapping=options.mapping,
        day=options.daily.day if options.daily is not None else None,
        fetched=options.fetched is not None,
        slack_channels=_slack_channels(tx.manifest),
        stored_events=lambda name: store.event_paths_of_format(tx, name),
    )
    failed = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as hasher:
        content_hash: str | Future[str] = sha or hasher.submit(file_sha256, path, failed)
        try:
            try:
                result = _stage_and_commit(tx, con, module, path, context, content_hash, options)
            except EncodingMismatch:
                context.encoding = "cp1252"
                result = _stage_and_commit(tx, con, module, path, context, content_hash, options)
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


def _slack_channels(manifest: store.Manifest) -> dict[str, str]:
    """Name -> id of each Slack channel `fetch slack` stored (its latest name)."""
    return {
        str(entry["slack_channel_name"]): str(entry["slack_channel"])
        for entry in manifest.ledger
        if entry.get("slack_channel") and entry.get("slack_channel_name")
    }


@dataclass
class Staged:
    """What reading one file left in its staging folder: the events' months (one Parquet
    file each), rejected rows, activity-period rows, notes for the user, ignored rows."""

    folder: Path
    months: dict[str, StagedMonth] = field(default_factory=dict)
    rejects: list[pa.Table] = field(default_factory=list)
    periods: list[pa.Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored: int = 0
    #: The platform's member list the file gives (a Slack export's users.json), if any.
    members: Members | None = None
    replies_without_target: int = 0
    #: The activity-period rows written as they were read (None: not staged, or not yet
    #: decided, `periods_decided`).
    period_rows: StagedRows | None = None
    periods_decided: bool = False


def _stage_and_commit(
    tx: store.WriteTransaction,
    con: Any,
    module: Format,
    path: Path,
    context: ReadContext,
    sha: str | Future[str],
    options: ReadOptions,
) -> FileResult:
    """Stage the file's events by month, remove duplicates, and commit them with the
    quarantine and the ledger entry. `sha` is the file's SHA-256, or its computation under
    way (waited for before the commit)."""
    staged = _stage(tx, module, path, context)
    try:
        content_sha = sha if isinstance(sha, str) else sha.result()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror}") from exc
    return _commit(tx, con, module, path, staged, content_sha, options.daily, options.fetched)


def _stage(tx: store.WriteTransaction, module: Format, path: Path, context: ReadContext) -> Staged:
    """Read `path` with `module` into a new staging folder, one Parquet file per UTC month.
    Parquet encoding runs in a second thread (pyarrow releases the GIL) while the next
    batch is read and converted; at most two batches wait, so memory stays bounded."""
    staged = Staged(tx.staging / uuid.uuid4().hex)
    staged.folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    pending: deque[Future[None]] = deque()
    try:
        with ThreadPoolExecutor(max_workers=1) as writer_thread:
            try:
                for batch in module.read(path, context):
                    if batch.rejects is not None and batch.rejects.num_rows:
                        staged.rejects.append(batch.rejects)
                    if batch.periods is not None and batch.periods.num_rows:
                        staged.periods.append(batch.periods)
                        _stage_periods(staged, tx.manifest, batch.periods, writer_thread, pending)
                    staged.ignored += batch.ignored
                    staged.replies_without_target += batch.replies_without_target
                    staged.notes.extend(batch.notes)
                    if batch.members is not None:
                        staged.members = batch.members
                    if batch.events is not None and batch.events.num_rows:
                        pending.append(
                            writer_thread.submit(
                                _stage_events, batch.events, staged.folder, writers, staged.months
                            )
                        )
                        if len(pending) > 2:
                            pending.popleft().result()
            finally:
                for future in pending:  # wait for every write (and raise the first error)
                    future.result()
                if staged.period_rows is not None:
                    staged.period_rows.close()
    except EncodingMismatch:
        _close_all(writers)
        for leftover in staged.folder.iterdir():
            leftover.unlink()
        raise
    except (OSError, EOFError, zlib.error, pa.ArrowException, UnicodeError, ValueError) as exc:
        _close_all(writers)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise
        raise DataError(f"{path}: cannot be read: {exc}") from exc
    _close_all(writers)
    return staged


def _stage_periods(
    staged: Staged,
    manifest: store.Manifest,
    table: pa.Table,
    writer_thread: ThreadPoolExecutor,
    pending: deque[Future[None]],
) -> None:
    """Write a batch of activity-period rows to the staging folder in the writer thread,
    while the next batch is read (`StagedRows`: the merge of a first export of a
    period is then a move); decided at the file's first batch."""
    if not staged.periods_decided:
        staged.periods_decided = True
        staged.period_rows = StagedRows.for_first_batch(staged.folder, manifest, table)
    if staged.period_rows is not None:
        pending.append(writer_thread.submit(staged.period_rows.write, table))
        if len(pending) > 2:
            pending.popleft().result()


def _commit(
    tx: store.WriteTransaction,
    con: Any,
    module: Format,
    path: Path,
    staged: Staged,
    content_sha: str,
    daily: DailyReport | None = None,
    fetched: dict[str, Any] | None = None,
    origin: dict[str, Any] | None = None,
) -> FileResult:
    """De-duplicate the staged months, merge activity periods, write the quarantine, and
    publish all of it with the file's ledger entry (with a fetcher's provenance) in one
    manifest commit. `origin` replaces the file's name, path, hash and size in the entry
    for events that were never a file (`ingest_fetched`)."""
    result = FileResult(str(path), "ingested", module.NAME)
    result.rows_read = sum(m.rows + m.repeats for m in staged.months.values()) + staged.ignored
    result.ignored = staged.ignored
    result.replies_without_target = staged.replies_without_target
    notes = list(staged.notes)
    manifest = tx.manifest.copy()
    for month, stats in sorted(staged.months.items()):
        kept_path, kept, period = deduplicate(
            con, tx, month, staged.folder / f"month={month}.parquet", stats
        )
        result.duplicates += stats.rows + stats.repeats - kept
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
        period_commit.replace_day(tx, module, path, staged, manifest, daily)
    if staged.periods:
        period_commit.merge_periods(
            tx, con, path, staged, manifest, result, notes, whole=daily is not None
        )
    if staged.ignored:
        notes.append(f"{staged.ignored} row(s) of event types the mapping ignores")
    result.message = "; ".join(notes) or None
    if staged.rejects:
        table = pa.concat_tables(staged.rejects)
        result.quarantined = table.num_rows
        result.rows_read += table.num_rows
        q_path = tx.new_data_path("quarantine")
        pq.write_table(table, q_path)
        store.fsync_file(q_path)
        manifest.quarantine_files.append(
            {"path": tx.relative(q_path), "rows": table.num_rows, "source_file": path.name}
        )
    if staged.members is not None:
        replace_members(tx, module, staged.members, manifest)
    if origin is None:
        origin = {
            "file": str(path.resolve()),
            "name": path.name,
            "sha256": content_sha,
            "size": content_size(path),
        }
    manifest.ledger.append(
        {
            **origin,
            "format": module.NAME,
            "rows_read": result.rows_read,
            "rows_ingested": result.rows_ingested,
            "duplicates": result.duplicates,
            "quarantined": result.quarantined,
            "ingested_at": store.utc_now_iso(),
            **(daily.provenance if daily is not None else {}),
            **(fetched or {}),
        }
    )
    person_summary.refresh(tx, con, manifest)
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
    for month, whole, part_bounds in parts:
        stats = staged.setdefault(
            month, StagedMonth(first=part_bounds["min"], last=part_bounds["max"])
        )
        part = drop_repeats(whole, stats)
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
        note_ids(part, stats, staged.values())
        stats.rows += part.num_rows
        stats.with_id += part.num_rows - part.column("event_id").null_count
        stats.first = min(stats.first, part_bounds["min"])
        stats.last = max(stats.last, part_bounds["max"])


def _month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _close_all(writers: dict[str, pq.ParquetWriter]) -> None:
    for writer in writers.values():
        with contextlib.suppress(Exception):
            writer.close()
