"""Does the forecast hold up against what happened next? The store's history is cut at
past weeks; at each cut every site is forecast (metrics/forecast.py) from the weekly
series up to that week only, and each tipping mark it had not reached is checked against
the later weeks: was the crossing inside the stated range, how many days off was the
expected date, was a mark called unreachable reached after all (docs/metrics.md,
"Backtest").

The weekly series is the forecast's own: the people of each site's headcount on the
store's last day who contributed in the trailing `ceil(window_days / 7)` weeks, over that
headcount, for whole weeks only (a week ends on its Sunday). Using one headcount for the
whole history keeps one pass over the events; headcount drift between a cut and the last
day is small next to the errors measured.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .. import store
from ..config import Settings
from ..errors import DataError
from ..model import (
    BacktestCase,
    BacktestSummary,
    Forecast,
    ForecastBacktest,
    ForecastCalibration,
)
from . import engine, forecast, segments

#: A mark called unreachable is judged over this many weeks after its cut.
FOLLOW_WEEKS = 26

#: The report's self-check (docs/metrics.md, "Self-calibration"): the report's series cut
#: every SELF_EVERY_WEEKS weeks, the last SELF_CUTS cuts at most; the ranges are adjusted
#: once MIN_CHECKS marks can be judged, each side so that it would have missed at most
#: SIDE_MISS of them (split conformal), its width scaled within FACTOR_BOUNDS.
SELF_EVERY_WEEKS = 4
SELF_CUTS = 8
MIN_CHECKS = 10
SIDE_MISS = 0.1
FACTOR_BOUNDS = (0.5, 5.0)
#: The cache of self-checks, in the store's folder: one entry per series, settings and
#: model, the last CACHE_ENTRIES kept.
CACHE_FILE = "forecast-calibration.json"
CACHE_ENTRIES = 8


def forecast_backtest(
    settings: Settings, *, site_names: Sequence[str] = (), every_weeks: int = 4
) -> ForecastBacktest:
    """Cut the store's history every `every_weeks` weeks (backwards from its last whole
    week), forecast each shown site at each cut, and judge the forecasts. Raises
    DataError for a store without events or with too short a history, or an unknown site."""
    series = load_series(settings, site_names)
    return judge(settings, series, every_weeks)


def load_series(settings: Settings, site_names: Sequence[str] = ()) -> Series:
    """The weekly series of each shown site over the store's whole history (one pass over
    the events). Raises DataError for a store without events or an unknown site."""
    from . import resolve_sites

    with store.reading(settings.data_dir) as manifest:
        con = engine.connect(settings.engine, settings.spark_master)
        try:
            first_day, last_day = segments.data_period(con, settings.data_dir, manifest)
            if first_day is None or last_day is None:
                raise DataError(
                    f"the store {settings.data_dir} holds no events: nothing to backtest"
                )
            headcounts = _people(con, settings, manifest, last_day)
            known = sorted(s for s, n in headcounts.items() if n >= settings.min_group_size)
            wanted = resolve_sites(site_names, list(headcounts)) if site_names else known
            wanted = [s for s in wanted if s in known]
            return _series(con, settings, manifest, first_day, last_day, headcounts, wanted)
        finally:
            con.close()


def _people(
    con: engine.Connection, settings: Settings, manifest: store.Manifest, as_of: date
) -> dict[str, int]:
    """Create `people` and `key_map` as a report of `as_of` does; site -> headcount."""
    data_dir = settings.data_dir
    if manifest.directory:
        segments.create_people_from_directory(con, data_dir / manifest.directory["path"], as_of)
    else:
        segments.create_people_from_activity(
            con,
            segments.event_files(data_dir, manifest),
            as_of,
            [data_dir / f["path"] for f in manifest.activity_files],
            [data_dir / f["path"] for f in manifest.member_files],
        )
    segments.apply_site_aliases(con, settings.site_aliases)
    rows = con.execute("SELECT site, count(*) FROM people GROUP BY site").fetchall()
    return {site: int(n) for site, n in rows if site is not None}


@dataclass(frozen=True)
class Series:
    """Each site's weekly contributor shares at weeks `weeks` (counted from `monday0`),
    the data's first and last days and the launch (a week from `monday0`, when known)."""

    monday0: date
    weeks: list[int]
    shares: dict[str, np.ndarray]
    launch: float | None
    first_day: date
    last_day: date


