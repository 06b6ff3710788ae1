"""The commands that compute and render figures: `report`, `ambassadors`, `communities`,
`transitions`, `personas`, `interactions`, `effects`. Each parses its options, calls one Store method and hands the
Report to cli/output.py; formats come from report/registry.py."""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer

from ..config import ENGINES
from ..report.csv_report import DIALECTS
from ..report.registry import formats
from .app import app
from .common import (
    AsOfOption,
    ConfigOption,
    DataDirOption,
    LangOption,
    QuietOption,
    SiteOption,
    handle_errors,
    parse_day,
    store,
)
from .output import emit

EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        click_type=click.Choice(ENGINES),
        help="Query engine of the metrics: duckdb (embedded) or spark (the `spark` extra; "
        "docs/scale.md) [default: duckdb, or engine.name].",
        show_default=False,
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
WindowOption = Annotated[
    int | None, typer.Option("--window", min=1, help="Window length in days [default: 90].")
]
MinGroupOption = Annotated[
    int | None,
    typer.Option("--min-group-size", min=1, help="Hide groups with fewer people [default: 5]."),
]
OutOption = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="Write to this file instead of standard output (a folder, existing or written "
        "with a trailing /, gets COMMAND.EXT inside it).",
    ),
]
JsonFormatOption = Annotated[
    bool, typer.Option("--json", help="Same as --format json (for scripts).")
]
CsvDialectOption = Annotated[
    str,
    typer.Option(
        "--csv-dialect",
        click_type=click.Choice(tuple(DIALECTS)),
        help="With --format csv: excel (comma, decimal point) or excel-fr (semicolon, "
        "decimal comma, UTF-8 byte-order mark, for spreadsheets set up for French).",
    ),
]


def _format_option(command: str) -> object:
    return typer.Option(
        "--format", click_type=click.Choice(formats(command)), help="Output format."
    )


@app.command()
@handle_errors
def report(
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="Only this site (repeat for several); adds a detail block."),
    ] = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: Annotated[str, _format_option("report")] = "table",
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
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Per-site readers vs contributors and progress toward the tipping point.

    A site tips when its contributors (people who posted or commented in the window)
    reach 15% of its headcount; 10-15% is the tipping band. Definitions: docs/metrics.md.
    """
    day = parse_day(as_of)
    if json_out:
        format = "json"
    if format == "png" and out is None:
        raise typer.BadParameter("--format png needs --out FOLDER", param_hint="--out")
    chosen = store(data_dir, config, language=lang)
    result = chosen.report(
        sites=site or (),
        as_of=day,
        window_days=window,
        min_group_size=min_group_size,
        engine=engine,
        spark_master=spark_master,
        history=history,
    )
    emit(
        "report",
        format,
        result.report,
        out=out,
        quiet=quiet,
        details=bool(site),
        language=chosen.settings.language,
        csv_dialect=csv_dialect,
    )


def _section_command(section: str, options: dict[str, Any]) -> None:
    """What the four section commands do with their options (the command's parameters,
    by name): the Store method of the same name, then the section's renderer."""
    arguments: dict[str, Any] = {
        "sites": options["site"] or (),
        "as_of": parse_day(options["as_of"]),
        "window_days": options["window"],
        "min_group_size": options["min_group_size"],
        "engine": options["engine"],
        "spark_master": options["spark_master"],
    }
    if section == "ambassadors":
        for flag, given in (
            ("--per-site", options["per_site"]),
            ("--nominations", options["nominations"]),
        ):
            if given is not None and not options["candidates"]:
                raise typer.BadParameter(f"{flag} goes with --candidates", param_hint=flag)
        arguments["names"] = options["names"]
        arguments["candidates"] = options["candidates"]
        arguments["per_site"] = options["per_site"]
        arguments["nominations"] = options["nominations"]
    if section == "effects":
        arguments["weeks_after"] = options["weeks_after"]
    if section == "communities":
        if options["names"] and not options["leaders"]:
            raise typer.BadParameter("--names goes with --leaders", param_hint="--names")
        arguments["leaders"] = options["leaders"]
        arguments["names"] = options["names"]
    chosen = store(options["data_dir"], options["config"], language=options["lang"])
    result = getattr(chosen, section)(**arguments)
    emit(
        section,
        "json" if options["json_out"] else options["format"],
        result.report,
        out=options["out"],
        quiet=options["quiet"],
        details=bool(options["site"]),
        language=chosen.settings.language,
        csv_dialect=options["csv_dialect"],
    )


