"""The `rse-adoption` command: options, exit codes and output streams; no business logic.

Every command calls one library function and hands its result to a renderer. Errors the
user can act on (errors.RseError) become one line on standard error and the documented
exit code, in one place: `handle_errors`. With `--json`, standard output holds one JSON
object and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from .config import CONFIG_FILE, DEFAULT_DATA_DIR, Settings, effective_settings
from .errors import OutputError, RseError

if TYPE_CHECKING:  # rich is imported lazily: `report --format json` under cron never needs it
    from rich.console import Console

    from .report.model import Report

app = typer.Typer(
    name="rse-adoption",
    help=(
        "Measure enterprise social network adoption site by site: who reads, who reacts, "
        "who publishes, and how close each site is to its tipping point."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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
        "--wait", min=0, help="Seconds to wait for another run to release the store (then exit 75)."
    ),
]


def _console(stderr: bool = False) -> Console:
    """A console that does not wrap at 80 columns when output goes to a file or cron mail.
    Markup is off: file, site and community names are the users' own text, and
    `export [draft].csv` must print as itself (styles come from Text and style=)."""
    from rich.console import Console

    console = Console(stderr=stderr, markup=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=160, markup=False)
    return console


def _stderr() -> Console:
    return _console(stderr=True)


class _LogTee(io.TextIOBase):
    """Standard error that also appends each line, time-stamped (UTC), to a log file."""

    def __init__(self, stream: Any, log: Any, command: str) -> None:
        self._stream, self._log, self._command = stream, log, command
        self._pending = ""

    def write(self, text: str) -> int:
        self._stream.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for line in lines:
            self._log.write(f"{stamp} {self._command}: {line}\n")
        self._log.flush()
        return len(text)

    def flush(self) -> None:
        self._stream.flush()
        self._log.flush()

    def isatty(self) -> bool:  # the terminal decides colour and progress, not the log
        return bool(self._stream.isatty())


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
    its exit code, and `--log-file` (added to the command's options here) copies standard
    error to a file."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        log_file = str(
            kwargs.pop("log_file", None) or os.environ.get("RSE_ADOPTION_LOG_FILE") or ""
        )
        with contextlib.ExitStack() as stack:
            if log_file:
                try:
                    log = stack.enter_context(open(log_file, "a", encoding="utf-8"))  # noqa: SIM115
                except OSError as exc:
                    print(
                        f"rse-adoption: error: {log_file}: cannot write: {exc.strerror}",
                        file=sys.stderr,
                    )
                    raise typer.Exit(OutputError.exit_code) from None
                stack.enter_context(
                    contextlib.redirect_stderr(_LogTee(sys.stderr, log, func.__name__))
                )
            try:
                return func(*args, **kwargs)
            except RseError as exc:
                print(f"rse-adoption: error: {exc}", file=sys.stderr)
                raise typer.Exit(exc.exit_code) from None

    signature = inspect.signature(func, eval_str=True)  # typer reads real annotations
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), LOG_FILE_PARAMETER]
    )
    return wrapper


def _settings(data_dir: Path | None, config: Path | None = None, **overrides: Any) -> Settings:
    """Effective settings: defaults < config file < environment < these flags."""
    return effective_settings(config=config, flags={"data_dir": data_dir, **overrides})[0]


def _write_output(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    _write_file(text.encode("utf-8"), out)


def _write_file(data: bytes, out: Path) -> None:
    """Write `out` whole or not at all (a temporary file renamed over it)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write: {exc.strerror}") from None


def _out_target(out: str | None, default_name: str) -> Path | None:
    """The file an `--out` value names: a folder (one that exists, or any path written with
    a trailing slash, which pathlib would drop) gets `default_name` inside it, created if
    need be; None is standard output."""
    if out is None:
        return None
    path = Path(out)
    if out.endswith(("/", os.sep)) or path.is_dir():
        return path / default_name
    return path


def _emit(text: str, target: Path | None, quiet: bool, announce_path: bool = False) -> None:
    """Write a rendered output to `target` or standard output (nothing with --quiet and no
    target). With `announce_path`, print the absolute path written, alone, for scripts."""
    if target is None:
        if not quiet:
            sys.stdout.write(text)
        return
    _write_output(text, target)
    if announce_path and not quiet:
        sys.stdout.write(f"{target.resolve()}\n")


