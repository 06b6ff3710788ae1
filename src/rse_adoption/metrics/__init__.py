"""The metrics engine: one function per question, DuckDB SQL over the Parquet store.

`build_report` answers "how close is each site to the tipping point?" and returns a
report.model.Report; renderers take it from there.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import duckdb

from .. import store
from ..config import Settings
from ..errors import DataError
from ..report.model import GroupFigures, Report
from . import segments, sites
from .segments import SEGMENTS, Window


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
) -> Report:
    """Per-site tipping-point report over the window ending `as_of` (default: the last
    day with events). Raises DataError when the store holds no events and no as_of is
    given, or for an unknown site."""
    with store.reading(settings.data_dir) as manifest:
        con = segments.connect()
        try:
            return _build(con, settings, manifest, site_names, as_of, generated_at)
        finally:
            con.close()


def _build(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    manifest: store.Manifest,
    site_names: Sequence[str],
    as_of: date | None,
    generated_at: str | None,
) -> Report:
    data_dir = settings.data_dir
    first_day, last_day = segments.data_period(con, data_dir, manifest)
    if as_of is None:
        if last_day is None:
            raise DataError(
                f"the store {data_dir} holds no events: run `rse-adoption ingest` first, "
                "or give --as-of"
            )
        as_of = last_day
    window = Window(as_of=as_of, days=settings.window_days)
    notes: list[str] = []
    if manifest.directory:
        segments.create_people_from_directory(con, data_dir / manifest.directory["path"], as_of)
        headcount_source = "directory"
    else:
        history = [
            data_dir / f["path"]
            for f in manifest.event_files
            if f["month"] <= as_of.strftime("%Y-%m")
        ]
        segments.create_people_from_activity(con, history, as_of)
        headcount_source = "activity"
        notes.append(
            "No employee directory is loaded: each site's headcount is the people seen in "
            "its events up to as_of, so people who never used the network are missing."
        )
    segments.apply_site_aliases(con, settings.site_aliases)
    segments.create_person_weeks(
        con, segments.event_files(data_dir, manifest, window.months()), window
    )
    segments.create_person_segments(con)
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
    )


__all__ = ["build_report", "resolve_sites", "GroupFigures"]
