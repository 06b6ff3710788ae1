"""What every analysis of one report reads: the base tables and the sites' figures.

`prepare` builds, once per report, the per-person tables every analysis reads —
`people` (the directory's, else activity's, on as_of), `person_weeks` and `person_segments`
(activity in the window), `contribution_weeks` (who contributed in each week of the
forecast's lookback), `window_events` (the window's posts, comments and reactions, with
their target person) — and the sites' tipping-point figures, into a `Context`. The analyses
(forecast, habit, ambassadors, communities, transitions, personas) only read them: none
creates a table another one reads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from .. import person_summary, store
from ..config import Settings
from ..errors import DataError, NoInputError
from ..messages import CONCEALED_NAMES_FIX, Message, Param
from ..model import GroupFigures
from . import engine, grain, segments, sites
from .engine import Connection
from .segments import SEGMENTS, Window
from .site_names import resolve_sites

K = TypeVar("K")


@dataclass(frozen=True)
class Lookback:
    """The weeks the forecast, habit and the ambassador effect look back over: the report
    window in whole weeks, the Monday week 0 starts, the index of as_of's week, and the
    event files they read."""

    window_weeks: int
    monday0: date
    last_week: int
    files: list[str]


@dataclass(frozen=True)
class Context:
    """One report's inputs, read-only: the connection holding the base tables, the
    settings, the window and its data, and the figures of the sites asked for (`groups`,
    sorted by name) and of their totals (over the sites shown)."""

    con: Connection
    settings: Settings
    manifest: store.Manifest
    window: Window
    first_day: date | None
    last_day: date | None
    groups: tuple[GroupFigures, ...]
    totals: GroupFigures
    headcount_source: str
    notes: tuple[str, ...]
    periods_used: tuple[dict[str, Any], ...]
    lookback: Lookback
    #: The report's activity_grain (grain.coverage): events, day, week or period.
    grain: str = "events"
    #: The first day with weekly detail (events, or periods tiling days or weeks), None
    #: when there is none.
    weekly_start: date | None = None
    #: Results that do not depend on the settings, shared by the copies `replace` makes
    #: with other settings (the report's true-count copy): computed once per report.
    shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def weekly(self) -> bool:
        """False when the only activity is periods equal to the window (grain "period"
        without events): no weekly series, forecast, habit nor ambassador effect."""
        return not (self.grain == "period" and self.weekly_start is None)

    @property
    def shown(self) -> list[GroupFigures]:
        """The sites whose figures are published (not below the privacy threshold)."""
        return [g for g in self.groups if not g.suppressed]

    def event_files(self, window: Window | None = None) -> list[str]:
        """The store's event files holding the months of `window` (default: the report's)."""
        chosen = window or self.window
        return store.path_list(
            segments.event_files(self.settings.data_dir, self.manifest, chosen.months())
        )

    @functools.cached_property
    def every_site(self) -> list[str]:
        """Every site a report may show (publishable_sites) and the sites shown: a shown
        site's figures are published among these, whatever `--site` chose (read once)."""
        k = self.settings.min_group_size
        return sorted({*publishable_sites(self.con, k), *(g.site or "" for g in self.shown)})

    @property
    def sites_weekly_series(self) -> Any:
        """Every site's weekly series for the actions' effects (effects.site_series), read
        once per report: the actions' section and the ambassadors' effect both use it
        (whatever the settings: shared with the true-count copy)."""
        from .effects import site_series

        if "sites_weekly_series" not in self.shared:
            self.shared["sites_weekly_series"] = site_series(self)
        return self.shared["sites_weekly_series"]

    def history_files(self) -> list[str]:
        """The store's event files up to the month of as_of (a community's whole life)."""
        last_month = self.window.as_of.strftime("%Y-%m")
        months = {f["month"] for f in self.manifest.event_files if f["month"] <= last_month}
        return store.path_list(segments.event_files(self.settings.data_dir, self.manifest, months))


