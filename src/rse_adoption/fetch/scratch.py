"""The private folder where a fetcher's downloads wait for the ingest pipeline.

Downloads wait in a folder of the store, not in /tmp: a run killed halfway leaves personal
data only where the store's owner can read it, and the next run removes it. Each run holds
a lock on its own folder, so that no run removes a live one's — and the folder appears
with its lock already held: it is made under a hidden name (which no run removes unless it
is a day old), locked, then renamed into place, so a run starting at any moment never
sees a live folder unlocked (issue 27, item 14).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from .. import store

SCRATCH = ".fetch-tmp"
#: A folder still under its hidden name after this long was left by a run killed while
#: making it (the making takes microseconds).
HIDDEN_LEFTOVER_SECONDS = 24 * 3600


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
    name = uuid.uuid4().hex
    making = root / f".new-{name}"
    making.mkdir(mode=0o700)
    fd = -1
    folder = root / name
    try:
        fd = os.open(making / ".lock", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(making, folder)  # visible only now, locked
        _remove_abandoned(root, keep=folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(making, ignore_errors=True)
        if fd >= 0:
            os.close(fd)


def _remove_abandoned(root: Path, keep: Path) -> None:
    """Remove the folders of runs that died (their lock died with them)."""
    for old in root.iterdir():
        if old == keep:
            continue
        if old.name.startswith("."):  # being made by a live run, unless a day old
            with contextlib.suppress(OSError):
                if time.time() - old.stat().st_mtime > HIDDEN_LEFTOVER_SECONDS:
                    shutil.rmtree(old, ignore_errors=True)
            continue
        try:
            fd = os.open(old / ".lock", os.O_RDWR)
        except OSError:  # no lock: left by a run killed before it made one
            shutil.rmtree(old, ignore_errors=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(old, ignore_errors=True)
        except BlockingIOError:
            pass  # a live run's
        finally:
            os.close(fd)