def _series(
    con: engine.Connection,
    settings: Settings,
    manifest: store.Manifest,
    first_day: date,
    last_day: date,
    headcounts: dict[str, int],
    sites: list[str],
) -> Series:
    window_weeks = math.ceil(settings.window_days / 7)
    launch_day = date.fromisoformat(settings.launch_date) if settings.launch_date else None
    # a point needs its whole trailing window inside the data, or after a known launch
    if launch_day is not None and launch_day <= first_day:
        start, warm_up = launch_day, 0
    else:
        start, warm_up = first_day, window_weeks - 1
    monday0 = start - timedelta(days=start.weekday()) - timedelta(weeks=window_weeks - 1)
    first_week = window_weeks - 1 + warm_up
    last_week = ((last_day - monday0).days + 1) // 7 - 1  # the last whole week
    files = store.path_list(segments.event_files(settings.data_dir, manifest))
    segments.create_contribution_weeks(con, files, monday0, last_day, monday0)
    counts = forecast.weekly_contributors(con, window_weeks, last_week)
    weeks = list(range(first_week, last_week + 1))
    shares = {
        site: np.array([counts.get(site, {}).get(w, 0) / headcounts[site] for w in weeks])
        for site in sites
    }
    launch = (launch_day - monday0).days / 7 if launch_day is not None else None
    return Series(monday0, weeks, shares, launch, first_day, last_day)


def judge(settings: Settings, series: Series, every_weeks: int) -> ForecastBacktest:
    """Cut `series` every `every_weeks` weeks backwards from its week before last, forecast
    each site at each cut and judge the forecasts against the later weeks."""
    weeks, first_day, last_day = series.weeks, series.first_day, series.last_day
    marks = (settings.tipping_low, settings.tipping_high)
    first_cut = forecast.MIN_POINTS - 1
    positions = list(range(len(weeks) - 2, first_cut - 1, -every_weeks))[::-1]
    if not positions:
        raise DataError(
            f"the store's history holds {len(weeks)} whole weeks of the forecast's series; "
            f"a backtest needs at least {forecast.MIN_POINTS + 1} (one cut and a week after)"
        )
    cases = judge_cases(series, marks, positions, settings.forecast_lookback_weeks)
    cuts = tuple(_monday(series, weeks[i]) + timedelta(days=6) for i in positions)
    return ForecastBacktest(
        data_first_day=first_day,
        data_last_day=last_day,
        window_days=settings.window_days,
        launch_date=date.fromisoformat(settings.launch_date) if settings.launch_date else None,
        every_weeks=every_weeks,
        follow_weeks=FOLLOW_WEEKS,
        marks=marks,
        cuts=cuts,
        sites=tuple(series.shares),
        cases=tuple(cases),
        summary=summarise(cases),
        by_site={site: summarise([c for c in cases if c.site == site]) for site in series.shares},
    )


def judge_cases(
    series: Series, marks: tuple[float, float], positions: list[int], lookback: int
) -> list[BacktestCase]:
    """Each site of `series` forecast at each cut (a position in series.weeks) from the
    last `lookback` weeks up to it, and its marks judged against the later weeks."""
    weeks = series.weeks
    by_site: dict[str, list[BacktestCase]] = {site: [] for site in series.shares}
    # cut by cut: the sites of a cut share its weeks, so the fit's grid of curves is
    # computed once per cut (forecast._coarse_grid), not once per site and cut
    for i in positions:
        lo = max(0, i + 1 - lookback)
        for site, shares in series.shares.items():
            result = forecast.forecast_site(
                weeks[lo : i + 1],
                shares[lo : i + 1].tolist(),
                series.monday0,
                weeks[i],
                marks,
                float(shares[i]),
                launch=series.launch,
            )
            by_site[site].extend(_cases(site, result, series, i))
    return [case for cases in by_site.values() for case in cases]


def _monday(series: Series, week: int) -> date:
    return series.monday0 + timedelta(weeks=week)


