"""What every command shares: the options typed the same everywhere, the consoles, the
error wrapper (one line on standard error and the documented exit code, in one place) and
the library store a command works on."""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import click
import typer

from ..config import CONFIG_FILE, DEFAULT_DATA_DIR, LANGUAGES
from ..errors import EXIT_INTERRUPTED, OutputError, RseError

if TYPE_CHECKING:  # rich and the library are imported lazily: a cron `--help` stays fast
    from rich.console import Console

    from ..api import Store

P = ParamSpec("P")
R = TypeVar("R")

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=f"Store folder [default: ./{DEFAULT_DATA_DIR}, or $RSE_ADOPTION_DATA_DIR].",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on standard output.")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"Configuration file [default: ./{CONFIG_FILE} if present, or $RSE_ADOPTION_CONFIG].",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Do all the work and report what would change; change nothing."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        help="Seconds to wait for another run to release the store (then exit 75).",
    ),
]
SiteOption = Annotated[
    list[str] | None, typer.Option("--site", help="Only this site (repeat for several).")
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Last day of the window, YYYY-MM-DD [default: last day with data]."
    ),
]

LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        click_type=click.Choice(LANGUAGES),
        help="Language of what people read: tables, Markdown, HTML, charts, text "
        "[default: en, or report.language, or $RSE_ADOPTION_LANG]. JSON and CSV never change.",
        show_default=False,
    ),
]


#: The width of output that goes to a file, a pipe or cron mail, unless COLUMNS says.
PIPED_WIDTH = 160


def console(stderr: bool = False) -> Console:
    """A console as wide as the terminal; when output goes to a file, a pipe or cron mail,
    as wide as $COLUMNS says, else PIPED_WIDTH (not rich's 80). Markup is off: file, site
    and community names are the users' own text, and `export [draft].csv` must print as
    itself (styles come from Text and style=)."""
    from rich.console import Console

    made = Console(stderr=stderr, markup=False)
    if not made.is_terminal:
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPED_WIDTH
        made = Console(stderr=stderr, width=width, markup=False)
    return made


def stderr() -> Console:
    return console(stderr=True)


def store(data_dir: Path | None, config: Path | None = None, **flags: Any) -> Store:
    """The library's Store for a command: settings from defaults < configuration file <
    environment < these flags (None: not given), validated as the library validates them."""
    from ..api import Store

    given = {k: v for k, v in flags.items() if v is not None}
    return Store(data_dir, config=config, given_as="flag", **given)


def parse_day(value: str | None, option: str = "--as-of") -> date | None:
    """The date typed for `option`, or None; a usage error (exit 2) when it is not a
    date, like every bad value typed on the command line."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None


class _StderrGuard(io.TextIOBase):
    """Standard error with every credential the process holds masked (redact.py), and,
    with `--log-file`, each line also appended, time-stamped (UTC), to the log."""

    def __init__(self, stream: Any, log: Any | None, command: str) -> None:
        self._stream, self._log, self._command = stream, log, command
        self._pending = ""

    def write(self, text: str) -> int:
        from .. import redact

        self._stream.write(redact.scrub(text))
        if self._log is not None:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for line in lines:  # scrubbed whole: a credential never spans two writes here
                self._log.write(redact.scrub(f"{stamp} {self._command}: {line}\n"))
            self._log.flush()
        return len(text)

    def flush(self) -> None:
        self._stream.flush()
        if self._log is not None:
            self._log.flush()

    def isatty(self) -> bool:  # the terminal decides colour and progress, not the log
        return bool(self._stream.isatty())

    def fileno(self) -> int:
        return int(self._stream.fileno())


def open_log(path: str) -> Any:
    """The `--log-file` to append to, created owner-only (0600): a log may name people,
    files and hosts. An existing file keeps its mode (logrotate's `create` decides it)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")


LOG_FILE_PARAMETER = inspect.Parameter(
    "log_file",
    inspect.Parameter.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            help="Also append messages (standard error), time-stamped, to this file "
            "[default: $RSE_ADOPTION_LOG_FILE].",
            show_default=False,
        ),
    ],
)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Every command's wrapper: RseError becomes a one-line message on standard error and
    its exit code; standard error never shows a credential the process holds (redact.py:
    the environment's secrets and tokens, and any the command obtains); and `--log-file`
    (added to the command's options here) copies standard error to a file made 0600."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from .. import redact

        redact.remember_environment()
        log_file = str(
            kwargs.pop("log_file", None) or os.environ.get("RSE_ADOPTION_LOG_FILE") or ""
        )
        with contextlib.ExitStack() as stack:
            log = None
            if log_file:
                try:
                    log = stack.enter_context(open_log(log_file))
                except OSError as exc:
                    print(
                        f"rse-adoption: error: {log_file}: cannot write: {exc.strerror}",
                        file=sys.stderr,
                    )
                    raise typer.Exit(OutputError.exit_code) from None
            stack.enter_context(
                contextlib.redirect_stderr(_StderrGuard(sys.stderr, log, func.__name__))
            )
            try:
                return func(*args, **kwargs)
            except RseError as exc:
                print(f"rse-adoption: error: {exc}", file=sys.stderr)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                # every write commits whole (store manifest, --out files) or not at all
                print("rse-adoption: interrupted; nothing half-written", file=sys.stderr)
                raise typer.Exit(EXIT_INTERRUPTED) from None

    signature = inspect.signature(func, eval_str=True)  # typer reads real annotations
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), LOG_FILE_PARAMETER]
    )
    return wrapper