def prepare(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    site_names: Sequence[str],
    as_of: date | None,
) -> Context:
    """Build the base tables and the sites' figures of the report over the window ending
    `as_of` (default: the last day with events). Raises DataError when the store holds no
    events and no as_of is given, or for an unknown site."""
    first_day, last_day = segments.data_period(con, settings.data_dir, manifest)
    notes: list[str] = []
    window = _window(settings, manifest, as_of, last_day, notes)
    cover = grain.coverage(manifest, window)
    periods_used = _periods_used(manifest, window, cover, notes)
    if (
        first_day is not None
        and last_day is not None
        and (window.as_of < first_day or window.start > last_day)
        and not periods_used
        and not cover.weekly_files
    ):
        raise DataError(
            f"the window {window.start} to {window.as_of} holds no events: the store's events "
            f"run from {first_day} to {last_day}; give an --as-of within them"
        )
    headcount_source = _create_person_segments(con, settings, manifest, window, cover, notes)
    notes += _grain_notes(cover, window)
    _note_concealed_names(con, manifest, notes)
    starts = [d for d in (first_day, cover.weekly_start) if d is not None]
    weekly_start = min(starts) if starts else None
    weekly = not (cover.grain == "period" and weekly_start is None)  # as Context.weekly
    if not weekly:
        notes.append(
            Message(
                "grain.no_weekly_detail",
                "No weekly detail at this grain (one period equal to the window): the weekly "
                "series, the forecast, habit and the ambassador effect need events, one-day "
                "periods for every day of the window (`fetch m365`), or seven-day periods "
                'ending on each of its Sundays (docs/metrics.md, "Grain").',
            )
        )
    groups, totals = _site_figures(con, settings, window, site_names, weekly)
    look = _lookback(settings, manifest, window)
    files, held = person_summary.lookback_weeks(settings.data_dir, manifest, look, window.as_of)
    segments.create_contribution_weeks(con, files, look.monday0, window.as_of, look.monday0, held)
    segments.create_window_events(
        con,
        store.path_list(segments.event_files(settings.data_dir, manifest, window.months())),
        window,
    )
    segments.add_period_contributions(
        con,
        [
            settings.data_dir / f["path"]
            for f in cover.weekly_files
            if f["refresh_date"] >= look.monday0.isoformat()
        ],
        look.monday0,
    )
    if last_day is not None and window.as_of > last_day:
        notes.append(
            Message(
                "window.after_last_day",
                "as_of %(as_of)s is after the last day with events (%(last_day)s).",
                as_of=window.as_of,
                last_day=last_day,
            )
        )
    return Context(
        con=con,
        settings=settings,
        manifest=manifest,
        window=window,
        first_day=first_day,
        last_day=last_day,
        groups=tuple(groups),
        totals=totals,
        headcount_source=headcount_source,
        notes=tuple(notes),
        periods_used=tuple(periods_used),
        lookback=look,
        grain=cover.grain,
        weekly_start=weekly_start,
    )


def _grain_notes(cover: grain.Coverage, window: Window) -> list[str]:
    """What the activity periods used bring to the report, by grain, then what keeps the
    others from tiling the window."""
    notes = []
    for used in ("day", "week", "period"):
        names = ", ".join(sorted(f for f, g in cover.formats.items() if g == used))
        if not names:
            continue
        values: dict[str, Param] = {"formats": names, "days": window.days, "end": window.as_of}
        if used == "period":
            notes.append(
                Message(
                    "grain.period_used",
                    "Includes per-person activity counts of %(formats)s for the %(days)s days "
                    "ending %(end)s (no weekly detail: they count in the window's segments, "
                    "not in the weekly series).",
                    **values,
                )
            )
        elif used == "day":
            notes.append(
                Message(
                    "grain.days_used",
                    "Includes per-person activity counts of %(formats)s for each day of the "
                    "%(days)s days ending %(end)s: they count in the window's segments and in "
                    "its weekly detail.",
                    **values,
                )
            )
        else:
            notes.append(
                Message(
                    "grain.weeks_used",
                    "Includes per-person activity counts of %(formats)s for each ISO week of "
                    "the %(days)s days ending %(end)s: they count in the window's segments and "
                    "in its weekly detail.",
                    **values,
                )
            )
    return notes + list(cover.notes)