@app.command()
@handle_errors
def ambassadors(
    names: Annotated[
        bool,
        typer.Option(
            "--names",
            help="Also list each site's ambassadors by name (needs `directory --keep-names`; "
            "never their individual activity); with --candidates, each candidate's user_id "
            "and name.",
        ),
    ] = False,
    candidates: Annotated[
        bool,
        typer.Option(
            "--candidates",
            help="Whom to invite, per site: a shortlist ranked by reach (distinct colleagues "
            "who answered, across departments, sustained over weeks), never by volume; "
            "personal data (docs/privacy.md). Rule: docs/metrics.md#candidates.",
        ),
    ] = False,
    per_site: Annotated[
        int | None,
        typer.Option(
            "--per-site",
            min=1,
            help="With --candidates: shortlist length per site [default: twice to_recruit, "
            "at least 5].",
        ),
    ] = None,
    nominations: Annotated[
        str | None,
        typer.Option(
            "--nominations",
            help="With --candidates: a survey CSV (columns nominator, nominee; French "
            "headers accepted) counted as distinct nominators per nominee.",
        ),
    ] = None,
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: Annotated[str, _format_option("ambassadors")] = "table",
    out: OutOption = None,
    min_group_size: Annotated[
        int | None,
        typer.Option("--min-group-size", min=1, help="Hide sites with fewer people [default: 5]."),
    ] = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
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
    _section_command("ambassadors", locals())


@app.command()
@handle_errors
def communities(
    leaders: Annotated[
        bool,
        typer.Option(
            "--leaders",
            help="Also each community's founder and animators (communities with at least "
            "--min-group-size active members), by pseudonymous key: personal data "
            "(docs/privacy.md).",
        ),
    ] = False,
    names: Annotated[
        bool,
        typer.Option(
            "--names",
            help="With --leaders: their user_id and name (needs `directory --keep-names`).",
        ),
    ] = False,
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: Annotated[str, _format_option("communities")] = "table",
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
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Communities (spaces, groups, channels) overall and per site: active members,
    contributors, posts and replies, share of posts answered, weekly trend, and each
    site's most and least lively ones. Definitions: docs/metrics.md#communities.
    """
    _section_command("communities", locals())


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
    format: Annotated[str, _format_option("transitions")] = "table",
    out: OutOption = None,
    min_group_size: MinGroupOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Movement between segments from the previous window to this one, per site: readers
    and reactors who became contributors, contributors kept and lost. Definitions:
    docs/metrics.md#transitions.
    """
    _section_command("transitions", locals())


@app.command()
@handle_errors
def personas(
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: Annotated[str, _format_option("personas")] = "table",
    out: OutOption = None,
    min_group_size: MinGroupOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """People by give-and-receive persona per site: observers, catalysts, responders,
    broadcasters, engagers (needs events that name the person replied or reacted to).
    Rules and thresholds: docs/metrics.md#personas.
    """
    _section_command("personas", locals())


@app.command()
@handle_errors
def interactions(
    site: SiteOption = None,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: Annotated[str, _format_option("interactions")] = "table",
    out: OutOption = None,
    min_group_size: MinGroupOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Replies and reactions between sites: who answers and reacts to whom (rows: the
    actor's site; columns: the site of the person answered), and each site's share toward
    other sites (needs events that name the person replied or reacted to). Definitions:
    docs/metrics.md#interactions.
    """
    _section_command("interactions", locals())


@app.command()
@handle_errors
def effects(
    site: SiteOption = None,
    weeks_after: Annotated[
        int,
        typer.Option(
            "--weeks-after", min=1, help="Weeks after each action its effect is measured over."
        ),
    ] = 8,
    as_of: AsOfOption = None,
    window: WindowOption = None,
    format: Annotated[str, _format_option("effects")] = "table",
    out: OutOption = None,
    min_group_size: MinGroupOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    lang: LangOption = None,
    csv_dialect: CsvDialectOption = "excel",
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    json_out: JsonFormatOption = False,
    quiet: QuietOption = False,
) -> None:
    """Each logged action (`interventions FILE`) and each site's first ambassador's start,
    with its estimated effect on the site's new contributors over the --weeks-after weeks
    after it and on its contributor share, an 80% interval, placebo and pre-trend checks,
    and a verdict: increase, decrease, no clear effect or not estimable (with the reason).
    Definitions: docs/metrics.md, "Actions and their effect".
    """
    _section_command("effects", locals())
