"""The commands that fill, inspect and tend the store: `demo`, `directory`, `ingest`,
`quarantine`, `status`, `forget`, `prune`, `history`, `config show`. Each parses its
options, calls one Store method (api.py) and prints its result."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from ..config import effective_settings
from ..ingest import FORMAT_NAMES
from .app import app, config_app
from .common import (
    ConfigOption,
    DataDirOption,
    DryRunOption,
    JsonOption,
    LangOption,
    QuietOption,
    SiteOption,
    WaitOption,
    console,
    handle_errors,
    parse_day,
    stderr,
    store,
)

if TYPE_CHECKING:
    from ..ingest.pipeline import FileResult

#: The `ingest --format` choices: the registry's formats (ingest.FORMAT_NAMES), or detection.
INGEST_FORMATS: tuple[str, ...] = ("auto", *FORMAT_NAMES)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


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
    lang: LangOption = None,
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
    `report`. With --lang fr, every month of events/ has French column and action names.
    """
    from ..demo import write_demo
    from ..report.store_text import demo_loaded_text, demo_written_text

    language = effective_settings(config=config, flags={"language": lang})[0].language
    result = write_demo(out, seed=seed, scale=scale, language=language)
    files: list[str] = result["files"]  # type: ignore[assignment]
    platforms: list[str] = result["platforms"]  # type: ignore[assignment]
    loaded = None
    if not quiet and not json_out:
        stderr().print(
            demo_written_text(
                result["people"], result["events"], out, len(files), len(platforms), language
            )
        )
    if data_dir is not None:
        target = store(data_dir, config)
        target.load_directory(out / "directory.csv")
        loaded = target.ingest([out / "events"]).rows_ingested
        if not quiet and not json_out:
            stderr().print(demo_loaded_text(data_dir, loaded, language))
    if json_out:
        _print_json(
            {
                "out": str(out),
                "people": result["people"],
                "events": result["events"],
                "files": [str(f) for f in files],
                "platforms": list(platforms),
                "events_loaded": loaded,
            }
        )


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
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Load the file even when it lists under half the people the store saw "
            "over its last report window (normally refused, exit 65).",
        ),
    ] = False,
) -> None:
    """Load the employee directory, replacing the previous one atomically.

    Needs a person (employee id or e-mail) and a site per row; department, hire and leave
    dates, ambassador flag and ambassador-since date are optional. Any bad row rejects
    the whole file (exit 65) and keeps the previous directory. So does a file that lists
    under half the people active in the store's last report window (a missing e-mail
    column keys people by another identifier), unless --force. Names are not stored
    unless --keep-names is given.
    """
    summary = store(data_dir, config).load_directory(
        file, keep_names=keep_names, force=force, wait_seconds=wait
    )
    if as_json:
        _print_json(summary.to_dict())
    elif not quiet:
        from ..report.store_text import directory_loaded_text

        stderr().print(directory_loaded_text(summary, store(data_dir, config).settings.language))


