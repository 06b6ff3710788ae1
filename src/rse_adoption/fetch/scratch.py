"""The private folder where a fetcher's downloads wait for the ingest pipeline.

Downloads wait in a folder of the store, not in /tmp: a run killed halfway leaves personal
data only where the store's owner can read it, and the next run removes it. Each run holds
a lock on its own folder, so that no run removes a live one's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from .. import store

SCRATCH = ".fetch-tmp"


@contextlib.contextmanager
def scratch_folder(data_dir: Path, dry_run: bool) -> Iterator[Path]:
    """A new owner-only folder under `data_dir`/.fetch-tmp, removed on exit (a dry run on a
    store that does not exist yet uses a temporary folder instead: it creates no store)."""
    if dry_run and not (data_dir / store.MANIFEST).exists():  # do not create a store
        with tempfile.TemporaryDirectory(prefix="rse-fetch-") as scratch:
            yield Path(scratch)
        return
    root = data_dir / SCRATCH
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in root.iterdir():  # left by killed runs: their lock died with them
        try:
            fd = os.open(old / ".lock", os.O_RDWR)
        except OSError:
            shutil.rmtree(old, ignore_errors=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(old, ignore_errors=True)
        except BlockingIOError:
            pass  # a live run's
        finally:
            os.close(fd)
    folder = root / uuid.uuid4().hex
    folder.mkdir(mode=0o700)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
