"""When will each site tip? A Bass diffusion fit of its weekly contributor share.

The series (docs/metrics.md, "Forecast"): for each ISO week of the lookback (up to
`lookback_weeks` weeks ending with as_of's week), the share of the site's current headcount
who contributed (post or comment) in the `ceil(window_days / 7)` weeks ending with that
week — the window's contributor share, week by week, in whole weeks.

The model: share(t) = m · F(t − t0), with the Bass cumulative adoption curve
F(u) = (1 − e^{−(p+q)u}) / (1 + (q/p)·e^{−(p+q)u}) for u ≥ 0 (0 before), t in weeks:
p is innovation (adoption on one's own), q imitation (adoption because others did), m the
share the site tends to, t0 when diffusion started. It is fitted by least squares over a
grid of (p, q, t0) — m, given those, is a linear least-squares solution — refined by a
finer grid around the best point: a few milliseconds per site with numpy, where importing
scipy's optimiser alone would cost half a second on every report. The range is the
spread of the crossing dates over every grid point whose error is within an approximate
80 % confidence region (sum of squares ≤ best × (1 + k/(n − k) · 1.6), k = 4 parameters).
When the fit is poor (R² < 0.6), or no better than a straight line by Akaike's criterion
(a steady climb shows no sign yet of its plateau), a linear trend over the last 12 points
stands in; a flat or falling trend, or a plateau m below a mark, is "not at the current
pace".
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ..model import Forecast, ForecastMark, GroupFigures
from .context import Context, sum_shown
from .engine import Connection

#: Fewest weekly points a forecast needs.
MIN_POINTS = 8
#: Below this R², the Bass fit is not trusted and a linear trend is used.
MIN_R_SQUARED = 0.6
#: Approximate F quantile for the 80 % confidence region of the grid fit.
F_QUANTILE = 1.6
#: Forecasts further out than this are "not at the current pace".
HORIZON_WEEKS = 5 * 52
P_GRID = np.geomspace(2e-4, 0.25, 20)
Q_GRID = np.linspace(0.0, 1.2, 25)
LINEAR_POINTS = 12


def weekly_contributors(
    con: Connection, window_weeks: int, last_week: int
) -> dict[str, dict[int, int]]:
    """site -> {week: people of the site who contributed in the `window_weeks` weeks
    ending with that week}, for weeks ≥ window_weeks − 1 (a full trailing window).

    Each person's contribution weeks become disjoint spans of weeks they count in (from a
    contribution to `window_weeks − 1` weeks later, cut at their next contribution), so
    a running sum of span starts and ends counts distinct people without expanding
    every contribution into `window_weeks` rows."""
    if window_weeks == 1:  # one week: a plain count of each week's contributors
        rows = con.execute(
            "SELECT p.site, c.week, count(*) FROM contribution_weeks c "
            "JOIN people p USING (person) WHERE c.week <= $last_week GROUP BY ALL",
            {"last_week": last_week},
        ).fetchall()
        out1: dict[str, dict[int, int]] = {}
        for site, week, contributors in rows:
            out1.setdefault(site, {})[int(week)] = int(contributors)
        return out1
    rows = con.execute(
        """
        WITH spans AS (
            SELECT p.site, c.week AS first,
                   least(c.week + $window_weeks - 1,
                         coalesce(lead(c.week) OVER (PARTITION BY c.person ORDER BY c.week) - 1,
                                  c.week + $window_weeks - 1)) AS last
            FROM contribution_weeks c JOIN people p USING (person)
        ),
        steps AS (
            SELECT site, first AS week, count(*) AS step FROM spans GROUP BY ALL
            UNION ALL
            SELECT site, last + 1 AS week, -count(*) AS step FROM spans GROUP BY ALL
        ),
        counts AS (
            SELECT site, week,
                   sum(sum(step)) OVER (PARTITION BY site ORDER BY week) AS contributors
            FROM steps GROUP BY site, week
        )
        SELECT site, week, contributors FROM counts WHERE week <= $last_week
        """,
        {"window_weeks": window_weeks, "last_week": last_week},
    ).fetchall()
    out: dict[str, dict[int, int]] = {}
    for site, week, contributors in rows:
        out.setdefault(site, {})[int(week)] = int(contributors)
    return _fill(out, window_weeks, last_week)


def _fill(
    counts: dict[str, dict[int, int]], window_weeks: int, last_week: int
) -> dict[str, dict[int, int]]:
    """Carry each running count over the weeks in which it did not change (the running sum
    only has rows at span boundaries)."""
    filled: dict[str, dict[int, int]] = {}
    for site, by_week in counts.items():
        weeks = sorted(by_week)
        out: dict[int, int] = {}
        for i, week in enumerate(weeks):
            end = weeks[i + 1] if i + 1 < len(weeks) else last_week + 1
            if by_week[week] == 0:
                continue
            for w in range(max(week, window_weeks - 1), min(end, last_week + 1)):
                out[w] = by_week[week]
        filled[site] = out
    return filled


# --- fitting --------------------------------------------------------------------------


def bass_curve(t: np.ndarray, p: float, q: float, t0: float) -> np.ndarray:
    """F(t − t0), the Bass cumulative adoption share at weeks `t` (0 before t0)."""
    u = np.maximum(np.asarray(t, dtype=float) - t0, 0.0)
    decay = np.exp(-(p + q) * u)
    return (1 - decay) / (1 + (q / p) * decay)


@dataclass(frozen=True)
class BassFit:
    p: float
    q: float
    t0: float
    m: float
    r_squared: float
    #: (p, q, t0, m) of every grid point in the approximate 80 % confidence region.
    region: np.ndarray


def _grid_curves(
    t: np.ndarray, p_grid: np.ndarray, q_grid: np.ndarray, t0_grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parameters [G, 3] = p, q, t0; curves [G, T] = F(t − t0); their squared norms)."""
    p, q, t0 = (a.ravel() for a in np.meshgrid(p_grid, q_grid, t0_grid, indexing="ij"))
    u = np.maximum(t[None, :] - t0[:, None], 0.0)
    decay = np.exp(-(p + q)[:, None] * u)
    curve = (1 - decay) / (1 + (q / p)[:, None] * decay)
    return np.column_stack([p, q, t0]), curve, np.einsum("gt,gt->g", curve, curve)


