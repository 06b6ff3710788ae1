"""Export bundles — a zip archive or the folder it unzips to — read safely, without
extracting anything to disk.

Real exports (Slack workspace export, Yammer network data export) are zips of many
members. A zip from elsewhere is untrusted input, so:
- member names are checked: no absolute path, no `..`, no drive letter or backslash, no
  NUL; an unsafe name rejects the whole archive (a crafted zip is not a real export);
- only the members a reader asks for are read, each with a size cap enforced while
  reading (a zip's declared sizes can lie), and the archive's total uncompressed size and
  each member's compression ratio are bounded (zip bombs);
- nothing is written to disk, so no path can escape anywhere.
Limits can be raised with RSE_ADOPTION_MAX_UNZIPPED_MB for genuinely huge exports.
"""

from __future__ import annotations

import contextlib
import os
import threading
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError

#: Total uncompressed bytes an archive may hold (default 16 GiB; Slack exports of large
#: workspaces reach a few GiB).
MAX_TOTAL_BYTES = 16 << 30
#: Largest single member read (a Slack day file or a Yammer Messages.csv).
MAX_MEMBER_BYTES = 4 << 30
#: Largest compression ratio accepted for a member of more than 1 MiB: JSON and CSV
#: compress 5-20x; a zip bomb compresses thousands of times.
MAX_RATIO = 200
MAX_MEMBERS = 1_000_000


def _limit_total() -> int:
    raw = os.environ.get("RSE_ADOPTION_MAX_UNZIPPED_MB")
    return int(raw) << 20 if raw and raw.isdigit() else MAX_TOTAL_BYTES


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path)


def require_bundle(path: Path, export: str, hint: str | None = None) -> None:
    """DataError unless `path` is a zip archive or a folder: a bundle format forced on a
    plain file says what it expected (and `hint`, what the file seems to be), rather than
    calling the file a broken zip."""
    if path.is_dir() or is_zip(path):
        return
    what = hint or f"expected the {export}'s zip archive or the folder it unzips to"
    raise DataError(f"{path}: not a {export}: {what}")


def safe_member_name(name: str) -> bool:
    """A relative POSIX path inside the archive, with no way out of it."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return False
    if len(name) > 1 and name[1] == ":":  # C:...
        return False
    return ".." not in name.split("/")


#: Zips already opened and checked by this thread inside `shared_listings`, by (path,
#: size, modification time): (the open ZipFile, its members by name, the names in order).
_shared = threading.local()


@contextlib.contextmanager
def shared_listings() -> Iterator[None]:
    """Within this block, a zip that is opened again (the ingest's safety check, format
    detection, then the reader) is not listed and checked again: a Slack export's listing
    of 60,000 day files takes 0.3 s each time. The zips opened here are closed at its end;
    a file changed meanwhile is listed afresh."""
    if getattr(_shared, "zips", None) is not None:
        yield
        return
    _shared.zips = {}
    try:
        yield
    finally:
        zips, _shared.zips = _shared.zips, None
        for opened, _, _ in zips.values():
            opened.close()


class Bundle:
    """The members of a zip or of a folder, by relative POSIX name (folders excluded)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._read_total = 0
        self._shared = False  # the ZipFile is shared_listings', which closes it
        if path.is_dir():
            self._names = sorted(
                p.relative_to(path).as_posix()
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            return
        shared = getattr(_shared, "zips", None)
        try:
            status = path.stat()
            key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
            if shared is not None and key in shared:
                self._zip, self._infos, self._names = shared[key]
                self._shared = True
                return
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(
                f"{path}: not a readable zip archive (a truncated or corrupt download?): {exc}"
            ) from None
        infos = [i for i in self._zip.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise DataError(f"{path}: more than {MAX_MEMBERS} members: not an export")
        total = 0
        for info in infos:
            if not safe_member_name(info.filename):
                raise DataError(
                    f"{path}: unsafe member name {info.filename[:80]!r} (absolute or with ..): "
                    "refused"
                )
            total += info.file_size
            if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise DataError(
                    f"{path}: member {info.filename[:80]!r} expands {info.file_size // max(info.compress_size, 1)}x: "
                    "refused as a possible zip bomb"
                )
        if total > _limit_total():
            raise DataError(
                f"{path}: {total >> 20} MiB uncompressed, over the {_limit_total() >> 20} MiB "
                "limit (raise RSE_ADOPTION_MAX_UNZIPPED_MB for a genuinely larger export)"
            )
        self._infos = {i.filename: i for i in infos}
        self._names = sorted(self._infos)
        if shared is not None:
            shared[key] = (self._zip, self._infos, self._names)
            self._shared = True

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None and not self._shared:
            self._zip.close()

    def names(self) -> list[str]:
        return list(self._names)

    def size(self, name: str) -> int:
        """A member's uncompressed size in bytes, as the zip declares it (a folder's file:
        as it is on disk)."""
        if self._zip is None:
            return (self.path / name).stat().st_size
        return self._infos[name].file_size

    def count_read(self, nbytes: int) -> None:
        """Count `nbytes` read out of a zip (by this process or by workers reading it for
        it); DataError once the total passes the limit. A folder is not counted."""
        if self._zip is None:
            return
        self._read_total += nbytes
        if self._read_total > _limit_total():
            raise DataError(
                f"{self.path}: more than {_limit_total() >> 20} MiB uncompressed: refused"
            )

    def find(self, basename: str) -> str | None:
        """The shallowest member whose file name is `basename` (case-insensitive)."""
        wanted = basename.lower()
        matches = [n for n in self._names if n.rstrip("/").rpartition("/")[2].lower() == wanted]
        return min(matches, key=lambda n: (n.count("/"), n)) if matches else None

    def head(self, name: str, size: int) -> bytes:
        """The first `size` bytes of a member (for recognising it; never the whole of it)."""
        if self._zip is None:
            with open(self.path / name, "rb") as f:
                return f.read(size)
        try:
            with self._zip.open(self._infos[name]) as f:
                return f.read(size)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            raise DataError(f"{self.path}: member {name!r} cannot be read: {exc}") from None

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """A member's bytes; DataError past `limit` bytes (counted while reading)."""
        if self._zip is None:
            target = self.path / name
            if target.stat().st_size > limit:
                raise DataError(f"{self.path}/{name}: larger than {limit >> 20} MiB")
            return target.read_bytes()
        if self._infos[name].file_size > limit:
            raise DataError(f"{self.path}: member {name!r} larger than {limit >> 20} MiB")
        try:
            with self._zip.open(self._infos[name]) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            raise DataError(f"{self.path}: member {name!r} cannot be read: {exc}") from None
        if len(data) > limit:
            raise DataError(f"{self.path}: member {name!r} larger than {limit >> 20} MiB")
        self.count_read(len(data))  # declared sizes can lie: count what comes out
        return data


def bundle_files(path: Path) -> list[Path]:
    """The files of a bundle folder, for hashing (zips are hashed as one file)."""
    return sorted(p for p in path.rglob("*") if p.is_file())