@app.command()
@handle_errors
def interventions(
    file: Annotated[
        Path,
        typer.Argument(help="CSV of actions: date, site, kind, label (French headers too)."),
    ],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Load the change team's actions (webinars, trainings, campaigns...), replacing the
    previous list atomically.

    Columns date, site, kind, label (French: date, site, type, libellé); a site left
    empty or * is every site. A bad row or a site the store does not know rejects the
    whole file (exit 65, naming the closest known site) and keeps the previous list.
    Their effect: `rse-adoption effects`.
    """
    summary = store(data_dir, config).load_interventions(file, wait_seconds=wait)
    if as_json:
        _print_json(summary.to_dict())
    elif not quiet:
        from ..report.store_text import interventions_loaded_text

        stderr().print(
            interventions_loaded_text(summary, store(data_dir, config).settings.language)
        )


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def ingest_totals_text(summary: Any) -> str:
    """The last line of `ingest`: files, rows added, rows already stored (the JSON's
    `duplicates`), quarantined, skipped; plain integers, so that cron mail greps well."""
    files = _plural(summary.files, "file", "files")
    if (
        summary.files
        and not summary.rows_ingested
        and not summary.quarantined
        and not summary.files_skipped
        and not summary.files_failed
    ):
        text = f"{files}, all already stored: nothing added."
    else:
        added = "would be added" if summary.dry_run else "added"
        text = (
            f"{files}: {_plural(summary.rows_ingested, 'row', 'rows')} {added}, "
            f"{summary.duplicates} already stored, {summary.quarantined} quarantined, "
            f"{summary.files_skipped} skipped."
        )
    return text + (" Dry run: nothing was stored." if summary.dry_run else "")


def _file_reporter(show: bool) -> tuple[Any, Any]:
    """A progress bar (on a terminal only: never under cron) and the per-file callback that
    prints each file's outcome on standard error."""
    from rich.text import Text

    err = stderr()
    progress = None
    task: Any = None
    if show and err.is_terminal:
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
                    f"{result.duplicates} already stored, {result.quarantined} quarantined",
                ),
                soft_wrap=True,
            )
        elif result.status == "unchanged":
            err.print(f"= {result.path}: {result.message}", style="dim", soft_wrap=True)
        elif result.status == "skipped":
            err.print(Text.assemble(("- skipped", "yellow"), f" {result.message}"), soft_wrap=True)
        if result.status == "ingested" and result.message:
            err.print(f"  note: {result.message}", style="yellow", highlight=False, soft_wrap=True)

    return progress, on_file


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
        str,
        typer.Option(
            "--format",
            click_type=click.Choice(INGEST_FORMATS),
            help="Force a format instead of detecting it.",
        ),
    ] = "auto",
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
    other files still land), 66 a path does not exist or holds no file, 75 the store is
    busy.
    """
    period_end_date = parse_day(period_end, "--period-end")
    show = not quiet and not as_json
    progress, on_file = _file_reporter(show)
    with progress if progress is not None else contextlib.nullcontext():
        summary = store(data_dir, config).ingest(
            paths,
            format=format,
            mapping=mapping,
            timezone=timezone,
            period_end=period_end_date,
            period_days=period_days,
            dry_run=dry_run,
            wait_seconds=wait,
            on_file=on_file,
        )
    failures = [d for d in summary.details if d.status == "error"]
    for failure in failures:
        print(f"rse-adoption: error: {failure.message}", file=sys.stderr)
    if not show:  # under --quiet (cron) or --json a skipped file still gets its line
        for skipped in (d for d in summary.details if d.status == "skipped"):
            print(f"rse-adoption: warning: skipped {skipped.message}", file=sys.stderr)
    if as_json:
        _print_json(summary.to_dict())
    elif show and summary.files:
        stderr().print(ingest_totals_text(summary), soft_wrap=True)
        if summary.quarantined:
            stderr().print("See quarantined rows with: rse-adoption quarantine")
    if failures:
        raise typer.Exit(65)
    if not summary.files:  # an empty folder, or the wrong one: cron must not call it done
        named = ", ".join(str(path) for path in paths)
        print(f"rse-adoption: error: {named}: no file to ingest (empty folder)", file=sys.stderr)
        raise typer.Exit(66)
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
    rows = store(data_dir, config).quarantine(limit=limit)
    if as_json:
        _print_json(rows)
        return
    if quiet:
        return
    from rich.table import Table

    table = Table(title="Quarantined rows")
    for column in ("file", "line", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["source_file"], str(row["line"]), row["reason"])
    console().print(table)


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
    lang: LangOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """What the store holds (period, files, rows, quarantine, last ingest, directory) and
    warnings to act on: no recent data, an old directory, a site without activity."""
    chosen = store(data_dir, config, language=lang)
    result = chosen.status(stale_days=stale_days, directory_max_age=directory_max_age)
    if json_out:
        _print_json(result.to_dict())
        return
    if quiet:
        return
    from ..report.store_text import status_text

    sys.stdout.write(status_text(result, chosen.settings.language))


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
    others' events, their directory row, member-list rows and quarantined lines naming
    them. The store records that an erasure happened, not whom."""
    summary = store(data_dir, config).forget(user, dry_run=dry_run, wait_seconds=wait)
    if json_out:
        _print_json(summary.to_dict())
    elif not quiet:
        verb = "would remove" if dry_run else "removed"
        stderr().print(
            f"{verb} {summary.events_removed} events, {summary.links_removed} links in others' "
            f"events, {summary.activity_rows_removed} activity-period row(s), "
            f"{summary.member_rows_removed} member-list row(s), "
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
    summary = store(data_dir, config).prune(keep_days=keep_days, dry_run=dry_run, wait_seconds=wait)
    if json_out:
        _print_json(summary.to_dict())
    elif not quiet:
        verb = "would remove" if dry_run else "removed"
        stderr().print(
            f"{verb} {summary.events_removed} events before {summary.cutoff} "
            f"({summary.files_removed} files whole, {summary.files_rewritten} rewritten), "
            f"{summary.activity_rows_removed} activity-period rows and "
            f"{summary.quarantine_rows_removed} quarantined rows"
        )


@app.command("history")
@handle_errors
def history_command(
    site: SiteOption = None,
    lang: LangOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Progress toward the tipping point over time, from the figures `report --history`
    recorded (one line per report day and site; the latest run of a day wins)."""
    from ..report.store_text import history_text, no_history_text

    chosen = store(data_dir, config, language=lang)
    result = chosen.history(sites=site or ())
    if json_out:
        _print_json(result.to_dict())
        return
    if quiet:
        return
    if not result.rows:
        stderr().print(no_history_text(chosen.settings.language))
        return
    sys.stdout.write(history_text(result.rows, chosen.settings.language))


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
    from ..config import FILE_KEYS

    file_key = {field: f"{t}.{k}" if t else k for (t, k), (field, _) in FILE_KEYS.items()}
    rows = []
    for name, value in vars(settings).items():
        shown: Any = str(value) if isinstance(value, Path) else value
        if name == "site_aliases":
            shown = dict(value)
        rows.append(
            {
                "setting": name,
                "key": file_key.get(name, name),
                "value": shown,
                "source": sources.get(name, "default"),
            }
        )
    if json_out:
        _print_json({"settings": rows})
        return
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        value = r["value"]
        if isinstance(value, dict):
            value = ", ".join(f"{k!r} = {v!r}" for k, v in value.items()) or "{}"
        elif value is None:
            value = "(not set)"
        elif isinstance(value, str):
            value = f'"{value}"'
        sys.stdout.write(f"{r['key']:<{width}}  {value}  ({r['source']})\n")