def _window(
    settings: Settings,
    manifest: store.Manifest,
    as_of: date | None,
    last_day: date | None,
    notes: list[str],
) -> Window:
    """The report's window: ending `as_of`, else on the last day the current daily sources
    cover (with a note saying so: grain.daily_sources_end), else `_default_as_of`."""
    if as_of is None and last_day is not None:
        waited = grain.daily_sources_end(manifest, settings.window_days, last_day)
        if waited is not None:
            as_of = waited
            notes.append(
                Message(
                    "window.waits_for_daily_sources",
                    "The window ends %(as_of)s, the last day the store's daily activity "
                    "counts (Microsoft 365, Slack analytics) cover, not %(last_day)s, the last "
                    "day with events: so this report counts both. Give --as-of to choose "
                    "another day.",
                    as_of=as_of,
                    last_day=last_day,
                )
            )
    return Window(
        as_of=as_of or _default_as_of(settings, manifest, last_day), days=settings.window_days
    )


def _default_as_of(settings: Settings, manifest: store.Manifest, last_day: date | None) -> date:
    """The last day with events, else the end of the latest activity period of the
    window's length, else the last day of the latest one-day or seven-day periods that tile
    a window that long; a DataError saying what to do when there is none."""
    as_of = last_day or _latest_period_end(manifest, settings.window_days)
    tiled = [end for end, days, _, _ in grain.tiled_runs(manifest) if days >= settings.window_days]
    as_of = as_of or max(tiled, default=None)
    if as_of is not None:
        return as_of
    if manifest.activity_files:
        raise DataError(
            f"the store {settings.data_dir} holds activity periods but no events, and none is "
            f"{settings.window_days} days long: a report's window must be one the "
            f"exports cover; use {supported_windows(manifest)}"
        )
    raise NoInputError(
        f"the store {settings.data_dir} holds no events: run `rse-adoption ingest` first, "
        "or give --as-of"
    )


def _periods_used(
    manifest: store.Manifest, window: Window, cover: grain.Coverage, notes: list[str]
) -> list[dict[str, Any]]:
    """The activity periods the window uses (grain.coverage); a DataError when the store
    has only periods and none fits, a note when events stand alone."""
    used = list(cover.window_files)
    if manifest.activity_files and not used:
        if not manifest.event_files:
            gaps = "".join(f" {gap}." for gap in cover.notes)
            raise DataError(
                f"no activity period of the store is the {window.days} days ending "
                f"{window.as_of}, nor do one-day or seven-day periods cover each of its days "
                f"or ISO weeks: the exports give per-person counts over fixed periods, so a "
                f"report's window must be one of them or be tiled by them.{gaps} To report "
                f"on them, use {supported_windows(manifest)}"
            )
        notes.append(
            Message(
                "grain.periods_unused",
                "Activity periods (Microsoft 365, Slack analytics) count only in a report "
                "whose window is exactly their period, or whose every day (or ISO week) they "
                "cover; this one uses events only. Windows they support: %(windows)s.",
                windows=supported_windows(manifest),
            )
        )
    return used


def _note_concealed_names(con: Connection, manifest: store.Manifest, notes: list[str]) -> None:
    """What concealed Microsoft 365 names mean for this report (a DataError when they
    would make every site show zero contributors)."""
    concealed, concealed_joined = segments.concealed_people(con)
    if not concealed:
        return
    if not manifest.directory:
        notes.append(
            Message(
                "concealed_names.no_directory",
                "%(people)s people of the Microsoft 365 reports have concealed names "
                "(32-character hashes): they count in '(no site)', so only organisation-wide "
                "figures are possible. %(fix)s",
                people=concealed,
                fix=CONCEALED_NAMES_FIX,
            )
        )
    elif not concealed_joined:
        message = (
            f"{concealed} people of the Microsoft 365 reports have concealed names "
            "(32-character hashes), which nothing in the directory matches"
        )
        if manifest.directory and not _anyone_active(con):
            raise DataError(
                f"{message}: every site would show zero contributors. {CONCEALED_NAMES_FIX}"
            )
        notes.append(
            Message(
                "concealed_names.unmatched",
                "%(people)s people of the Microsoft 365 reports have concealed names "
                "(32-character hashes), which nothing in the directory matches; they count "
                "as unlisted people, in no site. %(fix)s",
                people=concealed,
                fix=CONCEALED_NAMES_FIX,
            )
        )


