"""Every output a command renders, in one table: (command, format) -> renderer.

A renderer turns a Report into one of three things, and computes nothing on the way:
text (`str`: JSON, CSV, Markdown, HTML), files by name (`dict[str, bytes]`: the PNG charts)
or a drawing on a rich console (`Draw`: the terminal tables). Where that goes — standard
output, a file, a folder — is decided once, by the caller (cli/output.py). Renderer modules
are imported when used, so that `report --format json` never loads matplotlib or rich.

Every renderer is given the same `Options`: the `--site` detail pages, the language of
what a person reads (`--lang`: machine formats ignore it) and the CSV dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..model import Report
    from .i18n import Language

#: Draws a terminal rendering on a console (the terminal, or a recording one for --out).
Draw = Callable[["Console"], None]
Rendered = str | dict[str, bytes] | Draw


@dataclass(frozen=True)
class Options:
    """How to render. `details`: the --site pages; `language`: a code of
    i18n.LANGUAGES, for people's outputs only (JSON and CSV never change with it);
    `csv_dialect`: a name of csv_report.DIALECTS."""

    details: bool = False
    language: str = "en"
    csv_dialect: str = "excel"


@dataclass(frozen=True)
class Renderer:
    """One output format of one command. `extension`: the file an `--out` folder gets
    (COMMAND.EXT); "" for renderers that write several files into the folder. `announce`:
    with `--out`, print the absolute path of each file written (for scripts)."""

    render: Callable[[Report, Options], Rendered]
    extension: str
    announce: bool = False


def _language(options: Options) -> Language:
    from .i18n import language

    return language(options.language)


def _report_table(report: Report, options: Options) -> Draw:
    from . import terminal

    tr = _language(options)
    return lambda console: terminal.render(report, console, details=options.details, tr=tr)


def _report_json(report: Report, options: Options) -> str:
    from .json_report import render

    return render(report)


def _report_csv(report: Report, options: Options) -> str:
    from .csv_report import render

    return render(report, dialect=options.csv_dialect)


def _report_md(report: Report, options: Options) -> str:
    from .markdown import render

    return render(report, tr=_language(options))


def _report_html(report: Report, options: Options) -> str:
    from .html_report import render

    return render(report, site_pages=options.details, tr=_language(options))


def _report_png(report: Report, options: Options) -> dict[str, bytes]:
    from .charts import all_charts

    return all_charts(report, tr=_language(options))


def _ambassadors(kind: str) -> Callable[[Report, Options], Rendered]:
    def render(report: Report, options: Options) -> Rendered:
        from . import ambassadors_report

        if report.ambassador_candidates is not None:  # `ambassadors --candidates`
            return _section("candidates_report", kind)(report, options)
        figures = report.ambassadors
        assert figures is not None, "the ambassadors command computes them"
        if kind == "table":
            from .columns import print_fitted

            table = ambassadors_report.table(figures, report.min_group_size, _language(options))
            return lambda console: print_fitted(console, table)
        if kind == "html":
            return _report_html(report, options)
        if kind == "json":
            return ambassadors_report.render_json(figures)
        return ambassadors_report.render_csv(figures, dialect=options.csv_dialect)

    return render


def _section(module: str, kind: str) -> Callable[[Report, Options], Rendered]:
    """A section command's format: its module's `table`, `render_html` (both in the
    language asked for), `render_json` or `render_csv` (in the dialect asked for)."""

    def render(report: Report, options: Options) -> Rendered:
        import importlib

        section: Any = importlib.import_module(f"{__package__}.{module}")
        if kind == "table" and hasattr(section, "print_terminal"):  # more than one table
            return lambda console: section.print_terminal(console, report, _language(options))
        if kind == "table":
            from .columns import print_fitted

            table = section.table(report, _language(options))
            return lambda console: print_fitted(console, table)
        if kind == "html":
            return str(section.render_html(report, _language(options)))
        if kind == "csv":
            return str(section.render_csv(report, dialect=options.csv_dialect))
        return str(section.render_json(report))

    return render


RENDERERS: dict[str, dict[str, Renderer]] = {
    "report": {
        "table": Renderer(_report_table, "txt"),
        "json": Renderer(_report_json, "json"),
        "csv": Renderer(_report_csv, "csv"),
        "md": Renderer(_report_md, "md"),
        "html": Renderer(_report_html, "html", announce=True),
        "png": Renderer(_report_png, "", announce=True),
    },
    "ambassadors": {
        kind: Renderer(_ambassadors(kind), "txt" if kind == "table" else kind)
        for kind in ("table", "json", "csv", "html")
    },
    **{
        command: {
            kind: Renderer(_section(f"{command}_report", kind), "txt" if kind == "table" else kind)
            for kind in ("table", "json", "csv", "html")
        }
        for command in ("communities", "transitions", "personas", "interactions", "effects")
    },
}


def formats(command: str) -> tuple[str, ...]:
    """The `--format` choices of a command, its default first."""
    return tuple(RENDERERS[command])


def renderer(command: str, format: str) -> Renderer:
    return RENDERERS[command][format]
