"""The local store: Parquet files made visible by one atomically replaced manifest.

Layout of a data folder (documented in docs/store.md):

    manifest.json                 the only source of truth: live files, directory, ledger
    events/month=YYYY-MM/*.parquet  immutable event files, hive-partitioned by UTC month
    activity/*.parquet            per-person counts over a period (Microsoft 365, Slack
                                  analytics), one file per (format, period, refresh date)
    quarantine/*.parquet          rows that could not become events, with file, line, reason
    directory/*.parquet           the employee directory (one live file)
    members/*.parquet             platforms' member lists (one live file per format)
    summary/*.parquet             each person's firsts, events per site, contribution weeks
    tmp/                          staging area of the running writer; emptied by the next one
    write.lock, read.lock         advisory locks (fcntl)
    secret.key                    pseudonymisation secret (see privacy.py)

Data files are written under unique names first, then one manifest naming them is written
to a temporary file, fsynced and renamed over `manifest.json` (the shape of Delta Lake's
log). A crash before the rename leaves the previous manifest untouched and the new files
orphaned; the next writer deletes orphans. Readers take a shared `read.lock` and read only
what the manifest names, so a writer never deletes a file a reader may be reading.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import NoInputError, StoreBusyError, StoreIOError

MANIFEST = "manifest.json"
#: 2: events identified by their values (format 1 stored an MD5 `event_key` column).
FORMAT_VERSION = 2
DATA_FOLDERS = (
    "events",
    "activity",
    "quarantine",
    "directory",
    "history",
    "members",
    "summary",
)


@dataclass
class Manifest:
    """What the store holds. Paths are relative to the data folder."""

    version: int = 0
    event_files: list[dict[str, Any]] = field(default_factory=list)
    quarantine_files: list[dict[str, Any]] = field(default_factory=list)
    directory: dict[str, Any] | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)
    #: One entry per `forget` run: when, and how much was erased; never whom.
    erasures: list[dict[str, Any]] = field(default_factory=list)
    #: Per-site figures of `report --history` runs (history.py): aggregates only.
    history_files: list[dict[str, Any]] = field(default_factory=list)
    #: Activity-period files (schema.ACTIVITY_SCHEMA), one per (source_format,
    #: period_days, refresh_date): {path, source_format, period_days, refresh_date, rows,
    #: concealed_rows}.
    activity_files: list[dict[str, Any]] = field(default_factory=list)
    #: Input files an ingest found in no known format, until a later run ingests the same
    #: path (or it is gone): {path (absolute), reason, skipped_at}. `status` warns of them.
    skipped_files: list[dict[str, Any]] = field(default_factory=list)
    #: Platforms' member lists (schema.MEMBER_SCHEMA), the latest one per source format
    #: (a Slack export's users.json): {path, source_format, listed_on, rows}.
    member_files: list[dict[str, Any]] = field(default_factory=list)
    #: The per-person summary of the event files (person_summary.py): {path, events (the
    #: fingerprint of the event files it covers), people, sites, site_rows, weeks,
    #: week_rows}; None before the first events.
    person_summary: dict[str, Any] | None = None
    #: The change team's actions (`rse-adoption interventions FILE`, interventions.py):
    #: {path, source_file, rows, loaded_at}; replaced whole by each load.
    interventions: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "version": self.version,
            "event_files": self.event_files,
            "quarantine_files": self.quarantine_files,
            "directory": self.directory,
            "ledger": self.ledger,
            "erasures": self.erasures,
            "history_files": self.history_files,
            "activity_files": self.activity_files,
            "skipped_files": self.skipped_files,
            "member_files": self.member_files,
            "person_summary": self.person_summary,
            "interventions": self.interventions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            version=int(data.get("version", 0)),
            event_files=list(data.get("event_files", [])),
            quarantine_files=list(data.get("quarantine_files", [])),
            directory=data.get("directory"),
            ledger=list(data.get("ledger", [])),
            erasures=list(data.get("erasures", [])),
            history_files=list(data.get("history_files", [])),
            activity_files=list(data.get("activity_files", [])),
            skipped_files=list(data.get("skipped_files", [])),
            member_files=list(data.get("member_files", [])),
            person_summary=data.get("person_summary"),
            interventions=data.get("interventions"),
        )

    def copy(self) -> Manifest:
        """An independent copy to build the next state on (the committed one stays as is)."""
        return Manifest.from_json(self.to_json())

    def event_paths(self, month: str | None = None) -> list[str]:
        return [f["path"] for f in self.event_files if month is None or f["month"] == month]

    def live_paths(self) -> set[str]:
        paths = {f["path"] for f in self.event_files}
        paths |= {f["path"] for f in self.quarantine_files}
        paths |= {f["path"] for f in self.history_files}
        paths |= {f["path"] for f in self.activity_files}
        paths |= {f["path"] for f in self.member_files}
        if self.directory:
            paths.add(self.directory["path"])
        if self.person_summary:  # the firsts, and the sites' and weeks' tables when held
            summary = self.person_summary
            paths |= {summary[k] for k in ("path", "sites", "weeks") if summary.get(k)}
        if self.interventions:
            paths.add(self.interventions["path"])
        return paths


def path_list(paths: list[Path]) -> list[str]:
    """File paths as DuckDB takes them in a bound `read_parquet($files)` parameter."""
    return [str(p) for p in paths]


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def require_store(data_dir: Path) -> None:
    """NoInputError (exit 66) when `data_dir` holds no store (not a folder, or a folder
    without a manifest): commands that only read or edit an existing store must not create
    one on a mistyped --data-dir, and say the same of an empty folder as of a missing one."""
    if not (data_dir / MANIFEST).is_file():
        raise NoInputError(f"{data_dir}: no store here (nothing ingested yet?)")


def read_manifest(data_dir: Path) -> Manifest:
    """The committed manifest, or an empty one for a store that does not exist yet."""
    path = data_dir / MANIFEST
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Manifest()
    data = json.loads(raw)
    if data.get("format") != FORMAT_VERSION:
        raise StoreIOError(
            f"{path}: store format {data.get('format')!r}, this version reads format "
            f"{FORMAT_VERSION}; re-ingest the exports into a new --data-dir"
        )
    return Manifest.from_json(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a finished data file to disk before a manifest may name it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_manifest(data_dir: Path, manifest: Manifest) -> None:
    tmp = data_dir / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest.to_json(), f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, data_dir / MANIFEST)
    _fsync_dir(data_dir)


@contextlib.contextmanager
def _flock(path: Path, mode: int, wait_seconds: float, what: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"store {path.parent} is busy: {what}; retry later or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def reading(data_dir: Path, wait_seconds: float = 600.0) -> Iterator[Manifest]:
    """A consistent snapshot for readers: the manifest, with its files kept alive.
    NoInputError (exit 66) when there is no store: a reader never creates one (a mistyped
    --data-dir must not leave a folder and a lock file behind)."""
    require_store(data_dir)
    with _flock(data_dir / "read.lock", fcntl.LOCK_SH, wait_seconds, "files are being removed"):
        yield read_manifest(data_dir)


@dataclass
class WriteTransaction:
    """One writer's session on the store, holding the write lock.

    `staging` is a private folder for files not yet committed; `commit` publishes a new
    manifest atomically and may be called once per input file so that each file lands
    whole or not at all.
    """

    data_dir: Path
    manifest: Manifest
    staging: Path
    #: A dry run's commits change only the in-memory manifest; the files it wrote are
    #: deleted when the transaction ends.
    dry_run: bool = False

    def new_data_path(self, folder: str, suffix: str = ".parquet") -> Path:
        """A unique final path for a data file (its folder is created)."""
        path = self.data_dir / folder / f"{uuid.uuid4().hex}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.data_dir).as_posix()

    def commit(self, manifest: Manifest) -> None:
        """Publish `manifest` as the store's new state (atomic rename of an fsynced file)."""
        manifest.version = self.manifest.version + 1
        if self.dry_run:
            self.manifest = manifest
            return
        try:
            _write_manifest(self.data_dir, manifest)
        except OSError as exc:
            raise StoreIOError(f"could not write {self.data_dir / MANIFEST}: {exc}") from exc
        self.manifest = manifest


