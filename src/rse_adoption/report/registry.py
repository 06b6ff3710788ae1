"""Every output a command renders, in one table: (command, format) -> renderer.

A renderer turns a Report into one of three things, and computes nothing on the way:
text (`str`: JSON, CSV, Markdown, HTML), files by name (`dict[str, bytes]`: the PNG charts)
or a drawing on a rich console (`Draw`: the terminal tables). Where that goes — standard
output, a file, a folder — is decided once, by the caller (cli/output.py). Renderer modules
are imported when used, so that `report --format json` never loads matplotlib or rich.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..model import Report

#: Draws a terminal rendering on a console (the terminal, or a recording one for --out).
Draw = Callable[["Console"], None]
Rendered = str | dict[str, bytes] | Draw


@dataclass(frozen=True)
class Renderer:
    """One output format of one command. `extension`: the file an `--out` folder gets
    (COMMAND.EXT); "" for renderers that write several files into the folder. `announce`:
    with `--out`, print the absolute path of each file written (for scripts)."""

    render: Callable[[Report, bool], Rendered]  # (report, details: the --site pages)
    extension: str
    announce: bool = False


def _report_table(report: Report, details: bool) -> Draw:
    from . import terminal

    return lambda console: terminal.render(report, console, details=details)


def _report_text(module: str) -> Callable[[Report, bool], str]:
    def render(report: Report, details: bool) -> str:
        import importlib

        return str(importlib.import_module(f"{__package__}.{module}").render(report))

    return render


def _report_html(report: Report, details: bool) -> str:
    from .html_report import render

    return render(report, site_pages=details)


def _report_png(report: Report, details: bool) -> dict[str, bytes]:
    from .charts import all_charts

    return all_charts(report)


def _ambassadors(kind: str) -> Callable[[Report, bool], Rendered]:
    def render(report: Report, details: bool) -> Rendered:
        from . import ambassadors_report

        figures = report.ambassadors
        assert figures is not None, "the ambassadors command computes them"
        if kind == "table":
            table = ambassadors_report.table(figures, report.min_group_size)
            return lambda console: console.print(table)
        if kind == "html":
            return _report_html(report, details)
        if kind == "json":
            return ambassadors_report.render_json(figures)
        return ambassadors_report.render_csv(figures)

    return render


def _section(module: str, kind: str) -> Callable[[Report, bool], Rendered]:
    """A section command's format: its module's `table`, `render_html`, `render_json` or
    `render_csv` of the report."""

    def render(report: Report, details: bool) -> Rendered:
        import importlib

        section: Any = importlib.import_module(f"{__package__}.{module}")
        if kind == "table":
            table = section.table(report)
            return lambda console: console.print(table)
        return str(getattr(section, f"render_{kind}")(report))

    return render


RENDERERS: dict[str, dict[str, Renderer]] = {
    "report": {
        "table": Renderer(_report_table, "txt"),
        "json": Renderer(_report_text("json_report"), "json"),
        "csv": Renderer(_report_text("csv_report"), "csv"),
        "md": Renderer(_report_text("markdown"), "md"),
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
        for command in ("communities", "transitions", "personas", "interactions")
    },
}


def formats(command: str) -> tuple[str, ...]:
    """The `--format` choices of a command, its default first."""
    return tuple(RENDERERS[command])


def renderer(command: str, format: str) -> Renderer:
    return RENDERERS[command][format]
