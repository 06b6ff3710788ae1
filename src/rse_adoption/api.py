"""The library's face: `open_store()` and the Store's methods, one per command.

Everything the command line does, a Python caller (a notebook, a scheduler) does with the
same functions: `cli.py` only parses options, calls one method here and hands the result to
a renderer. Settings are keyword arguments that go through the same precedence and the same
validation as the command's flags (defaults < rse-adoption.toml < `RSE_ADOPTION_*`
environment < arguments), so a bad value raises the library's exception (errors.RseError
and its subclasses) with the message and exit code the command would give.

Each method returns a result whose `to_dict()` equals the command's `--json` output key for
key, and `to_pandas()` where a table makes sense (the CSV output's columns and order).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, effective_settings
from .errors import EXIT_USAGE, ConfigError, NoInputError
from .results import BacktestResult, HistoryResult, ReportResult, SectionResult

if TYPE_CHECKING:  # pandas is imported only by to_pandas(): a cron run never pays for it
    from .directory import DirectorySummary
    from .fetch.m365 import DayResult, FetchSummary
    from .fetch.slack import ChannelResult, SlackFetchSummary
    from .fetch.slack_analytics import AnalyticsDay, AnalyticsSummary
    from .fetch.viva_engage import RangeResult, VivaEngageFetchSummary
    from .forget import ErasureSummary
    from .ingest.pipeline import FileResult, IngestSummary
    from .interventions import InterventionsSummary
    from .prune import PruneSummary
    from .status import Status

__all__ = [
    "Store",
    "open_store",
    "ReportResult",
    "SectionResult",
    "HistoryResult",
    "BacktestResult",
]


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    config: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> Store:
    """The store at `path` (default: `data_dir` of the configuration, else ./rse-data).

    `create=True` makes the folder if it does not exist; without it a missing folder is a
    FileNotFoundError (errors.NoInputError, exit 66 on the command line). `config` is a
    configuration file as `--config` names it (default: ./rse-adoption.toml when present,
    or $RSE_ADOPTION_CONFIG). `settings` are Settings fields (window_days, min_group_size,
    tipping_low, tipping_high, engine, spark_master, timezone...) that every method uses
    unless it is given its own; an unknown name is a TypeError, a bad value a ConfigError.
    """
    store = Store(path, config=config, **settings)
    data_dir = store.settings.data_dir
    if create:
        data_dir.mkdir(parents=True, exist_ok=True)
    elif not data_dir.is_dir():
        raise NoInputError(f"{data_dir}: no store here (nothing ingested yet?)")
    return store


class Store:
    """One store folder and the settings in force for it. Methods mirror the commands;
    their keyword arguments override the store's settings for that call only. `given_as`
    names, in error messages, where the settings came from ("flag" for the CLI).

    Building one checks the settings, not the folder: commands that read a store raise
    NoInputError (exit 66) when it does not exist, and those that write one create it
    (`open_store` checks at once)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        config: str | os.PathLike[str] | None = None,
        given_as: str = "argument",
        **settings: Any,
    ) -> None:
        unknown = set(settings) - set(Settings.__dataclass_fields__) - {"data_dir"}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        self._config = Path(config) if config is not None else None
        self._given_as = given_as  # how errors name where a value came from
        self._flags = {**settings, "data_dir": Path(data_dir) if data_dir is not None else None}
        self.settings: Settings = self._settings()

    def __repr__(self) -> str:
        return f"<rse_adoption Store {self.settings.data_dir}>"

    def _settings(self, **overrides: Any) -> Settings:
        """Settings with this call's arguments applied, validated as the CLI's flags are."""
        flags = {**self._flags, **{k: v for k, v in overrides.items() if v is not None}}
        return effective_settings(config=self._config, flags=flags, flag_source=self._given_as)[0]

    def sources(self) -> dict[str, str]:
        """Where each setting in force came from: `default`, `PATH:LINE` of the
        configuration file, `env NAME`, or how this Store was given it."""
        return effective_settings(
            config=self._config, flags=self._flags, flag_source=self._given_as
        )[1]

    def load_directory(
        self,
        path: str | os.PathLike[str],
        *,
        keep_names: bool = False,
        force: bool = False,
        wait_seconds: float = 0.0,
    ) -> DirectorySummary:
        """`rse-adoption directory FILE [--keep-names] [--force]`: replace the employee
        directory; one that lists under half the people the store saw over its last report
        window is refused (DataError) unless `force`."""
        from .directory import load_directory

        return load_directory(
            Path(path), self.settings, wait_seconds=wait_seconds, keep_names=keep_names, force=force
        )

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        format: str = "auto",
        mapping: str | os.PathLike[str] | None = None,
        timezone: str | None = None,
        period_end: date | None = None,
        period_days: int | None = None,
        dry_run: bool = False,
        wait_seconds: float = 0.0,
        on_file: Callable[[FileResult, int, int], None] | None = None,
    ) -> IngestSummary:
        """`rse-adoption ingest PATH...`: the summary whose `to_dict()` is `--json`'s output.
        Files that cannot be read are in it with status "error" (the command exits 65)."""
        from .ingest.mapped import load_mapping
        from .ingest.pipeline import ingest_paths

        settings = self._settings(timezone=timezone)
        mapping_path = mapping or settings.mapping_file
        return ingest_paths(
            [Path(p) for p in paths],
            settings,
            format_name=format,
            wait_seconds=wait_seconds,
            on_file=on_file,
            dry_run=dry_run,
            period_end=period_end,
            period_days=period_days,
            mapping=load_mapping(Path(mapping_path)) if mapping_path else None,
        )

    def report(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
        history: bool = False,
        wait_seconds: float = 60.0,
    ) -> ReportResult:
        """`rse-adoption report`: per-site tipping-point figures over the window ending
        `as_of` (default: the last day with data). `history=True` also records them
        (`report --history`)."""
        from .metrics import build_report

        settings = self._settings(
            window_days=window_days,
            min_group_size=min_group_size,
            engine=engine,
            spark_master=spark_master,
        )
        result = build_report(settings, site_names=sites, as_of=as_of)
        if history:
            from .history import append_history

            append_history(result, settings, partial=bool(sites), wait_seconds=wait_seconds)
        return ReportResult(result)

    def forecast_backtest(
        self,
        *,
        sites: Sequence[str] = (),
        every_weeks: int = 4,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> BacktestResult:
        """`rse-adoption forecast --backtest`: cut the store's history every `every_weeks`
        weeks, forecast each site with what was known then and check it against what
        followed (docs/metrics.md, "Backtest")."""
        from .metrics.backtest import forecast_backtest

        if every_weeks < 1:
            raise ConfigError(
                f"every_weeks must be at least 1, got {every_weeks}", exit_code=EXIT_USAGE
            )
        settings = self._settings(
            window_days=window_days,
            min_group_size=min_group_size,
            engine=engine,
            spark_master=spark_master,
        )
        return BacktestResult(
            forecast_backtest(settings, site_names=sites, every_weeks=every_weeks)
        )

    def _section(self, section: str, arguments: dict[str, Any]) -> SectionResult:
        """A section command (its method's `arguments`, by name): the report with that
        section's analysis composed in."""
        import functools

        from . import metrics
        from .metrics import (
            ambassadors,
            candidates,
            communities,
            effects,
            leaders,
            personas,
            transitions,
        )

        analyses: dict[str, metrics.Section] = {
            "ambassadors": functools.partial(
                ambassadors.section, names=arguments.get("names", False)
            ),
            "communities": communities.section,
            "candidates": functools.partial(
                candidates.section,
                names=arguments.get("names", False),
                per_site=arguments.get("per_site"),
                survey=arguments.get("survey"),
            ),
            "leaders": functools.partial(leaders.section, names=arguments.get("names", False)),
            "transitions": transitions.section,
            "personas": personas.section,
            "interactions": lambda ctx: {},  # every report has them (metrics/report.py)
            "effects": functools.partial(
                effects.section,
                weeks_after=arguments.get("weeks_after") or effects.DEFAULT_WEEKS_AFTER,
            ),
        }
        settings = self._settings(
            window_days=arguments["window_days"],
            min_group_size=arguments["min_group_size"],
            engine=arguments["engine"],
            spark_master=arguments["spark_master"],
        )
        result = metrics.build_report(
            settings,
            site_names=arguments["sites"],
            as_of=arguments["as_of"],
            sections=[analyses[arguments.get("analysis") or section]],
        )
        return SectionResult(result, section)

    def ambassadors(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        names: bool = False,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
        candidates: bool = False,
        per_site: int | None = None,
        nominations: str | Path | None = None,
    ) -> SectionResult:
        """`rse-adoption ambassadors`: the ambassador network by site, its reach and effect;
        with `candidates`, whom to invite per site instead (`per_site` long, counting the
        `nominations` CSV when given; docs/metrics.md, "Candidates")."""
        if per_site is not None and per_site < 1:
            raise ConfigError(f"per_site must be at least 1, got {per_site}", exit_code=EXIT_USAGE)
        arguments = locals()
        arguments["analysis"] = "candidates" if candidates else None
        if candidates and nominations is not None:
            from .nominations import read_nominations

            arguments["survey"] = read_nominations(Path(nominations), self.settings.data_dir)
        return self._section("ambassadors", arguments)

    def communities(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
        leaders: bool = False,
        names: bool = False,
    ) -> SectionResult:
        """`rse-adoption communities`: communities overall and per site; with `leaders`,
        each community's founder and animators too (`names`: their ids and names)."""
        arguments = locals()
        arguments["analysis"] = "leaders" if leaders else None
        return self._section("communities", arguments)

    def transitions(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> SectionResult:
        """`rse-adoption transitions`: movement between segments since the previous window."""
        return self._section("transitions", locals())

    def personas(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> SectionResult:
        """`rse-adoption personas`: people by give-and-receive persona per site."""
        return self._section("personas", locals())

    def interactions(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> SectionResult:
        """`rse-adoption interactions`: replies and reactions between the sites shown, and
        each site's share toward other sites."""
        return self._section("interactions", locals())

    def effects(
        self,
        *,
        sites: Sequence[str] = (),
        as_of: date | None = None,
        weeks_after: int = 8,
        window_days: int | None = None,
        min_group_size: int | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> SectionResult:
        """`rse-adoption effects`: each logged action (`load_interventions`) and each site's
        first ambassador's start with its measured effect over the `weeks_after` weeks
        after it (docs/metrics.md, "Actions and their effect")."""
        if weeks_after < 1:
            raise ConfigError(
                f"weeks_after must be at least 1, got {weeks_after}", exit_code=EXIT_USAGE
            )
        return self._section("effects", locals())

    def load_interventions(
        self, path: str | os.PathLike[str], *, wait_seconds: float = 0.0
    ) -> InterventionsSummary:
        """`rse-adoption interventions FILE`: replace the store's list of actions (date,
        site, kind, label); a bad row or an unknown site is a DataError naming it."""
        from .interventions import load_interventions

        return load_interventions(Path(path), self.settings, wait_seconds=wait_seconds)

    def history(self, *, sites: Sequence[str] = ()) -> HistoryResult:
        """`rse-adoption history`: the figures `report(history=True)` recorded; `sites`
        keeps those sites and the totals recorded for exactly them."""
        from .history import read_history, select_history
        from .metrics import resolve_sites

        rows = read_history(self.settings)
        if not rows:  # nothing recorded yet: no site is unknown, the history is empty
            return HistoryResult(rows)
        known = sorted({r["site"] for r in rows if r["site"] is not None})
        return HistoryResult(select_history(rows, resolve_sites(sites, known) if sites else None))

    def status(self, *, stale_days: int = 7, directory_max_age: int = 90) -> Status:
        """`rse-adoption status`: what the store holds and the warnings to act on."""
        from .status import store_status

        return store_status(
            self.settings, stale_data_days=stale_days, stale_directory_days=directory_max_age
        )

    def quarantine(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """`rse-adoption quarantine --json`: rows ingest could not use (file, line, reason, raw)."""
        from .quarantine import read_quarantine

        return read_quarantine(self.settings, limit=limit)

    def forget(
        self, users: Sequence[str], *, dry_run: bool = False, wait_seconds: float = 0.0
    ) -> ErasureSummary:
        """`rse-adoption forget USER...`: erase one person (their e-mail and/or employee id)."""
        from .forget import forget_person

        return forget_person(list(users), self.settings, dry_run=dry_run, wait_seconds=wait_seconds)

    def fetch_m365(
        self,
        *,
        reports: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        dry_run: bool = False,
        keep_raw: str | os.PathLike[str] | None = None,
        max_minutes: float = 30,
        on_day: Callable[[DayResult], None] | None = None,
    ) -> FetchSummary:
        """`rse-adoption fetch m365`: pull the daily Viva Engage and Teams activity detail
        from Microsoft Graph for every day the store lacks, and ingest each (docs/m365.md).
        What ended a run early is in the summary (`exit_code`, `error`)."""
        from .fetch.m365 import fetch_m365

        return fetch_m365(
            self.settings,
            reports=reports,
            since=since,
            until=until,
            dry_run=dry_run,
            keep_raw=Path(keep_raw) if keep_raw is not None else None,
            max_minutes=max_minutes,
            on_day=on_day,
        )

    def fetch_slack(
        self,
        *,
        channels: Sequence[str] | None = None,
        since: date | None = None,
        dry_run: bool = False,
        max_minutes: float = 30,
        on_channel: Callable[[ChannelResult], None] | None = None,
    ) -> SlackFetchSummary:
        """`rse-adoption fetch slack`: read the new messages of the workspace's public
        channels (or of `channels`, by name) through Slack's Web API, with the token in
        $RSE_ADOPTION_SLACK_TOKEN, and ingest them as the Slack export reader would
        (docs/slack.md). What ended a run early is in the summary (`exit_code`, `error`)."""
        from .fetch.slack import fetch_slack

        return fetch_slack(
            self.settings,
            channels=channels,
            since=since,
            dry_run=dry_run,
            max_minutes=max_minutes,
            on_channel=on_channel,
        )

    def fetch_slack_analytics(
        self,
        *,
        since: date | None = None,
        dry_run: bool = False,
        max_minutes: float = 30,
        on_day: Callable[[AnalyticsDay], None] | None = None,
    ) -> AnalyticsSummary:
        """`rse-adoption fetch slack --analytics`: pull Slack's member analytics
        (`admin.analytics.getFile`) for every day of its 13 months the store lacks, with
        the user token in $RSE_ADOPTION_SLACK_ADMIN_TOKEN, and ingest each day as a one-day
        activity period (docs/slack.md). What ended a run early is in the summary
        (`exit_code`, `error`)."""
        from .fetch.slack_analytics import fetch_slack_analytics

        return fetch_slack_analytics(
            self.settings,
            since=since,
            dry_run=dry_run,
            max_minutes=max_minutes,
            on_day=on_day,
        )

    def fetch_viva_engage(
        self,
        *,
        since: date | None = None,
        dry_run: bool = False,
        max_minutes: float = 30,
        on_range: Callable[[RangeResult], None] | None = None,
    ) -> VivaEngageFetchSummary:
        """`rse-adoption fetch viva-engage`: pull the Viva Engage network data export
        (messages, users, groups) from the end of the last range stored, and ingest it with
        the Yammer export reader (docs/m365.md). What ended a run early is in the summary
        (`exit_code`, `error`)."""
        from .fetch.viva_engage import fetch_viva_engage

        return fetch_viva_engage(
            self.settings, since=since, dry_run=dry_run, max_minutes=max_minutes, on_range=on_range
        )

    def login_viva_engage(self, prompt: Callable[[str], None]) -> str:
        """`rse-adoption fetch viva-engage --login`: a Verified Administrator signs in once
        (device code: `prompt` shows Microsoft's instruction); the token cache is written
        owner-only. Returns the account's name."""
        from .fetch.viva_engage import login_viva_engage

        return login_viva_engage(self.settings, prompt)

    def prune(
        self, *, keep_days: int | None = None, dry_run: bool = False, wait_seconds: float = 0.0
    ) -> PruneSummary:
        """`rse-adoption prune`: drop raw events older than the retention."""
        from .prune import prune

        return prune(self.settings, keep_days=keep_days, dry_run=dry_run, wait_seconds=wait_seconds)
