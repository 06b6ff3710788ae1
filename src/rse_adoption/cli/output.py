"""Where a command's output goes, decided in one place: standard output, a file, or a file
inside an `--out` folder; written whole or not at all."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OutputError
from ..report.registry import Options, renderer
from .common import console

if TYPE_CHECKING:
    from ..model import Report


def write_file(data: bytes, out: Path) -> None:
    """Write `out` whole or not at all (a temporary file renamed over it). Its folder must
    exist (OutputError, exit 73, otherwise): only an `--out FOLDER/` is created."""
    if not out.parent.is_dir():
        raise OutputError(
            f"{out}: cannot write: folder {out.parent} does not exist (to have it created, "
            "give --out as a folder ending with /)"
        )
    try:
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write: {exc.strerror}") from None


def out_target(out: str | None, default_name: str) -> Path | None:
    """The file an `--out` value names: a folder (one that exists, or any path written with
    a trailing slash, which pathlib would drop) gets `default_name` inside it, created if
    need be; None is standard output."""
    if out is None:
        return None
    path = Path(out)
    if out.endswith(("/", os.sep)) or path.is_dir():
        return make_folder(path) / default_name
    return path


def make_folder(path: Path) -> Path:
    """`path` as an output folder, created with its parents when missing (OutputError,
    exit 73, when it cannot be)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create folder: {exc.strerror}") from None
    return path


def emit(
    command: str,
    format: str,
    report: Report,
    *,
    out: str | None,
    quiet: bool,
    details: bool,
    language: str = "en",
    csv_dialect: str = "excel",
) -> None:
    """Render `report` as `command`'s `format` (report/registry.py) in `language` (for
    people's formats) and `csv_dialect`, and write it: to standard output, to the `--out`
    file, or into the `--out` folder (as COMMAND.EXT, or the renderer's own files). With
    `--quiet`, nothing on standard output."""
    chosen = renderer(command, format)
    options = Options(details=details, language=language, csv_dialect=csv_dialect)
    rendered = chosen.render(report, options)
    if isinstance(rendered, dict):  # several files: `--out` is their folder
        if out is None:
            raise OutputError(f"--format {format} writes files: give --out FOLDER")
        written = [make_folder(Path(out)) / name for name in rendered]
        for path, data in zip(written, rendered.values(), strict=True):
            write_file(data, path)
        if chosen.announce and not quiet:  # the paths alone, for scripts
            sys.stdout.write("".join(f"{path.resolve()}\n" for path in written))
        return
    target = out_target(out, f"{command}.{chosen.extension}")
    if isinstance(rendered, str):
        text = rendered
    elif target is None:
        if not quiet:
            rendered(console())
        return
    else:
        from rich.console import Console

        recording = Console(record=True, width=140, file=io.StringIO(), markup=False)
        rendered(recording)
        text = recording.export_text()
    if target is None:
        if not quiet:
            sys.stdout.write(text)
        return
    write_file(text.encode("utf-8"), target)
    if chosen.announce and not quiet:  # the path alone, for scripts
        sys.stdout.write(f"{target.resolve()}\n")