def _cases(site: str, result: Forecast, series: Series, i: int) -> list[BacktestCase]:
    """The marks not reached at cut `i` (a position in series.weeks), judged."""
    shares = series.shares[site]
    last_monday = _monday(series, series.weeks[-1])
    out = []
    for mark in result.marks:
        if shares[i] >= mark.share:
            continue
        later = np.flatnonzero(shares[i + 1 :] >= mark.share)
        crossed = _monday(series, series.weeks[i + 1 + int(later[0])]) if later.size else None
        covered: bool | None = None
        error: int | None = None
        if mark.status == "expected" and mark.expected and mark.earliest:
            if crossed is not None:
                covered = mark.earliest <= crossed + timedelta(days=6) and (
                    mark.latest is None or crossed <= mark.latest
                )
                error = (mark.expected - crossed).days
            elif mark.latest is not None and mark.latest < last_monday:
                covered = False  # the whole range passed without a crossing
        out.append(
            BacktestCase(
                site=site,
                cut=_monday(series, series.weeks[i]) + timedelta(days=6),
                share=mark.share,
                share_at_cut=round(float(shares[i]), 4),
                status=mark.status,
                expected=mark.expected,
                earliest=mark.earliest,
                latest=mark.latest,
                crossed=crossed,
                covered=covered,
                error_days=error,
                followed_weeks=len(series.weeks) - 1 - i,
            )
        )
    return out


def summarise(cases: Sequence[BacktestCase], follow_weeks: int = FOLLOW_WEEKS) -> BacktestSummary:
    """The figures of BacktestSummary over `cases`."""
    dated = [c for c in cases if c.status == "expected"]
    decided = [c for c in dated if c.covered is not None]
    covered = sum(1 for c in decided if c.covered)
    crossed = [c for c in cases if c.crossed is not None and c.status != "unknown"]
    horizon = timedelta(weeks=follow_weeks)
    calls = [c for c in cases if c.status == "not_at_current_pace"]

    def in_time(c: BacktestCase) -> bool:
        return c.crossed is not None and c.crossed - c.cut <= horizon

    reached = [c for c in calls if in_time(c)]
    # a call is judged once reached within the horizon, or once the whole horizon has
    # followed its cut: a shorter follow-up cannot count it as unreached
    unreachable = [
        c
        for c in calls
        if in_time(c) or c.followed_weeks is None or c.followed_weeks >= follow_weeks
    ]
    errors = [c.error_days for c in dated if c.error_days is not None]
    early = [
        c
        for c in decided
        if not c.covered and c.crossed is not None and c.earliest is not None
        and c.crossed + timedelta(days=6) < c.earliest
    ]  # fmt: skip
    return BacktestSummary(
        cases=len(cases),
        dated=len(dated),
        decided=len(decided),
        covered=covered,
        coverage=round(covered / len(decided), 3) if decided else None,
        open_ended=sum(1 for c in dated if c.latest is None),
        crossed=len(crossed),
        crossed_called_unreachable=sum(1 for c in crossed if c.status == "not_at_current_pace"),
        unreachable_calls=len(unreachable),
        unreachable_reached=len(reached),
        inverted=sum(1 for c in dated if c.earliest and c.latest and c.earliest > c.latest),
        median_abs_error_days=float(np.median(np.abs(errors))) if errors else None,
        mean_error_days=round(float(np.mean(errors)), 1) if errors else None,
        max_late_days=max(errors) if errors else None,
        max_early_days=-min(errors) if errors else None,
        median_error_days=float(np.median(errors)) if errors else None,
        missed_early=len(early),
        missed_late=len(decided) - covered - len(early),
        unreachable_pending=len(calls) - len(unreachable),
    )


# --- the report's self-calibration -----------------------------------------------------


def self_calibration(
    series: Series, marks: tuple[float, float], lookback: int, cache_dir: Path | None
) -> ForecastCalibration:
    """How the forecast's ranges did on `series` (the weekly series of every site the
    report computes — the organisation's, whatever `--site` shows): cut every
    SELF_EVERY_WEEKS weeks (the last SELF_CUTS cuts), each site forecast as a report of
    that day would, judged against the later weeks, and the
    conformal factors of each side of the range from the errors. The result is cached in
    `cache_dir` (the store's folder) under a key of everything it depends on — the series
    themselves, the marks, the lookback and the model's constants — so a second report of
    the same store state costs a hash."""
    key = _cache_key(series, marks, lookback)
    cached = _read_cache(cache_dir, key)
    if cached is not None:
        return cached
    n = len(series.weeks)
    positions = list(range(n - 2, forecast.MIN_POINTS - 2, -SELF_EVERY_WEEKS))[:SELF_CUTS]
    cases = judge_cases(series, marks, positions[::-1], lookback) if series.shares else []
    last_monday = _monday(series, series.weeks[-1]) if series.weeks else None
    result = calibrate(cases, last_monday, len(positions))
    _write_cache(cache_dir, key, result)
    return result