def _site_figures(
    con: Connection,
    settings: Settings,
    window: Window,
    site_names: Sequence[str],
    weekly: bool = True,
) -> tuple[list[GroupFigures], GroupFigures]:
    """The tipping-point figures of the sites asked for (all by default), sorted by name,
    and of their totals over the sites shown (metrics/sites.py); without `weekly` detail,
    no series (None: unknown, not zeros)."""
    counts = sites.site_segment_counts(con)
    series = sites.site_series(con, segments.week_monday(window))
    weeks = sites.window_weeks(window.start, window.as_of)
    wanted = resolve_sites(site_names, list(counts)) if site_names else sorted(counts)
    thresholds = functools.partial(
        sites.figures,
        low=settings.tipping_low,
        high=settings.tipping_high,
        min_group_size=settings.min_group_size,
    )
    groups = [
        thresholds(name, counts[name], series.get(name, []), weeks) for name in sorted(set(wanted))
    ]
    visible = [g for g in groups if not g.suppressed]
    total_counts = {
        key: sum(counts[g.site][key] for g in visible if g.site is not None)
        for key in (*SEGMENTS, "ambassadors")
    }
    totals = thresholds(None, total_counts, [], weeks)
    if not weekly:
        return [replace(g, series=None) for g in groups], replace(totals, series=None)
    if not totals.suppressed:
        totals = replace(totals, series=sites.sum_series(visible, weeks))
    return groups, totals


def _people_without_directory(
    con: Connection, data_dir: Path, manifest: store.Manifest, as_of: date, notes: list[str]
) -> str:
    """`people` without a directory: a platform's member list when one is held (the
    headcount source "members"), else the people seen in events and activity periods
    ("activity"); the note that says which."""
    history = [
        data_dir / f["path"] for f in manifest.event_files if f["month"] <= as_of.strftime("%Y-%m")
    ]
    members = [data_dir / f["path"] for f in manifest.member_files]
    segments.create_people_from_activity(
        con,
        history,
        as_of,
        [
            data_dir / f["path"]
            for f in manifest.activity_files
            if f["refresh_date"] <= as_of.isoformat()
        ],
        members,
        person_summary.site_counts(data_dir, manifest, as_of + timedelta(days=1)),
    )
    if members:
        headcount_source = "members"
        notes.append(
            Message(
                "headcount.members",
                "No employee directory is loaded: the headcount is the member list of "
                "%(formats)s (%(members)s members, listed on %(day)s), members who never "
                "used the network included, plus anyone else seen in the events up to "
                "as_of; a member counts at the site their events name most often, else "
                "in (no site).",
                formats=", ".join(sorted({f["source_format"] for f in manifest.member_files})),
                members=sum(int(f["rows"]) for f in manifest.member_files),
                day=date.fromisoformat(max(f["listed_on"] for f in manifest.member_files)),
            )
        )
    else:
        headcount_source = "activity"
        notes.append(
            Message(
                "headcount.no_directory",
                "No employee directory is loaded: each site's headcount is the people "
                "seen in its events up to as_of, so people who never used the network "
                "are missing.",
            )
        )
    return headcount_source


def _create_person_segments(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    cover: grain.Coverage,
    notes: list[str],
) -> str:
    """Create `people` (the directory's, else activity's), `person_weeks` (events, and the
    periods tiling the window: grain.coverage) and `person_segments` for the window;
    append what a reader must know to `notes`; return the headcount source ("directory",
    else "members" when a platform's member list is held, else "activity")."""
    data_dir = settings.data_dir
    as_of = window.as_of
    if manifest.directory:
        segments.create_people_from_directory(con, data_dir / manifest.directory["path"], as_of)
        headcount_source = "directory"
        profiled = segments.add_people_from_profile_sites(
            con,
            [
                data_dir / f["path"]
                for f in manifest.event_files
                if f["month"] <= as_of.strftime("%Y-%m")
                and f.get("source_format") in segments.PROFILE_SITE_FORMATS
            ],
            as_of,
        )
        if profiled:
            notes.append(
                Message(
                    "headcount.yammer_profiles",
                    "%(people)s people missing from the directory are counted at the "
                    "location their Yammer profile (Users.csv) gives.",
                    people=profiled,
                )
            )
    else:
        headcount_source = _people_without_directory(con, data_dir, manifest, as_of, notes)
    segments.apply_site_aliases(con, settings.site_aliases)
    segments.create_person_weeks(
        con, segments.event_files(data_dir, manifest, window.months()), window
    )
    segments.add_period_weeks(
        con,
        [
            data_dir / f["path"]
            for f in cover.weekly_files
            if f["refresh_date"] >= window.start.isoformat()
        ],
        window,
    )
    segments.create_person_periods(con, [data_dir / f["path"] for f in cover.window_files])
    segments.create_person_segments(con)
    return headcount_source


