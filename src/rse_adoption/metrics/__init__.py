"""The metrics engine: one function per question, DuckDB SQL over the Parquet store.

`build_report` answers "how close is each site to the tipping point?" and returns a
model.Report; renderers take it from there.
"""

from __future__ import annotations

import difflib
import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar

import duckdb

from .. import store
from ..config import Settings
from ..errors import DataError, StoreIOError
from ..model import (
    ActivityPeriod,
    Ambassadors,
    GroupFigures,
    Report,
    SitePersonas,
    SiteTransitions,
)
from ..schema import CONCEALED_NAMES_FIX
from . import (
    ambassadors,
    communities,
    engine,
    forecast,
    habit,
    personas,
    segments,
    sites,
    transitions,
)
from .engine import Connection
from .segments import SEGMENTS, Window

K = TypeVar("K")


def _fold(name: str) -> str:
    """Compare site names without case or accents ("saint-etienne" finds "Saint-Étienne")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def resolve_sites(requested: Sequence[str], known: Sequence[str]) -> list[str]:
    """Known site names for the user's `--site` values; an unknown one is a DataError
    listing the closest known names."""
    by_fold = {_fold(k): k for k in known}
    resolved = []
    for name in requested:
        match = by_fold.get(_fold(name))
        if match is None:
            close = difflib.get_close_matches(_fold(name), list(by_fold), n=3, cutoff=0.5)
            hint = ", ".join(by_fold[c] for c in close) or ", ".join(sorted(known)[:5])
            raise DataError(f"unknown site {name!r}; closest known sites: {hint}")
        resolved.append(match)
    return resolved


def build_report(
    settings: Settings,
    *,
    site_names: Sequence[str] = (),
    as_of: date | None = None,
    generated_at: str | None = None,
    ambassador_reach: bool = False,
    ambassador_names: bool = False,
    with_communities: bool = False,
    with_transitions: bool = False,
    with_personas: bool = False,
) -> Report:
    """Per-site tipping-point report over the window ending `as_of` (default: the last
    day with events). Raises DataError when the store holds no events and no as_of is
    given, or for an unknown site. `ambassador_reach` adds the ambassadors' reach, and
    `with_communities` the communities, `with_transitions` the movement since the previous
    window (each one more pass over events: `rse-adoption ambassadors`, `communities`,
    `transitions`)."""
    with store.reading(settings.data_dir) as manifest:
        con = engine.connect(settings.engine, settings.spark_master)
        try:
            return _build(
                con,
                settings,
                manifest,
                site_names,
                as_of,
                generated_at,
                ambassador_reach,
                ambassador_names,
                with_communities,
                with_transitions,
                with_personas,
            )
        except (duckdb.IOException, duckdb.InvalidInputException) as failure:  # damaged, missing
            first = str(failure).strip().splitlines()[0]
            raise StoreIOError(f"cannot read the store {settings.data_dir}: {first}") from None
        finally:
            con.close()


def _build(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    site_names: Sequence[str],
    as_of: date | None,
    generated_at: str | None,
    ambassador_reach: bool,
    ambassador_names: bool,
    with_communities: bool,
    with_transitions: bool,
    with_personas: bool,
) -> Report:
    data_dir = settings.data_dir
    first_day, last_day = segments.data_period(con, data_dir, manifest)
    if as_of is None:
        as_of = last_day or _latest_period_end(manifest, settings.window_days)
        if as_of is None:
            if manifest.activity_files:
                raise DataError(
                    f"the store {data_dir} holds activity periods but no events, and none is "
                    f"{settings.window_days} days long: a report's window must be one the "
                    f"exports cover; use {supported_windows(manifest)}"
                )
            raise DataError(
                f"the store {data_dir} holds no events: run `rse-adoption ingest` first, "
                "or give --as-of"
            )
    window = Window(as_of=as_of, days=settings.window_days)
    notes: list[str] = []
    periods_used = _periods_matching(manifest, window)
    if manifest.activity_files and not periods_used:
        if not manifest.event_files:
            raise DataError(
                f"no activity period of the store is the {window.days} days ending {as_of}: "
                "the exports give per-person counts over fixed periods, so a report's window "
                f"must be one of them; use {supported_windows(manifest)}"
            )
        notes.append(
            "Activity periods (Microsoft 365, Slack analytics) count only in a report whose "
            f"window is exactly their period; this one uses events only. Windows they "
            f"support: {supported_windows(manifest)}."
        )
    headcount_source = _create_person_segments(con, settings, manifest, window, periods_used, notes)
    if periods_used:
        sources = sorted({f["source_format"] for f in periods_used})
        notes.append(
            f"Includes per-person activity counts of {', '.join(sources)} for the "
            f"{window.days} days ending {as_of} (no weekly detail: they count in the "
            "window's segments, not in the weekly series)."
        )
    concealed, concealed_joined = segments.concealed_people(con)
    if concealed and not manifest.directory:
        notes.append(
            f"{concealed} people of the Microsoft 365 reports have concealed names "
            "(32-character hashes): they count in '(no site)', so only organisation-wide "
            f"figures are possible. {CONCEALED_NAMES_FIX}"
        )
    elif concealed and not concealed_joined:
        message = (
            f"{concealed} people of the Microsoft 365 reports have concealed names "
            "(32-character hashes), which nothing in the directory matches"
        )
        if manifest.directory and not _anyone_active(con):
            raise DataError(
                f"{message}: every site would show zero contributors. {CONCEALED_NAMES_FIX}"
            )
        notes.append(f"{message}; they count as unlisted people, in no site. {CONCEALED_NAMES_FIX}")
    counts = sites.site_segment_counts(con)
    series = sites.site_series(con, segments.week_monday(window))
    weeks = sites.window_weeks(window.start, as_of)
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
    if not totals.suppressed:
        totals = replace(totals, series=sites.sum_series(visible, weeks))
    groups, totals = _with_forecasts(con, settings, manifest, window, first_day, groups, totals)
    groups, totals = _with_habits(con, settings, manifest, window, groups, totals)
    ambassador_figures = _ambassadors(
        con, settings, manifest, window, first_day, groups, ambassador_reach
    )
    if ambassador_names:
        if not (manifest.directory and manifest.directory.get("names_kept")):
            raise DataError(
                "names were not kept: load the directory with `rse-adoption directory FILE "
                "--keep-names` (its name column) to list ambassadors by name"
            )
        ambassador_figures = replace(
            ambassador_figures,
            roster=ambassadors.roster(
                con,
                str(data_dir / manifest.directory["path"]),
                {g.site or "" for g in groups if not g.suppressed},
            ),
        )
    previous = transitions.previous_window(window) if with_transitions else None
    persona_figures, persona_reason = (
        _personas(con, settings, manifest, window, groups) if with_personas else ([], None)
    )
    moves = _transitions(con, settings, manifest, window, groups) if with_transitions else []
    community_figures = (
        communities.communities(
            con,
            store.path_list(segments.event_files(data_dir, manifest, window.months())),
            window,
            len(weeks),
            settings.min_group_size,
            {g.site or "" for g in groups if not g.suppressed},
        )
        if with_communities
        else []
    )
    if last_day is not None and as_of > last_day:
        notes.append(f"as_of {as_of} is after the last day with events ({last_day}).")
    return Report(
        as_of=as_of,
        window_days=settings.window_days,
        window_start=window.start,
        tipping_low=settings.tipping_low,
        tipping_high=settings.tipping_high,
        min_group_size=settings.min_group_size,
        headcount_source=headcount_source,
        unlisted_active_users=segments.unlisted_active_users(con),
        sites=tuple(groups),
        totals=totals,
        data_first_day=first_day,
        data_last_day=last_day,
        generated_at=generated_at or store.utc_now_iso(),
        notes=tuple(notes),
        transitions=tuple(moves),
        personas=tuple(persona_figures),
        personas_reason=persona_reason,
        previous_window=(previous.start, previous.as_of) if previous else None,
        ambassadors=ambassador_figures,
        communities=tuple(community_figures),
        activity_periods=tuple(
            ActivityPeriod(
                f["source_format"],
                int(f["period_days"]),
                date.fromisoformat(f["refresh_date"]),
                int(f["rows"]),
            )
            for f in sorted(periods_used, key=lambda f: f["source_format"])
        ),
    )


def _create_person_segments(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    periods_used: list[dict[str, Any]],
    notes: list[str],
) -> str:
    """Create `people` (the directory's, else activity's) and `person_segments` for the
    window; append what a reader must know to `notes`; return the headcount source
    ("directory" or "activity")."""
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
                f"{profiled} people missing from the directory are counted at the location "
                "their Yammer profile (Users.csv) gives."
            )
    else:
        history = [
            data_dir / f["path"]
            for f in manifest.event_files
            if f["month"] <= as_of.strftime("%Y-%m")
        ]
        segments.create_people_from_activity(
            con,
            history,
            as_of,
            [
                data_dir / f["path"]
                for f in manifest.activity_files
                if f["refresh_date"] <= as_of.isoformat()
            ],
        )
        headcount_source = "activity"
        notes.append(
            "No employee directory is loaded: each site's headcount is the people seen in "
            "its events up to as_of, so people who never used the network are missing."
        )
    segments.apply_site_aliases(con, settings.site_aliases)
    segments.create_person_weeks(
        con, segments.event_files(data_dir, manifest, window.months()), window
    )
    segments.create_person_periods(con, [data_dir / f["path"] for f in periods_used])
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
                con, settings, manifest, window, _periods_matching(manifest, window), []
            )
            return window, sites.site_segment_counts(con)
        finally:
            con.close()


def _periods_matching(manifest: store.Manifest, window: Window) -> list[dict[str, Any]]:
    """The activity periods that are exactly `window` (docs/metrics.md, "Activity
    periods"): the only ones a window's segments may use."""
    return [
        entry
        for entry in manifest.activity_files
        if int(entry["period_days"]) == window.days
        and entry["refresh_date"] == window.as_of.isoformat()
    ]


def _sum_shown(counts: dict[str, dict[K, int]], groups: list[GroupFigures]) -> dict[K, int]:
    """Per-key sums of the sites' counts over the sites shown (not suppressed): the
    totals of a figure counted per site (a person belongs to one site)."""
    total: dict[K, int] = {}
    for g in groups:
        if not g.suppressed:
            for key, n in counts.get(g.site or "", {}).items():
                total[key] = total.get(key, 0) + n
    return total


def _personas(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    groups: list[GroupFigures],
) -> tuple[list[SitePersonas], str | None]:
    """Each site's, then the totals', people by persona, or why there are none."""
    files = store.path_list(segments.event_files(settings.data_dir, manifest, window.months()))
    counts, any_target = personas.persona_counts(con, files, window)
    if not any_target:
        return [], (
            "no event of the window names a target person (the export does not say whose "
            "content a reaction or reply answers): nobody can be seen to receive anything"
        )
    return personas.publish(
        [(g.site, None if g.suppressed else counts.get(g.site or "", {})) for g in groups],
        settings.min_group_size,
    ), None


def _transitions(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    groups: list[GroupFigures],
) -> list[SiteTransitions]:
    """Each site's, then the totals', movement between segments since the previous
    window (metrics/transitions.py)."""
    before = transitions.previous_window(window)
    event_files = store.path_list(
        segments.event_files(settings.data_dir, manifest, before.months())
    )
    period_files = store.path_list(
        [settings.data_dir / f["path"] for f in _periods_matching(manifest, before)]
    )
    counts = transitions.transition_counts(con, event_files, period_files, window)
    return transitions.publish(
        [(g.site, None if g.suppressed else counts.get(g.site or "", {})) for g in groups],
        settings.min_group_size,
    )


def _lookback(
    settings: Settings, manifest: store.Manifest, window: Window
) -> tuple[int, date, int, list[str]]:
    """The forecast's lookback: the window in whole weeks, the Monday its week 0 starts,
    the index of as_of's week, and the event files it reads."""
    window_weeks = math.ceil(window.days / 7)
    as_of_monday = window.as_of - timedelta(days=window.as_of.weekday())
    monday0 = as_of_monday - timedelta(weeks=settings.forecast_lookback_weeks + window_weeks - 1)
    months = Window(as_of=window.as_of, days=(window.as_of - monday0).days + 1).months()
    files = store.path_list(segments.event_files(settings.data_dir, manifest, months))
    return window_weeks, monday0, (as_of_monday - monday0).days // 7, files


def _ambassadors(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    first_day: date | None,
    groups: list[GroupFigures],
    with_reach: bool,
) -> Ambassadors:
    """The ambassador figures of the report's sites (metrics/ambassadors.py); the reach
    only `with_reach` (one more pass over the lookback's events)."""
    _, monday0, last_week, files = _lookback(settings, manifest, window)
    counts = ambassadors.site_ambassadors(con)
    reach = ambassadors.create_reach(con, files, window, monday0) if with_reach else {}
    # the effect: weekly contributor share, week by week, from the first week with data
    shown = [g for g in groups if not g.suppressed and g.headcount]
    first = max(0, ((first_day or window.as_of) - monday0).days // 7)
    weeks = list(range(first, last_week + 1))
    weekly = forecast.weekly_contributors(con, 1, last_week)
    shares = {
        g.site or "": [weekly.get(g.site or "", {}).get(w, 0) / (g.headcount or 1) for w in weeks]
        for g in shown
    }
    starts = {
        site: (day - monday0).days // 7
        for site, day in ambassadors.first_ambassador_start(con).items()
        if site in shares
    }
    controls = [g.site or "" for g in shown if counts.get(g.site or "", (0, 0))[0] == 0]
    pooled, per_site = ambassadors.difference_in_differences(shares, weeks, starts, controls)
    return Ambassadors(
        per_employees=settings.ambassador_per_employees,
        sites=tuple(
            ambassadors.site_figures(
                g,
                counts.get(g.site or "", (0, 0)),
                settings.ambassador_per_employees,
                settings.min_group_size,
                reach.get(g.site or "", (0, 0, 0)) if with_reach else None,
                per_site.get(g.site or ""),
            )
            for g in groups
        ),
        effect=pooled,
        reach_computed=with_reach,
    )


def _with_forecasts(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    first_day: date | None,
    groups: list[GroupFigures],
    totals: GroupFigures,
) -> tuple[list[GroupFigures], GroupFigures]:
    """Each shown site, and the totals, with its tipping forecast (metrics/forecast.py).

    The weekly series: for each ISO week of the lookback whose trailing window lies
    within the data, the people of the site's headcount who contributed in the
    `ceil(window_days / 7)` weeks ending with it, over the headcount."""
    window_weeks, monday0, last_week, files = _lookback(settings, manifest, window)
    forecast.create_contribution_weeks(con, files, monday0, window.as_of, monday0)
    by_site = forecast.weekly_contributors(con, window_weeks, last_week)
    # a point needs its whole trailing window inside the data; before a known launch
    # there was nothing to miss, so the data is complete from the launch on
    data_start = first_day or window.as_of
    warm_up = window_weeks - 1
    if settings.launch_date and date.fromisoformat(settings.launch_date) <= data_start:
        data_start, warm_up = date.fromisoformat(settings.launch_date), 0
    first_week = max(
        window_weeks - 1,
        (data_start - timedelta(days=data_start.weekday()) - monday0).days // 7 + warm_up,
    )
    point_weeks = list(range(first_week, last_week + 1))
    launch = (
        (date.fromisoformat(settings.launch_date) - monday0).days / 7
        if settings.launch_date
        else None
    )
    marks = (settings.tipping_low, settings.tipping_high)

    def predict(g: GroupFigures, contributors: dict[int, int]) -> GroupFigures:
        if g.suppressed or not g.headcount:
            return g
        shares = [contributors.get(w, 0) / g.headcount for w in point_weeks]
        return replace(
            g,
            forecast=forecast.forecast_site(
                point_weeks,
                shares,
                monday0,
                last_week,
                marks,
                g.contributor_share or 0.0,
                launch=launch,
            ),
        )

    total = _sum_shown(by_site, groups)
    return [predict(g, by_site.get(g.site or "", {})) for g in groups], predict(
        totals, {w: total.get(w, 0) for w in point_weeks}
    )


def _with_habits(
    con: Connection,
    settings: Settings,
    manifest: store.Manifest,
    window: Window,
    groups: list[GroupFigures],
    totals: GroupFigures,
) -> tuple[list[GroupFigures], GroupFigures]:
    """Each shown site, and the totals, with its habitual and occasional contributors
    (metrics/habit.py), from the `contribution_weeks` the forecast built."""
    _, _, last_week, _ = _lookback(settings, manifest, window)
    habitual = habit.site_habitual_contributors(con, last_week)

    def settled(g: GroupFigures, count: int) -> GroupFigures:
        if g.suppressed or g.segments is None:
            return g
        return replace(
            g,
            habitual_contributors=count,
            occasional_contributors=g.segments.contributor - count,
        )

    groups = [settled(g, habitual.get(g.site or "", 0)) for g in groups]
    return groups, settled(
        totals, sum(habitual.get(g.site or "", 0) for g in groups if not g.suppressed)
    )


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
    `--window 30 --as-of 2026-10-31 (viva_engage, teams); ...`."""
    windows: dict[tuple[str, int], set[str]] = {}
    for f in manifest.activity_files:
        windows.setdefault((f["refresh_date"], int(f["period_days"])), set()).add(
            f["source_format"]
        )
    ordered = sorted(windows.items(), key=lambda item: (item[0][0], -item[0][1]), reverse=True)
    text = "; ".join(
        f"--window {days} --as-of {end} ({', '.join(sorted(formats))})"
        for (end, days), formats in ordered[:limit]
    )
    if len(ordered) > limit:
        text += f"; and {len(ordered) - limit} more"
    return text


__all__ = ["build_report", "resolve_sites", "supported_windows", "GroupFigures"]
