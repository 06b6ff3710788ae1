"""What an ingest is given: the input files under the paths named (a folder holding an
unzipped Slack or Yammer export is one input), their size and their content's SHA-256 (the
ledger's identity of a file already ingested)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

from ..errors import NoInputError
from . import archive
from .registry import BUNDLE_FORMATS


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files named, and files found recursively in folders named (hidden ones excepted),
    in a stable order. A folder holding an unzipped Slack or Yammer export (whole or
    partial: see each BUNDLE_FORMATS module's `is_export_dir`) is one input, read whole by
    its format. A path that does not exist is a NoInputError (exit 66)."""
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
    if any(module.is_export_dir(folder) for module in BUNDLE_FORMATS):
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