def site_activity(settings: Settings) -> tuple[Window, dict[str, dict[str, int]]] | None:
    """Per-site segment counts (`sites.site_segment_counts`) of the default window ending on
    the store's last day with events, or None when it holds no events. Always DuckDB, and
    only the segments: `status` must not need the configured engine nor a whole report."""
    with store.reading(settings.data_dir) as manifest:
        con = engine.connect_duckdb()
        try:
            _, last_day = segments.data_period(con, settings.data_dir, manifest)
            if last_day is None:
                return None
            window = Window(as_of=last_day, days=settings.window_days)
            _create_person_segments(
                con, settings, manifest, window, grain.coverage(manifest, window), []
            )
            return window, sites.site_segment_counts(con)
        finally:
            con.close()


def sum_shown(counts: dict[str, dict[K, int]], groups: Sequence[GroupFigures]) -> dict[K, int]:
    """Per-key sums of the sites' counts over the sites shown (not suppressed): the
    totals of a figure counted per site (a person belongs to one site)."""
    total: dict[K, int] = {}
    for g in groups:
        if not g.suppressed:
            for key, n in counts.get(g.site or "", {}).items():
                total[key] = total.get(key, 0) + n
    return total


def _lookback(settings: Settings, manifest: store.Manifest, window: Window) -> Lookback:
    """The forecast's lookback: the window in whole weeks, the Monday its week 0 starts,
    the index of as_of's week, and the event files it reads."""
    window_weeks = math.ceil(window.days / 7)
    as_of_monday = window.as_of - timedelta(days=window.as_of.weekday())
    monday0 = as_of_monday - timedelta(weeks=settings.forecast_lookback_weeks + window_weeks - 1)
    months = Window(as_of=window.as_of, days=(window.as_of - monday0).days + 1).months()
    files = store.path_list(segments.event_files(settings.data_dir, manifest, months))
    return Lookback(window_weeks, monday0, (as_of_monday - monday0).days // 7, files)


def publishable_sites(con: Connection, k: int) -> list[str]:
    """Every site of the report's people that a report may show (at least `k` people),
    whichever sites `--site` chose: a shown site's figures are published among all of
    these, so that they never depend on which other sites were selected."""
    rows = con.execute(
        "SELECT site, count(*) FROM people WHERE site IS NOT NULL GROUP BY site ORDER BY site"
    ).fetchall()
    return [str(site) for site, people in rows if int(people) >= k]


def _anyone_active(con: Connection) -> bool:
    sql = "SELECT count(*) FROM person_segments WHERE segment <> 'inactive'"
    return bool(con.execute(sql).fetchall()[0][0])


def _latest_period_end(manifest: store.Manifest, window_days: int) -> date | None:
    """The last refresh date of activity periods `window_days` long, or None."""
    ends = [
        f["refresh_date"] for f in manifest.activity_files if int(f["period_days"]) == window_days
    ]
    return date.fromisoformat(max(ends)) if ends else None


def supported_windows(manifest: store.Manifest, limit: int = 6) -> str:
    """The report windows the store's activity periods support, latest first, as options:
    `--window 28 --as-of 2026-10-31 (viva_engage, each day); --window 30 --as-of 2026-10-31
    (viva_engage, teams); ...` — first the longest each format's one-day or seven-day
    periods tile (any shorter window within them is tiled too), then the other periods."""
    runs = [
        f"--window {days} --as-of {end} ({source_format}, each "
        f"{'day' if grain_name == 'day' else 'ISO week'})"
        for end, days, source_format, grain_name in grain.tiled_runs(manifest)
    ]
    windows: dict[tuple[str, int], set[str]] = {}
    for f in manifest.activity_files:
        if int(f["period_days"]) == 1:
            continue  # named by the runs they tile
        windows.setdefault((f["refresh_date"], int(f["period_days"])), set()).add(
            f["source_format"]
        )
    ordered = sorted(windows.items(), key=lambda item: (item[0][0], -item[0][1]), reverse=True)
    options = runs + [
        f"--window {days} --as-of {end} ({', '.join(sorted(formats))})"
        for (end, days), formats in ordered
    ]
    text = "; ".join(options[:limit])
    if len(options) > limit:
        text += f"; and {len(options) - limit} more"
    return text