@functools.lru_cache(maxsize=4)
def _coarse_grid(
    weeks: tuple[float, ...], launch: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coarse grid's curves at `weeks`: the same for every site of a report (they
    share the weeks), so computed once."""
    t = np.asarray(weeks)
    span = t.max() - t.min()
    t0_grid = (
        np.array([float(launch)])
        if launch is not None
        else np.arange(t.min() - span - 26, t.max(), 3.0)
    )
    return _grid_curves(t, P_GRID, Q_GRID, t0_grid)


def _solve(
    grid: tuple[np.ndarray, np.ndarray, np.ndarray], y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(parameters [G, 4] = p, q, t0, m; sums of squares [G]), m solved by least squares
    for each grid point and kept in [0, 1]."""
    params, curve, norm = grid
    cy = curve @ y
    m = np.clip(np.divide(cy, norm, out=np.zeros_like(norm), where=norm > 0), 0, 1)
    sse = float(y @ y) - 2 * m * cy + m * m * norm  # Σ(y − m·F)², without a residual array
    return np.column_stack([params, m]), np.maximum(sse, 0.0)


def fit_bass(t: np.ndarray, y: np.ndarray, launch: float | None = None) -> BassFit | None:
    """Least-squares Bass fit of shares `y` at weeks `t` (see the module docstring);
    None with fewer than MIN_POINTS points or a flat series. `launch` (a week) fixes t0,
    the start of diffusion, when the network's launch date is known: p and t0 trade off
    against each other, so a known start makes p much better determined."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.size < MIN_POINTS or np.ptp(y) == 0:
        return None
    params, sse = _solve(_coarse_grid(tuple(t.tolist()), launch), y)
    best = params[np.argmin(sse)]
    # refine: a finer grid around the best point
    fine_p = np.geomspace(max(best[0] / 1.6, 1e-5), best[0] * 1.6, 15)
    fine_q = np.linspace(max(best[1] - 0.06, 0.0), best[1] + 0.06, 15)
    fine_t0 = (
        np.array([best[2]]) if launch is not None else np.linspace(best[2] - 3, best[2] + 3, 13)
    )
    fine_params, fine_sse = _solve(_grid_curves(t, fine_p, fine_q, fine_t0), y)
    params, sse = np.vstack([params, fine_params]), np.concatenate([sse, fine_sse])
    index = int(np.argmin(sse))
    best_sse = float(sse[index])
    total = float(np.sum((y - y.mean()) ** 2))
    r_squared = 1 - best_sse / total if total > 0 else 0.0
    k = 4
    limit = best_sse * (1 + k / max(t.size - k, 1) * F_QUANTILE) + 1e-12
    p, q, t0, m = params[index]
    return BassFit(float(p), float(q), float(t0), float(m), r_squared, params[sse <= limit])


def _crossing_week(*params: float, target: float) -> float | None:
    """The week at which m·F(t − t0) reaches `target` (None if it never does); `params`
    are p, q, t0, m."""
    p, q, t0, m = params
    if m <= target or target <= 0:
        return None
    x = target / m  # solve F(u) = x: e^{-(p+q)u} = (1 - x) / (1 + (q/p) x)
    decay = (1 - x) / (1 + (q / p) * x)
    return t0 - math.log(decay) / (p + q)


def _date(monday: date, week: float) -> date:
    return monday + timedelta(days=round(week * 7))


def forecast_site(
    weeks: list[int],
    shares: list[float],
    monday: date,
    current_week: int,
    marks: tuple[float, float],
    current_share: float,
    *,
    launch: float | None = None,
) -> Forecast:
    """The forecast of one site from its weekly series (`weeks` count from `monday`);
    `current_share` is the report's own contributor share (a mark it already reaches is
    "reached"); `launch`, the week the network was launched, when known."""
    t, y = np.asarray(weeks, dtype=float), np.asarray(shares, dtype=float)
    if t.size < MIN_POINTS:
        return Forecast(
            method=None,
            marks=tuple(
                ForecastMark(
                    mark, "reached" if current_share >= mark else "unknown", None, None, None
                )
                for mark in marks
            ),
            parameters={},
            weeks_used=int(t.size),
            reason=f"{t.size} weekly points; a forecast needs at least {MIN_POINTS} (more history)",
        )
    fit = fit_bass(t, y, launch)
    if fit is not None and fit.r_squared >= MIN_R_SQUARED and _bass_beats_a_line(t, y, fit):
        return _bass_forecast(fit, t, monday, current_week, marks, current_share)
    return _linear_forecast(t, y, monday, current_week, marks, current_share, fit)


def _aic(sse: float, n: int, k: int) -> float:
    return n * math.log(max(sse, 1e-12) / n) + 2 * k


def _bass_beats_a_line(t: np.ndarray, y: np.ndarray, fit: BassFit) -> bool:
    """Whether the S-curve explains the series clearly better than a straight line
    (Akaike's criterion, lower by more than 2): a site climbing steadily shows no sign
    yet of where it will level off, and a Bass plateau guessed from it would be noise."""
    bass_sse = float(np.sum((y - fit.m * bass_curve(t, fit.p, fit.q, fit.t0)) ** 2))
    slope, intercept = np.polyfit(t, y, 1)
    line_sse = float(np.sum((y - (slope * t + intercept)) ** 2))
    return _aic(bass_sse, t.size, 4) + 2 < _aic(line_sse, t.size, 2)


def _bass_forecast(
    fit: BassFit,
    t: np.ndarray,
    monday: date,
    current_week: int,
    marks: tuple[float, float],
    current_share: float,
) -> Forecast:
    out = []
    for mark in marks:
        if current_share >= mark:
            out.append(ForecastMark(mark, "reached", None, None, None))
            continue
        week = _crossing_week(fit.p, fit.q, fit.t0, fit.m, target=mark)
        crossings = [
            w
            for w in (_crossing_week(*map(float, row), target=mark) for row in fit.region)
            if w is not None
        ]
        if week is None or week - current_week > HORIZON_WEEKS:
            out.append(ForecastMark(mark, "not_at_current_pace", None, None, None))
            continue
        week = max(week, current_week + 1)
        earliest = max(min(crossings, default=week), current_week + 1)
        # part of the confidence region never reaches the mark: the range is open-ended
        latest = (
            None
            if len(crossings) < len(fit.region) or max(crossings) - current_week > HORIZON_WEEKS
            else max(crossings)
        )
        out.append(
            ForecastMark(
                mark,
                "expected",
                _date(monday, week),
                _date(monday, earliest),
                _date(monday, latest) if latest is not None else None,
            )
        )
    return Forecast(
        method="bass",
        marks=tuple(out),
        parameters={
            "p": round(fit.p, 5),
            "q": round(fit.q, 4),
            "m": round(fit.m, 4),
            "start": _date(monday, fit.t0).isoformat(),
            "r_squared": round(fit.r_squared, 3),
        },
        weeks_used=int(t.size),
        reason=None,
    )


def _linear_forecast(
    t: np.ndarray,
    y: np.ndarray,
    monday: date,
    current_week: int,
    marks: tuple[float, float],
    current_share: float,
    fit: BassFit | None,
) -> Forecast:
    tail_t, tail_y = t[-LINEAR_POINTS:], y[-LINEAR_POINTS:]
    slope, intercept = np.polyfit(tail_t, tail_y, 1)
    residual = tail_y - (slope * tail_t + intercept)
    spread = float(np.sqrt(np.sum(residual**2) / max(tail_t.size - 2, 1)))
    slope_error = spread / math.sqrt(float(np.sum((tail_t - tail_t.mean()) ** 2)) or 1.0)
    out = []
    for mark in marks:
        if current_share >= mark:
            out.append(ForecastMark(mark, "reached", None, None, None))
            continue
        if slope <= 0:
            out.append(ForecastMark(mark, "not_at_current_pace", None, None, None))
            continue
        week = (mark - intercept) / slope
        if week - current_week > HORIZON_WEEKS:
            out.append(ForecastMark(mark, "not_at_current_pace", None, None, None))
            continue
        fast, slow = slope + 1.28 * slope_error, slope - 1.28 * slope_error  # ~80 %
        earliest = (mark - intercept) / fast
        latest = (mark - intercept) / slow if slow > 0 else None
        out.append(
            ForecastMark(
                mark,
                "expected",
                _date(monday, max(week, current_week + 1)),
                _date(monday, max(earliest, current_week + 1)),
                _date(monday, latest)
                if latest is not None and latest - current_week <= HORIZON_WEEKS
                else None,
            )
        )
    if fit is None:
        why = "Bass fit not possible (flat series)"
    elif fit.r_squared < MIN_R_SQUARED:
        why = f"Bass fit poor (R² {fit.r_squared:.2f} < {MIN_R_SQUARED})"
    else:
        why = "a straight line fits as well as the Bass curve (no sign yet of a plateau)"
    return Forecast(
        method="linear",
        marks=tuple(out),
        parameters={
            "slope_per_week": round(float(slope), 6),
            "intercept": round(float(intercept), 5),
            "weeks": int(tail_t.size),
        },
        weeks_used=int(t.size),
        reason=f"{why}: linear trend of the last {tail_t.size} weeks",
    )


def site_forecasts(ctx: Context) -> dict[str | None, Forecast | None]:
    """The tipping forecast of each shown site and of the totals (key None); None for a
    site whose figures are hidden or that has no headcount.

    The weekly series: for each ISO week of the lookback whose trailing window lies within
    the data, the people of the site's headcount who contributed in the
    `ceil(window_days / 7)` weeks ending with it, over the headcount."""
    settings, look = ctx.settings, ctx.lookback
    by_site = weekly_contributors(ctx.con, look.window_weeks, look.last_week)
    # a point needs its whole trailing window inside the data; before a known launch
    # there was nothing to miss, so the data is complete from the launch on
    data_start = ctx.weekly_start or ctx.window.as_of
    warm_up = look.window_weeks - 1
    if settings.launch_date and date.fromisoformat(settings.launch_date) <= data_start:
        data_start, warm_up = date.fromisoformat(settings.launch_date), 0
    first_week = max(
        look.window_weeks - 1,
        (data_start - timedelta(days=data_start.weekday()) - look.monday0).days // 7 + warm_up,
    )
    point_weeks = list(range(first_week, look.last_week + 1))
    launch = (
        (date.fromisoformat(settings.launch_date) - look.monday0).days / 7
        if settings.launch_date
        else None
    )
    marks = (settings.tipping_low, settings.tipping_high)

    def predict(g: GroupFigures, contributors: dict[int, int]) -> Forecast | None:
        if g.suppressed or not g.headcount:
            return None
        shares = [contributors.get(w, 0) / g.headcount for w in point_weeks]
        return forecast_site(
            point_weeks,
            shares,
            look.monday0,
            look.last_week,
            marks,
            g.contributor_share or 0.0,
            launch=launch,
        )

    total = sum_shown(by_site, ctx.groups)
    forecasts = {g.site: predict(g, by_site.get(g.site or "", {})) for g in ctx.groups}
    forecasts[None] = predict(ctx.totals, {w: total.get(w, 0) for w in point_weeks})
    return forecasts
