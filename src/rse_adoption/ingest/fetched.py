"""Events a fetcher read into memory, ingested like a file's (fetch/slack.py): staged by
month, de-duplicated against the store and committed with one ledger entry by the
pipeline's own steps, without a file between the API and the store."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import store
from ..config import Settings
from ..errors import RseError
from ..privacy import KeyCache, load_or_create_secret
from .canonical import Batch, ReadContext, connect
from .pipeline import FileResult, _commit, _stage

#: Reads the events a fetcher holds in memory (`ingest_fetched`).
FetchedReader = Callable[[ReadContext], Iterator[Batch]]


@dataclass
class _Fetched:
    """Events a fetcher holds in memory, staged like a file read by the format `NAME`."""

    NAME: str
    reader: FetchedReader

    def sniff(self, path: Path) -> bool:
        return False

    def missing_columns(self, path: Path) -> list[str]:
        return []

    def read(self, path: Path, context: ReadContext) -> Iterator[Batch]:
        return self.reader(context)


def ingest_fetched(
    origin: dict[str, Any],
    reader: FetchedReader,
    settings: Settings,
    *,
    format_name: str,
    wait_seconds: float = 0.0,
    dry_run: bool = False,
    fetched: dict[str, Any],
) -> FileResult:
    """Ingest events a fetcher read into memory (fetch/slack.py) as one commit, staged and
    de-duplicated like a file's: `reader` gives their batches, `origin` the ledger entry's
    `name`, `file`, `sha256` and `size`, `fetched` its provenance. Nothing is written but
    the store's own files. Raises StoreBusyError if another writer holds the lock; a
    DataError of the reader is the result's error."""
    module = _Fetched(format_name, reader)
    name = Path(str(origin["name"]))
    with contextlib.ExitStack() as scratch:
        data_dir = settings.data_dir
        if dry_run and not (data_dir / store.MANIFEST).exists():  # do not create a store
            data_dir = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="rse-")))
        with store.writing(data_dir, wait_seconds, dry_run=dry_run) as tx:
            con = connect(settings.timezone, temp_dir=str(tx.staging / "duckdb"))
            try:
                context = ReadContext(
                    con=con,
                    person_key=KeyCache(load_or_create_secret(data_dir)),
                    source_file=name.name,
                    fetched=True,
                    stored_events=lambda format_name: store.event_paths_of_format(tx, format_name),
                )
                try:
                    staged = _stage(tx, module, name, context)
                    return _commit(tx, con, module, name, staged, "", None, fetched, origin)
                except RseError as exc:
                    return FileResult(str(name), "error", format_name, message=str(exc))
            finally:
                con.close()