def _emit_rich(draw: Callable[[Console], None], target: Path | None, quiet: bool) -> None:
    """A rich rendering on the terminal, or as plain text in `target`."""
    if target is None:
        if not quiet:
            draw(_console())
        return
    from rich.console import Console

    console = Console(record=True, width=140, file=io.StringIO(), markup=False)
    draw(console)
    _write_output(console.export_text(), target)


@app.command()
@handle_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the example exports to.")
    ] = Path("demo-exports"),
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same files.")
    ] = 42,
    scale: Annotated[float, typer.Option(min=0.01, help="Multiply every site's headcount.")] = 1.0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Also load the example into this store (directory, then events).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write an example organisation as export files: directory.csv, events/*.csv, and
    platforms/ (the same activity as Viva Engage, Teams, Slack, Yammer and a mapped
    platform export it).

    Eight sites from 4 to 1,400 people, ambassadors, hires and leavers, six months of
    activity with gradual adoption. The last month is a French Excel export (`;`, cp1252).
    With --data-dir, the directory and events/ are also loaded into that store, ready for
    `report`.
    """
    from .demo import write_demo

    result = write_demo(out, seed=seed, scale=scale)
    loaded = None
    if not quiet and not json_out:
        _stderr().print(
            f"Wrote {result['people']} people and {result['events']} events to {out}/ "
            f"(directory.csv, events/ with {len(result['files'])} files, "  # type: ignore[arg-type]
            f"platforms/ with {len(result['platforms'])} platform exports)."  # type: ignore[arg-type]
        )
    if data_dir is not None:
        from .directory import load_directory
        from .ingest import ingest_paths

        settings = _settings(data_dir, config)
        load_directory(out / "directory.csv", settings)
        summary = ingest_paths([out / "events"], settings)
        loaded = summary.rows_ingested
        if not quiet and not json_out:
            _stderr().print(f"Loaded into {data_dir}: {summary.rows_ingested} events.")
    if json_out:
        payload = {
            "out": str(out),
            "people": result["people"],
            "events": result["events"],
            "files": [str(f) for f in result["files"]],  # type: ignore[attr-defined]
            "platforms": list(result["platforms"]),  # type: ignore[call-overload]
            "events_loaded": loaded,
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


@app.command()
@handle_errors
def directory(
    file: Annotated[
        Path, typer.Argument(help="Employee directory CSV (English or French headers).")
    ],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    wait: WaitOption = 0.0,
    keep_names: Annotated[
        bool,
        typer.Option(
            "--keep-names",
            help="Also store people's names (a name/nom column), for `ambassadors --names`. "
            "Off by default: names are personal data reports do not need.",
        ),
    ] = False,
) -> None:
    """Load the employee directory, replacing the previous one atomically.

    Needs a person (employee id or e-mail) and a site per row; department, hire and leave
    dates, ambassador flag and ambassador-since date are optional. Any bad row rejects
    the whole file (exit 65) and keeps the previous directory. Names are not stored
    unless --keep-names is given.
    """
    from dataclasses import asdict

    from .directory import load_directory

    summary = load_directory(
        file, _settings(data_dir, config), wait_seconds=wait, keep_names=keep_names
    )
    if as_json:
        print(json.dumps(asdict(summary)))
    elif not quiet:
        _stderr().print(
            f"Directory loaded: {summary.people} people, {summary.sites} sites, "
            f"{summary.ambassadors} ambassadors flagged."
        )


class IngestFormat(StrEnum):
    auto = "auto"
    events = "events"
    viva_engage = "viva_engage"
    teams = "teams"
    slack_analytics = "slack_analytics"
    slack = "slack"
    yammer = "yammer"
    mapped = "mapped"


@app.command()
@handle_errors
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Export files or folders (searched recursively); .gz accepted."),
    ],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    format: Annotated[
        IngestFormat, typer.Option("--format", help="Force a format instead of detecting it.")
    ] = IngestFormat.auto,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Time zone of timestamps without offset [default: UTC]."),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    wait: WaitOption = 0.0,
    dry_run: DryRunOption = False,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="TOML file mapping another platform's columns and values (docs/ingest.md) "
            "[default: ingest.mapping of the configuration].",
            show_default=False,
        ),
    ] = None,
    period_end: Annotated[
        str | None,
        typer.Option(
            "--period-end",
            help="Last day (YYYY-MM-DD) of activity-count exports that do not state it "
            "(Slack member analytics).",
            show_default=False,
        ),
    ] = None,
    period_days: Annotated[
        int | None,
        typer.Option(
            "--period-days",
            min=1,
            help="Length in days of that period (e.g. 30).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Read exports into the store. Idempotent: what is already stored is not added again.

    Formats are recognised by their header or layout: generic event files, Microsoft 365
    Viva Engage and Teams activity reports, Slack member analytics, Slack and Yammer
    exports, and any CSV through --mapping (docs/ingest.md).

    Malformed rows are quarantined with file, line and reason and do not stop the rest.
    Exit codes: 0 done (even with quarantined rows), 65 a file could not be read (the
    other files still land), 66 a path does not exist, 75 the store is busy.
    """
    from rich.text import Text

    from .ingest import FileResult, ingest_paths
    from .ingest.mapped import load_mapping

    settings = _settings(data_dir, config, timezone=timezone)
    period_end_date = _day(period_end, "--period-end")
    mapping_path = mapping or (Path(settings.mapping_file) if settings.mapping_file else None)
    parsed_mapping = load_mapping(mapping_path) if mapping_path is not None else None
    err = _stderr()
    show = not quiet and not as_json

    progress = None
    if show and err.is_terminal:  # never under cron: no TTY, no bar
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(),
            TextColumn("Ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        task = progress.add_task("ingest", total=None)

    def on_file(result: FileResult, done: int, total: int) -> None:
        if progress is not None:
            progress.update(task, completed=done, total=total)
        if not show:
            return
        if result.status == "ingested":
            err.print(
                Text.assemble(
                    ("✔", "green"),
                    f" {result.path}: {result.rows_ingested} new, "
                    f"{result.duplicates} duplicates, {result.quarantined} quarantined",
                )
            )
        elif result.status == "unchanged":
            err.print(f"= {result.path}: {result.message}", style="dim")
        elif result.status == "skipped":
            err.print(Text.assemble(("- skipped", "yellow"), f" {result.message}"))
        if result.status == "ingested" and result.message:
            err.print(f"  note: {result.message}", style="yellow", highlight=False)

    with progress if progress is not None else contextlib.nullcontext():
        summary = ingest_paths(
            paths,
            settings,
            format_name=format.value,
            wait_seconds=wait,
            on_file=on_file,
            dry_run=dry_run,
            period_end=period_end_date,
            period_days=period_days,
            mapping=parsed_mapping,
        )
    failures = [d for d in summary.details if d.status == "error"]
    for failure in failures:
        print(f"rse-adoption: error: {failure.message}", file=sys.stderr)
    if as_json:
        data = summary.to_json()
        print(json.dumps(data, ensure_ascii=False))
    elif show:
        added = "would be added" if dry_run else "added"
        err.print(
            f"{summary.files} files: {summary.rows_ingested} rows {added}, {summary.duplicates} "
            f"duplicates, {summary.quarantined} quarantined, {summary.files_skipped} skipped."
            + (" Dry run: nothing was stored." if dry_run else "")
        )
        if summary.quarantined:
            err.print("See quarantined rows with: rse-adoption quarantine")
    if failures:
        raise typer.Exit(65)
    if summary.files and summary.files_skipped == summary.files:
        print("rse-adoption: error: no file matched a known export format", file=sys.stderr)
        raise typer.Exit(65)


@app.command()
@handle_errors
def quarantine(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many rows.")] = 50,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """List quarantined rows: source file, line, reason (raw text only with --json)."""
    from .quarantine import read_quarantine

    rows = read_quarantine(_settings(data_dir, config), limit=limit)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    if quiet:
        return
    from rich.table import Table

    table = Table(title="Quarantined rows")
    for column in ("file", "line", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["source_file"], str(row["line"]), row["reason"])
    _console().print(table)


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    Engine | None,
    typer.Option(
        "--engine",
        help="Query engine of the metrics: duckdb (embedded) or spark (the `spark` extra; "
        "docs/scale.md) [default: duckdb, or engine.name].",
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: master URL (local[4], spark://host:7077, yarn) or Spark "
        "Connect URL (sc://host:15002) [default: $SPARK_REMOTE, else local mode].",
    ),
]


def _engine_flags(engine: Engine | None, spark_master: str | None) -> dict[str, str | None]:
    """The engine flags as Settings overrides (None: not given)."""
    return {"engine": engine.value if engine else None, "spark_master": spark_master}


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    html = "html"
    png = "png"


#: File name extension of each format, for an `--out` folder (png: the folder itself).
REPORT_EXTENSIONS = {"table": "txt", "json": "json", "csv": "csv", "md": "md", "html": "html"}


@app.command()
@handle_errors
def report(
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="Only this site (repeat for several); adds a detail block."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Last day of the window, YYYY-MM-DD [default: last day with data]."
        ),
    ] = None,
    window: Annotated[
        int | None, typer.Option("--window", min=1, help="Window length in days [default: 90].")
    ] = None,
    format: Annotated[
        ReportFormat, typer.Option("--format", help="Output format.")
    ] = ReportFormat.table,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Write to this file instead of standard output. A folder (existing, or "
            "written with a trailing /) gets report.html, report.json...; for png "
            "(required), the folder the charts go to.",
        ),
    ] = None,
    min_group_size: Annotated[
        int | None,
        typer.Option("--min-group-size", min=1, help="Hide sites with fewer people [default: 5]."),
    ] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Also append this report's per-site figures to the store's history "
            "(kept after prune; see `rse-adoption history`).",
        ),
    ] = False,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Same as --format json (for scripts).")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Per-site readers vs contributors and progress toward the tipping point.

    A site tips when its contributors (people who posted or commented in the window)
    reach 15% of its headcount; 10-15% is the tipping band. Definitions: docs/metrics.md.
    """
    from .metrics import build_report

    day = _day(as_of)
    if json_out:
        format = ReportFormat.json
    if format is ReportFormat.png and out is None:
        raise typer.BadParameter("--format png needs --out FOLDER", param_hint="--out")
    settings = _settings(
        data_dir,
        config,
        window_days=window,
        min_group_size=min_group_size,
        **_engine_flags(engine, spark_master),
    )
    result = build_report(settings, site_names=site or (), as_of=day)
    if history:
        from .history import append_history

        append_history(result, settings, partial=bool(site), wait_seconds=60.0)
    if format is ReportFormat.png:
        from .report.charts import all_charts

        assert out is not None
        folder = Path(out)
        written = []
        for name, png in all_charts(result).items():
            _write_file(png, folder / name)
            written.append(folder / name)
        if not quiet:  # the paths alone, for scripts
            sys.stdout.write("".join(f"{path.resolve()}\n" for path in written))
        return
    target = _out_target(out, f"report.{REPORT_EXTENSIONS[format]}")
    if format is ReportFormat.html:
        from .report.html_report import render as render_html

        _emit(render_html(result, site_pages=bool(site)), target, quiet, announce_path=True)
        return
    if format is ReportFormat.table:
        from .report import terminal

        _emit_rich(
            lambda console: terminal.render(result, console, details=bool(site)), target, quiet
        )
        return
    if format is ReportFormat.json:
        from .report.json_report import render
    elif format is ReportFormat.csv:
        from .report.csv_report import render
    else:
        from .report.markdown import render
    _emit(render(result), target, quiet)


@app.command()
@handle_errors
def status(
    stale_days: Annotated[
        int,
        typer.Option("--stale-days", min=0, help="Warn when the last event is older than this."),
    ] = 7,
    directory_max_age: Annotated[
        int,
        typer.Option(
            "--directory-max-age",
            min=0,
            help="Warn when the directory was loaded longer ago (days).",
        ),
    ] = 90,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """What the store holds (period, files, rows, quarantine, last ingest, directory) and
    warnings to act on: no recent data, an old directory, a site without activity."""
    from .status import store_status

    result = store_status(
        _settings(data_dir, config),
        stale_data_days=stale_days,
        stale_directory_days=directory_max_age,
    )
    if json_out:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        return
    if quiet:
        return
    directory = result.directory
    lines = [
        f"store          {result.data_dir}",
        f"events         {result.rows:,} from {result.first_day or '—'} to {result.last_day or '—'}"
        f" in {result.event_files} data files",
        f"files          {result.files} ingested, last on {result.last_ingest or 'never'}",
        f"quarantined    {result.quarantined:,} rows",
        "directory      "
        + (
            f"{directory['rows']:,} people from {directory['source_file']}, loaded "
            f"{directory['loaded_at']}"
            if directory
            else "none loaded"
        ),
    ]
    lines += [
        f"activity       {p['source_format']} {p['period_days']} days to {p['refresh_date']}: "
        f"{p['rows']:,} people"
        + (f" ({p['concealed_rows']:,} concealed names)" if p["concealed_rows"] else "")
        for p in result.activity_periods
    ]
    lines += [
        f"m365 fetch     {m['report']}: last day {m['last_day']}, "
        f"{len(m['missing_days'])} missing in range"
        for m in result.m365
    ]
    lines += [f"warning        {w.message}" for w in result.warnings] or ["warnings       none"]
    sys.stdout.write("\n".join(lines) + "\n")


@app.command()
@handle_errors
def forget(
    user: Annotated[
        list[str],
        typer.Argument(
            help="The person's e-mail and/or employee id (all of them, to clear quarantined lines too)."
        ),
    ],
    dry_run: DryRunOption = False,
    wait: WaitOption = 0.0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Erase one person from the store (right to erasure): their events, their key in
    others' events, their directory row and quarantined lines naming them. The store
    records that an erasure happened, not whom."""
    from .forget import forget_person

    summary = forget_person(user, _settings(data_dir, config), dry_run=dry_run, wait_seconds=wait)
    if json_out:
        sys.stdout.write(json.dumps(summary.to_json()) + "\n")
    elif not quiet:
        verb = "would remove" if dry_run else "removed"
        _stderr().print(
            f"{verb} {summary.events_removed} events, {summary.links_removed} links in others' "
            f"events, {summary.activity_rows_removed} activity-period row(s), "
            f"{summary.directory_rows_removed} directory row(s), "
            f"{summary.quarantine_rows_removed} quarantined row(s)"
        )


@app.command()
@handle_errors
def prune(
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days",
            min=1,
            help="Keep this many days of raw events [default: retention.keep_days, 396].",
        ),
    ] = None,
    dry_run: DryRunOption = False,
    wait: WaitOption = 0.0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Drop raw events older than the retention (default 13 months), and quarantined lines
    of files ingested before it. Reports need only their window; per-person data is not
    kept longer than that."""
    from .prune import prune as prune_store

    summary = prune_store(
        _settings(data_dir, config), keep_days=keep_days, dry_run=dry_run, wait_seconds=wait
    )
    if json_out:
        sys.stdout.write(json.dumps(summary.to_json()) + "\n")
    elif not quiet:
        verb = "would remove" if dry_run else "removed"
        _stderr().print(
            f"{verb} {summary.events_removed} events before {summary.cutoff} "
            f"({summary.files_removed} files whole, {summary.files_rewritten} rewritten), "
            f"{summary.activity_rows_removed} activity-period rows and "
            f"{summary.quarantine_rows_removed} quarantined rows"
        )


class TableFormat(StrEnum):
    """Formats of the commands that print one table (ambassadors, communities,
    transitions, personas)."""

    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


SiteOption = Annotated[
    list[str] | None, typer.Option("--site", help="Only this site (repeat for several).")
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Last day of the window, YYYY-MM-DD [default: last day with data]."
    ),
]
WindowOption = Annotated[
    int | None, typer.Option("--window", min=1, help="Window length in days [default: 90].")
]
TableFormatOption = Annotated[TableFormat, typer.Option("--format", help="Output format.")]
OutOption = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="Write to this file instead of standard output (a folder, existing or written "
        "with a trailing /, gets COMMAND.EXT inside it).",
    ),
]
MinGroupOption = Annotated[
    int | None,
    typer.Option("--min-group-size", min=1, help="Hide groups with fewer people [default: 5]."),
]
JsonFormatOption = Annotated[
    bool, typer.Option("--json", help="Same as --format json (for scripts).")
]


def _day(value: str | None, option: str = "--as-of") -> date | None:
    """The date typed for `option`, or None; a usage error (exit 2) when it is not a
    date, like every bad value typed on the command line."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None


def _table_report(
    data_dir: Path | None,
    config: Path | None,
    window: int | None,
    min_group_size: int | None,
    site: list[str] | None,
    as_of: str | None,
    engine: Engine | None,
    spark_master: str | None,
    *,
    ambassador_reach: bool = False,
    ambassador_names: bool = False,
    with_communities: bool = False,
    with_transitions: bool = False,
    with_personas: bool = False,
) -> tuple[Settings, Report]:
    """Settings and report of a table command, with the figures it asks build_report for
    on top of the report's own."""
    from .metrics import build_report

    settings = _settings(
        data_dir,
        config,
        window_days=window,
        min_group_size=min_group_size,
        **_engine_flags(engine, spark_master),
    )
    return settings, build_report(
        settings,
        site_names=site or (),
        as_of=_day(as_of),
        ambassador_reach=ambassador_reach,
        ambassador_names=ambassador_names,
        with_communities=with_communities,
        with_transitions=with_transitions,
        with_personas=with_personas,
    )


def _emit_table_command(
    name: str,
    format: TableFormat,
    out: str | None,
    quiet: bool,
    table: Callable[[], Any],
    renderers: dict[TableFormat, Callable[[], str]],
) -> None:
    """Print the rich table, or write the rendered format to `out` (standard output); an
    `--out` folder gets `name.EXT`."""
    target = _out_target(out, f"{name}.{REPORT_EXTENSIONS[format.value]}")
    if format is TableFormat.table:
        _emit_rich(lambda console: console.print(table()), target, quiet)
        return
    _emit(renderers[format](), target, quiet)


def _emit_section(
    name: str,
    section: Any,
    result: Report,
    format: TableFormat,
    out: str | None,
    quiet: bool,
    table: Callable[[], Any] | None = None,
) -> None:
    """`_emit_table_command` for a report section module (communities_report,
    transitions_report, personas_report): its `table`, `render_html`, `render_json` and
    `render_csv` of the report."""
    _emit_table_command(
        name,
        format,
        out,
        quiet,
        table or (lambda: section.table(result)),
        {
            TableFormat.html: lambda: section.render_html(result),
            TableFormat.json: lambda: section.render_json(result),
            TableFormat.csv: lambda: section.render_csv(result),
        },
    )


@app.command()
@handle_errors
def ambassadors(
    names: Annotated[
        bool,
        typer.Option(
            "--names",
            help="Also list each site's ambassadors by name (needs `directory --keep-names`; "
            "never their individual activity).",
        ),
    ] = False,
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: TableFormatOption = TableFormat.table,
    out: OutOption = None,
    min_group_size: Annotated[
        int | None,
        typer.Option("--min-group-size", min=1, help="Hide sites with fewer people [default: 5]."),
    ] = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """The ambassador and coach network by site: ambassadors per 100 employees against the
    target (ambassadors.per_employees, default one per 50), sites without one, how many are
    contributors themselves, whom they reach, and whether sites convert faster once they
    have one (an association, never proof). Definitions: docs/metrics.md#ambassadors.
    """
    from .report import ambassadors_report

    if json_out:
        format = TableFormat.json
    settings, result = _table_report(
        data_dir,
        config,
        window,
        min_group_size,
        site,
        as_of,
        engine,
        spark_master,
        ambassador_reach=True,
        ambassador_names=names,
    )
    figures = result.ambassadors
    assert figures is not None
    from .report.html_report import render as render_html

    _emit_table_command(
        "ambassadors",
        format,
        out,
        quiet,
        lambda: ambassadors_report.table(figures, settings.min_group_size),
        {
            TableFormat.html: lambda: render_html(result, site_pages=bool(site)),
            TableFormat.json: lambda: ambassadors_report.render_json(figures),
            TableFormat.csv: lambda: ambassadors_report.render_csv(figures),
        },
    )


@app.command()
@handle_errors
def communities(
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: TableFormatOption = TableFormat.table,
    out: OutOption = None,
    min_group_size: Annotated[
        int | None,
        typer.Option(
            "--min-group-size",
            min=1,
            help="Hide communities with fewer active people [default: 5].",
        ),
    ] = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Communities (spaces, groups, channels) overall and per site: active members,
    contributors, posts and replies, share of posts answered, weekly trend, and each
    site's most and least lively ones. Definitions: docs/metrics.md#communities.
    """
    from .report import communities_report

    if json_out:
        format = TableFormat.json
    _, result = _table_report(
        data_dir,
        config,
        window,
        min_group_size,
        site,
        as_of,
        engine,
        spark_master,
        with_communities=True,
    )
    from rich.console import Group

    _emit_section(
        "communities",
        communities_report,
        result,
        format,
        out,
        quiet,
        lambda: Group(
            communities_report.table(result),
            *(communities_report.table(result, g.site) for g in result.sites if not g.suppressed),
        ),
    )


@app.command()
@handle_errors
def transitions(
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: Annotated[
        int | None,
        typer.Option(
            "--window", min=1, help="Window length in days, for both windows [default: 90]."
        ),
    ] = None,
    format: TableFormatOption = TableFormat.table,
    out: OutOption = None,
    min_group_size: MinGroupOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Movement between segments from the previous window to this one, per site: readers
    and reactors who became contributors, contributors kept and lost. Definitions:
    docs/metrics.md#transitions.
    """
    from .report import transitions_report

    if json_out:
        format = TableFormat.json
    _, result = _table_report(
        data_dir,
        config,
        window,
        min_group_size,
        site,
        as_of,
        engine,
        spark_master,
        with_transitions=True,
    )
    _emit_section("transitions", transitions_report, result, format, out, quiet)


@app.command()
@handle_errors
def personas(
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: TableFormatOption = TableFormat.table,
    out: OutOption = None,
    min_group_size: MinGroupOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """People by give-and-receive persona per site: observers, catalysts, responders,
    broadcasters, engagers (needs events that name the person replied or reacted to).
    Rules and thresholds: docs/metrics.md#personas.
    """
    from .report import personas_report

    if json_out:
        format = TableFormat.json
    _, result = _table_report(
        data_dir,
        config,
        window,
        min_group_size,
        site,
        as_of,
        engine,
        spark_master,
        with_personas=True,
    )
    _emit_section("personas", personas_report, result, format, out, quiet)


@app.command("history")
@handle_errors
def history_command(
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Only this site (repeat for several).")
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Progress toward the tipping point over time, from the figures `report --history`
    recorded (one line per report day and site; the latest run of a day wins)."""
    from .history import TOTALS, read_history, select_history
    from .metrics import resolve_sites

    settings = _settings(data_dir, config)
    rows = read_history(settings)
    known = sorted({r["site"] for r in rows if r["site"] is not None})
    rows = select_history(rows, resolve_sites(site, known) if site else None)
    if json_out:
        sys.stdout.write(json.dumps({"history": rows}, ensure_ascii=False) + "\n")
        return
    if quiet:
        return
    if not rows:
        _stderr().print("No history yet: run `rse-adoption report --history`.")
        return
    for r in rows:
        name = r["site"] or ("Total of " + ", ".join(r["scope"]) if r["scope"] else TOTALS)
        if r["suppressed"]:
            figures = "hidden (below the privacy threshold)"
        else:
            figures = (
                f"{r['contributor_share'] * 100:5.1f} %  {r['status']:<8} "
                f"{r['contributors']}/{r['headcount']} contributors"
            )
        sys.stdout.write(f"{r['as_of']}  {r['window_days']:>3} d  {name:<30}  {figures}\n")


fetch_app = typer.Typer(
    help="Pull exports from a vendor's API, unattended, and ingest them (docs/m365.md).",
    no_args_is_help=True,
)
app.add_typer(fetch_app, name="fetch")


class M365Report(StrEnum):
    viva_engage = "viva_engage"
    teams = "teams"


@fetch_app.command("m365")
@handle_errors
def fetch_m365(
    report: Annotated[
        list[M365Report] | None,
        typer.Option("--report", help="Report to fetch (repeatable) [default: both]."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="First day to fetch, YYYY-MM-DD [default: 28 days ago, Microsoft's range].",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Last day to fetch, YYYY-MM-DD [default: yesterday].",
            show_default=False,
        ),
    ] = None,
    max_minutes: Annotated[
        float,
        typer.Option(
            "--max-minutes",
            min=0.01,
            help="Run budget: stop waiting on Microsoft's throttling after this long, keep "
            "what was fetched, exit 75.",
        ),
    ] = 30,
    keep_raw: Annotated[
        Path | None,
        typer.Option(
            "--keep-raw",
            help="Also save the downloaded CSVs in this folder, outside the store, for audit "
            "(they name people: personal data; never read back unless ingested by hand).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch the daily per-person Viva Engage and Teams activity detail from Microsoft
    Graph for every day of the last 28 that the store lacks, and ingest each day.

    App-only authentication: [m365] tenant_id and client_id in rse-adoption.toml with the
    secret in $RSE_ADOPTION_M365_CLIENT_SECRET (or a certificate), or a bearer token in
    $RSE_ADOPTION_M365_TOKEN. A day Microsoft refuses is reported and skipped.
    Exit codes: 0 done, 65 concealed user names (nothing stored) or an unreadable report,
    75 Microsoft unreachable or throttling past --max-minutes (what was fetched is kept),
    77 credentials or the Reports.Read.All permission refused, 78 configuration missing.
    """
    from .fetch.m365 import DayResult
    from .fetch.m365 import fetch_m365 as run

    settings = _settings(data_dir, config)
    first, last = _day(since, "--since"), _day(until, "--until")
    err = _stderr()
    show = not quiet and not as_json

    def on_day(result: DayResult) -> None:
        if not show:
            return
        where = f"{result.report} {result.day}"
        if result.status == "fetched":
            err.print(f"✔ {where}: {result.rows} rows (data of {result.refresh_date})")
            if result.message:
                err.print(f"  note: {result.message}", style="yellow", highlight=False)
        elif result.status == "unchanged":
            err.print(f"= {where}: unchanged", style="dim")
        elif result.status in ("skipped", "refused"):
            err.print(f"- {where}: {result.status}: {result.message}", style="yellow")

    summary = run(
        settings,
        reports=[r.value for r in report] if report else None,
        since=first,
        until=last,
        dry_run=dry_run,
        keep_raw=keep_raw,
        max_minutes=max_minutes,
        on_day=on_day,
    )
    for failed in summary.days:
        if failed.status == "error":
            print(f"rse-adoption: error: {failed.message}", file=sys.stderr)
    if as_json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    elif show:
        err.print(
            f"{summary.first_day} to {summary.last_day}: {summary.count('fetched')} days "
            f"fetched, {summary.count('unchanged')} unchanged, {summary.count('skipped')} "
            f"not available yet, {summary.count('refused')} refused."
            + (" Dry run: nothing was stored." if dry_run else "")
        )
    if summary.error is not None:
        raise summary.error
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


config_app = typer.Typer(
    help="The effective configuration: rse-adoption.toml, environment and flags.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
@handle_errors
def config_show(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Print every setting in force and where it came from (default, FILE:LINE, env, flag).

    Precedence: defaults < rse-adoption.toml < RSE_ADOPTION_* environment < flags.
    With --quiet, only checks the configuration (exit 78 when invalid)."""
    settings, sources = effective_settings(config=config, flags={"data_dir": data_dir})
    if quiet and not json_out:
        return
    rows = []
    for name, value in vars(settings).items():
        shown: Any = str(value) if isinstance(value, Path) else value
        if name == "site_aliases":
            shown = dict(value)
        rows.append({"setting": name, "value": shown, "source": sources.get(name, "default")})
    if json_out:
        sys.stdout.write(json.dumps({"settings": rows}, ensure_ascii=False) + "\n")
        return
    width = max(len(r["setting"]) for r in rows)
    for r in rows:
        value = r["value"]
        if isinstance(value, dict):
            value = ", ".join(f"{k!r} = {v!r}" for k, v in value.items()) or "{}"
        sys.stdout.write(f"{r['setting']:<{width}}  {value}  ({r['source']})\n")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