def remove_orphans(data_dir: Path, manifest: Manifest) -> int:
    """Delete data files no manifest names (left by a crash or superseded). Needs no reader."""
    live = manifest.live_paths()
    removed = 0
    for folder in DATA_FOLDERS:
        base = data_dir / folder
        if not base.exists():
            continue
        for path in base.rglob("*"):
            if path.is_file() and path.relative_to(data_dir).as_posix() not in live:
                path.unlink(missing_ok=True)
                removed += 1
    for stale in data_dir.glob(f".{MANIFEST}.*.tmp"):
        stale.unlink(missing_ok=True)
    return removed


def remove_orphans_unless_read(data_dir: Path, manifest: Manifest) -> bool:
    """Remove orphan files now if no reader holds the store (True), else leave them for
    the next writer (False): a report may still be reading them."""
    try:
        with _flock(data_dir / "read.lock", fcntl.LOCK_EX, 0.0, "a report is reading"):
            remove_orphans(data_dir, manifest)
            return True
    except StoreBusyError:
        return False


@contextlib.contextmanager
def writing(
    data_dir: Path, wait_seconds: float = 0.0, *, dry_run: bool = False
) -> Iterator[WriteTransaction]:
    """Exclusive write access: one writer at a time, the others wait or get StoreBusyError.

    On entry, the previous writer's leftovers (staging folder, orphan files) are removed;
    orphans only when no reader holds the read lock.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with _flock(data_dir / "write.lock", fcntl.LOCK_EX, wait_seconds, "another ingest is running"):
        tmp_root = data_dir / "tmp"
        shutil.rmtree(tmp_root, ignore_errors=True)
        manifest = read_manifest(data_dir)
        remove_orphans_unless_read(data_dir, manifest)
        staging = tmp_root / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            yield WriteTransaction(
                data_dir=data_dir, manifest=manifest, staging=staging, dry_run=dry_run
            )
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StoreIOError(
                    f"disk full while writing to {data_dir}; nothing of the current file was "
                    "committed, free some space and run again"
                ) from exc
            raise
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
            if dry_run:  # what the dry run wrote is named by no committed manifest
                remove_orphans_unless_read(data_dir, read_manifest(data_dir))


def event_paths_of_format(tx: WriteTransaction, format_name: str) -> list[str]:
    """Paths of the store's event files read by `format_name`, as committed so far."""
    return path_list(
        [
            tx.data_dir / f["path"]
            for f in tx.manifest.event_files
            if f.get("source_format") == format_name
        ]
    )