def calibrate(
    cases: Sequence[BacktestCase], last_monday: date | None, cuts: int
) -> ForecastCalibration:
    """The calibration from judged `cases`: how many the data can judge, how many the
    range held, and with at least MIN_CHECKS of them, each side's factor — the
    ⌈(n + 1)(1 − SIDE_MISS)⌉-th smallest of that side's scores, where a score is how far
    the crossing fell from the expected date in units of that side's width (at least a
    week): above 1 the range missed on that side. A factor above 1 widens that side, below
    1 narrows it (within FACTOR_BOUNDS)."""
    decided = [c for c in cases if c.status == "expected" and c.covered is not None]
    held = sum(1 for c in decided if c.covered)
    if len(decided) < MIN_CHECKS:
        return ForecastCalibration("generic", len(decided), held, MIN_CHECKS, cuts=cuts)
    lower, upper = [], []
    for c in decided:
        assert c.expected is not None and c.earliest is not None
        width = max((c.expected - c.earliest).days, 7)
        end = c.crossed + timedelta(days=6) if c.crossed is not None else None
        lower.append((c.expected - end).days / width if end is not None else -math.inf)
        if c.latest is not None:  # an open-ended side cannot miss: it says nothing of width
            width = max((c.latest - c.expected).days, 7)
            reached = c.crossed if c.crossed is not None else last_monday
            if reached is not None:  # never crossed: at least the data's last week
                upper.append((reached - c.expected).days / width)
    return ForecastCalibration(
        "organisation",
        len(decided),
        held,
        MIN_CHECKS,
        earlier=_factor(lower),
        later=_factor(upper),
        cuts=cuts,
    )


def _factor(scores: list[float]) -> float:
    """The split-conformal quantile of `scores`, kept within FACTOR_BOUNDS; 1 (unchanged)
    with fewer than MIN_CHECKS scores."""
    if len(scores) < MIN_CHECKS:
        return 1.0
    k = math.ceil((len(scores) + 1) * (1 - SIDE_MISS))
    value = sorted(scores)[min(k, len(scores)) - 1]
    return round(min(max(value, FACTOR_BOUNDS[0]), FACTOR_BOUNDS[1]), 3)


def _cache_key(series: Series, marks: tuple[float, float], lookback: int) -> str:
    digest = hashlib.sha256()
    model = (
        forecast.PLATEAU_MEDIAN,
        forecast.PLATEAU_LOG_SD,
        forecast.INFLATION,
        forecast.INFLATION_NO_LAUNCH,
        forecast.MIN_POINTS,
        forecast.HORIZON_WEEKS,
        SELF_EVERY_WEEKS,
        SELF_CUTS,
        MIN_CHECKS,
        SIDE_MISS,
        FACTOR_BOUNDS,
    )
    head = (series.monday0.isoformat(), series.weeks, series.launch, marks, lookback, model)
    digest.update(json.dumps(head, default=str).encode())
    for site in sorted(series.shares):
        digest.update(site.encode())
        digest.update(np.round(series.shares[site], 9).tobytes())
    return digest.hexdigest()


def _read_cache(cache_dir: Path | None, key: str) -> ForecastCalibration | None:
    if cache_dir is None:
        return None
    try:
        entries = json.loads((cache_dir / CACHE_FILE).read_text(encoding="utf-8"))
        found = next(e["calibration"] for e in entries if e.get("key") == key)
        return ForecastCalibration(**found)
    except (OSError, ValueError, TypeError, KeyError, StopIteration):
        return None  # no cache, another format, or not this state: computed again


def _write_cache(cache_dir: Path | None, key: str, result: ForecastCalibration) -> None:
    """Add `result` to the cache file (written whole to a temporary file, then renamed);
    a store the report cannot write to just goes without a cache."""
    if cache_dir is None or not cache_dir.is_dir():
        return
    path = cache_dir / CACHE_FILE
    try:
        entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        if not isinstance(entries, list):
            entries = []
    except (OSError, ValueError):
        entries = []
    entries = [e for e in entries if isinstance(e, dict) and e.get("key") != key]
    entries = [*entries, {"key": key, "calibration": asdict(result)}][-CACHE_ENTRIES:]
    temporary = cache_dir / f".{CACHE_FILE}.{os.getpid()}.tmp"
    try:
        temporary.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
