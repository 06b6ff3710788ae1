"""When will each site tip? A Bass diffusion fit of its weekly contributor share.

The series (docs/metrics.md, "Forecast"): for each ISO week of the lookback (up to
`lookback_weeks` weeks ending with as_of's week), the share of the site's current headcount
who contributed (post or comment) in the `ceil(window_days / 7)` weeks ending with that
week — the window's contributor share, week by week, in whole weeks.

The model: share(t) = m · F(t − t0), with the Bass cumulative adoption curve
F(u) = (1 − e^{−(p+q)u}) / (1 + (q/p)·e^{−(p+q)u}) for u ≥ 0 (0 before), t in weeks:
p is innovation, q imitation, m the share the site tends to, t0 when diffusion started
(the launch, when known). Early on an S-curve the data fix the growth rate but hardly the
plateau m, and least squares alone picks a low one; so the dates come from the posterior
of the curve over a grid of (p, q, t0), with m integrated around its least-squares value
under a log-normal prior from participation benchmarks (median PLATEAU_MEDIAN) and the
residual variance widened by INFLATION (the trailing-window series' residuals are strongly
autocorrelated). The range is the crossing's 10 % and 90 % posterior quantiles (open-ended
when the 90 % one never gets there), the expected date the least-squares curve's crossing
kept inside it. A mark is "not at the current pace" only when the last RECENT_POINTS
points are flat or falling and the posterior median never reaches it. Both constants were
calibrated on backtests of generated organisations (benchmarks/forecast_calibration.py,
docs/metrics.md "Calibration"). A few milliseconds per site with numpy, where importing
scipy's optimiser alone would cost half a second on every report. With R² < 0.6 a linear
trend over the last 12 points stands in, its range widened the same way.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from ..messages import Message
from ..model import Forecast, ForecastCalibration, ForecastMark, GroupFigures
from .context import Context, sum_shown
from .weekly import weekly_contributors as weekly_contributors  # the series it fits

#: Fewest weekly points a forecast needs.
MIN_POINTS = 8
#: Below this R², the Bass fit is not trusted and a linear trend is used.
MIN_R_SQUARED = 0.6
#: Forecasts further out than this are "not at the current pace".
HORIZON_WEEKS = 5 * 52
#: The posterior's grid: p log-uniform, q uniform, t0 every T0_STEP weeks (unless known).
P_GRID = np.geomspace(2e-4, 0.25, 20)
Q_GRID = np.linspace(0.0, 1.2, 25)
T0_STEP = 3.0
LINEAR_POINTS = 12
#: Points of the recent pace (the slope that decides "not at the current pace").
RECENT_POINTS = 8
#: Residual variance multiplier of the posterior (calibrated on backtests): with the
#: launch date known, and without it (the start week is then fitted too, and the fit
#: follows the noise more closely).
INFLATION = 3.5
INFLATION_NO_LAUNCH = 8.0
#: Smallest residual variance assumed (a series fitted exactly is not known exactly).
MIN_VARIANCE = 1e-6
#: Prior of the plateau: log-normal around participation benchmarks (docs/metrics.md).
PLATEAU_MEDIAN = 0.25
PLATEAU_LOG_SD = 0.6
#: Gaussian nodes integrating the plateau m around its least-squares value.
NODES = np.linspace(-3.0, 3.0, 13)
#: Posterior weight (relative to the largest) below which a grid point is dropped.
NEGLIGIBLE = 1e-6
#: Quantiles of the crossing: the range (10 %, 90 %: about 80 %) and the expected date.
LEVELS = (0.1, 0.5, 0.9)


# --- fitting --------------------------------------------------------------------------


def bass_curve(t: np.ndarray, p: float, q: float, t0: float) -> np.ndarray:
    """F(t − t0), the Bass cumulative adoption share at weeks `t` (0 before t0)."""
    u = np.maximum(np.asarray(t, dtype=float) - t0, 0.0)
    decay = np.exp(-(p + q) * u)
    return (1 - decay) / (1 + (q / p) * decay)


@dataclass(frozen=True)
class BassFit:
    """The least-squares Bass curve: the forecast's reported parameters."""

    p: float
    q: float
    t0: float
    m: float
    r_squared: float


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
    """The grid's curves at `weeks`: the same for every site of a report (they share the
    weeks), so computed once."""
    t = np.asarray(weeks)
    span = t.max() - t.min()
    t0_grid = (
        np.array([float(launch)])
        if launch is not None
        else np.arange(t.min() - span - 26, t.max(), T0_STEP)
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
    """Least-squares Bass fit of shares `y` at weeks `t`, refined on a finer grid around
    the best point of the coarse one; None with fewer than MIN_POINTS points or a flat
    series. `launch` (a week) fixes t0, the start of diffusion, when the network's launch
    date is known: p and t0 trade off against each other, so a known start makes p much
    better determined."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.size < MIN_POINTS or np.ptp(y) == 0:
        return None
    params, sse = _solve(_coarse_grid(tuple(t.tolist()), launch), y)
    best = params[np.argmin(sse)]
    fine_p = np.geomspace(max(best[0] / 1.6, 1e-5), best[0] * 1.6, 15)
    fine_q = np.linspace(max(best[1] - 0.06, 0.0), best[1] + 0.06, 15)
    fine_t0 = (
        np.array([best[2]]) if launch is not None else np.linspace(best[2] - 3, best[2] + 3, 13)
    )
    fine_params, fine_sse = _solve(_grid_curves(t, fine_p, fine_q, fine_t0), y)
    params, sse = np.vstack([params, fine_params]), np.concatenate([sse, fine_sse])
    index = int(np.argmin(sse))
    total = float(np.sum((y - y.mean()) ** 2))
    r_squared = 1 - float(sse[index]) / total if total > 0 else 0.0
    p, q, t0, m = params[index]
    return BassFit(float(p), float(q), float(t0), float(m), r_squared)


def _log_plateau_prior(m: np.ndarray) -> np.ndarray:
    """Log-density (up to a constant) of the plateau m: log-normal around the published
    participation benchmarks (PLATEAU_MEDIAN, PLATEAU_LOG_SD), zero outside (0, 1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(m / PLATEAU_MEDIAN) / PLATEAU_LOG_SD
        out = -0.5 * z * z - np.log(m)
    return np.where((m > 0) & (m <= 1), out, -np.inf)


def posterior(
    t: np.ndarray, y: np.ndarray, launch: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid parameters [G, 3] = p, q, t0; plateaus m [G, J]; weights [G, J] summing to
    1): the Bass curves' posterior over the grid, m integrated at J Gaussian nodes around
    its least-squares value for each (p, q, t0). The residual variance is the best fit's,
    times INFLATION: the trailing-window series is smooth, so its residuals are strongly
    autocorrelated and the plain variance would claim far too much (calibrated on
    backtests, docs/metrics.md)."""
    params, curve, norm = _coarse_grid(tuple(t.tolist()), launch)
    usable = norm > 1e-9
    cy = curve @ y
    m_hat = np.divide(cy, norm, out=np.zeros_like(norm), where=usable)
    sse = float(y @ y) - cy * m_hat
    best = float(sse[usable].min())
    inflation = INFLATION if launch is not None else INFLATION_NO_LAUNCH
    variance = max(best / max(t.size - 4, 1), MIN_VARIANCE) * inflation
    # grid points whose fit alone weighs e^-30 of the best change no quantile: dropped
    # before integrating m (most of the grid when t0 is not known: a few ms per site)
    rows = usable & ((sse - best) / (2 * variance) < 30)
    params, m_hat, sse, norm = params[rows], m_hat[rows], sse[rows], norm[rows]
    spread = np.sqrt(variance / norm)
    m = m_hat[:, None] + NODES[None, :] * spread[:, None]
    log_w = (
        -(sse - best)[:, None] / (2 * variance)
        + np.log(spread)[:, None]
        - 0.5 * NODES[None, :] ** 2
        + _log_plateau_prior(m)
    )
    weights = np.exp(log_w - log_w.max())
    kept = weights.max(axis=1) > NEGLIGIBLE
    weights = weights[kept]
    return params[kept], m[kept], weights / weights.sum()


def crossing_weeks(params: np.ndarray, m: np.ndarray, target: float) -> np.ndarray:
    """[G, J] weeks at which m·F(t − t0) reaches `target` (inf where m ≤ target)."""
    p, q, t0 = (params[:, k : k + 1] for k in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = target / m
        decay = (1 - x) / (1 + (q / p) * x)
        weeks = t0 - np.log(decay) / (p + q)
    return np.where(m > target, weeks, np.inf)


def weighted_quantiles(
    values: np.ndarray, weights: np.ndarray, levels: tuple[float, ...]
) -> list[float]:
    """Quantiles of `values` (inf allowed) under `weights`."""
    order = np.argsort(values, axis=None)
    v, w = values.ravel()[order], np.cumsum(weights.ravel()[order])
    return [float(v[min(np.searchsorted(w, level * w[-1]), v.size - 1)]) for level in levels]


def _date(monday: date, week: float) -> date:
    return monday + timedelta(days=round(week * 7))


def recent_slope(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of the last RECENT_POINTS points: the current pace, per week."""
    slope, _ = np.polyfit(t[-RECENT_POINTS:], y[-RECENT_POINTS:], 1)
    return float(slope)


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
            reason=Message(
                "forecast.too_few_points",
                "%(points)s weekly points; a forecast needs at least %(minimum)s (more history)",
                points=int(t.size),
                minimum=MIN_POINTS,
            ),
        )
    fit = fit_bass(t, y, launch)
    if fit is not None and fit.r_squared >= MIN_R_SQUARED:
        return _bass_forecast(fit, t, y, monday, current_week, marks, current_share, launch)
    return _linear_forecast(t, y, monday, current_week, marks, current_share, fit)


def _mark(
    mark: float,
    current_share: float,
    pace: float,
    current_week: int,
    monday: date,
    quantiles: list[float],
) -> ForecastMark:
    """One mark from the crossing's 10 %, 50 % and 90 % quantiles (weeks, inf: never):
    "not_at_current_pace" only when the recent pace is flat or falling (or too slow to
    get there within the horizon) and the model's median never gets there either;
    otherwise a date, open-ended when the upper quantile never gets there. Where the
    model's median never gets there but the pace is rising, the date is the current
    pace's."""
    if current_share >= mark:
        return ForecastMark(mark, "reached", None, None, None)
    soonest = current_week + 1.0
    horizon = current_week + HORIZON_WEEKS
    low, middle, high = (max(q, soonest) for q in quantiles)
    stalled = pace <= 0 or (mark - current_share) / pace > HORIZON_WEEKS
    if stalled and middle > horizon:  # the pace and the curve agree: it is not getting there
        return ForecastMark(mark, "not_at_current_pace", None, None, None)
    expected = middle if middle <= horizon else current_week + (mark - current_share) / pace
    earliest = min(low, expected)
    latest = max(high, expected) if high <= horizon else None
    return ForecastMark(
        mark,
        "expected",
        _date(monday, expected),
        _date(monday, earliest),
        _date(monday, latest) if latest is not None else None,
    )


def _crossing(
    fit: BassFit, params: np.ndarray, m: np.ndarray, weights: np.ndarray, mark: float
) -> list[float]:
    """The crossing's posterior 10 % and 90 % quantiles around the expected week: the
    least-squares curve's crossing when it reaches the mark (kept inside the range), else
    the posterior median."""
    low, middle, high = weighted_quantiles(crossing_weeks(params, m, mark), weights, LEVELS)
    best = float(
        crossing_weeks(np.array([[fit.p, fit.q, fit.t0]]), np.array([[fit.m]]), mark)[0, 0]
    )
    if math.isfinite(best):
        middle = min(max(best, low), high)
    return [low, middle, high]


def _bass_forecast(
    fit: BassFit,
    t: np.ndarray,
    y: np.ndarray,
    monday: date,
    current_week: int,
    marks: tuple[float, float],
    current_share: float,
    launch: float | None,
) -> Forecast:
    params, m, weights = posterior(t, y, launch)
    pace = recent_slope(t, y)
    out = [
        _mark(
            mark,
            current_share,
            pace,
            current_week,
            monday,
            _crossing(fit, params, m, weights, mark),
        )
        for mark in marks
    ]
    return Forecast(
        method="bass",
        marks=tuple(out),
        parameters={
            "p": round(fit.p, 5),
            "q": round(fit.q, 4),
            "m": round(fit.m, 4),
            # the plateau the dates come from: the posterior's median and its ~80 % range
            # (a mark above the range is dated only by a rising recent pace)
            **dict(
                zip(
                    ("plateau_low", "plateau", "plateau_high"),
                    (round(v, 4) for v in weighted_quantiles(m, weights, LEVELS)),
                    strict=True,
                )
            ),
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
    """A straight line through the last LINEAR_POINTS points; its range from the slope's
    standard error, widened as the Bass posterior's variance is (INFLATION)."""
    tail_t, tail_y = t[-LINEAR_POINTS:], y[-LINEAR_POINTS:]
    slope, intercept = np.polyfit(tail_t, tail_y, 1)
    residual = tail_y - (slope * tail_t + intercept)
    spread = float(np.sqrt(np.sum(residual**2) / max(tail_t.size - 2, 1) * INFLATION))
    slope_error = spread / math.sqrt(float(np.sum((tail_t - tail_t.mean()) ** 2)) or 1.0)
    level = slope * current_week + intercept

    def week_at(rate: float, mark: float) -> float:
        return current_week + (mark - level) / rate if rate > 0 else math.inf

    out = [
        _mark(
            mark,
            current_share,
            float(slope),
            current_week,
            monday,
            [
                week_at(slope + 1.28 * slope_error, mark),
                week_at(slope, mark),
                week_at(slope - 1.28 * slope_error, mark),
            ],
        )  # fmt: skip
        for mark in marks
    ]
    weeks = int(tail_t.size)
    if fit is None:
        why = Message(
            "forecast.linear.flat",
            "Bass fit not possible (flat series): linear trend of the last %(weeks)s weeks",
            weeks=weeks,
        )
    else:
        why = Message(
            "forecast.linear.poor_fit",
            "Bass fit poor (R² %(r_squared)s < %(minimum)s): linear trend of the last "
            "%(weeks)s weeks",
            r_squared=Decimal(f"{fit.r_squared:.2f}"),
            minimum=Decimal(str(MIN_R_SQUARED)),
            weeks=weeks,
        )
    return Forecast(
        method="linear",
        marks=tuple(out),
        parameters={
            "slope_per_week": round(float(slope), 6),
            "intercept": round(float(intercept), 5),
            "weeks": int(tail_t.size),
        },
        weeks_used=int(t.size),
        reason=why,
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

    def series_of(g: GroupFigures, contributors: dict[int, int]) -> list[float]:
        return [contributors.get(w, 0) / (g.headcount or 1) for w in point_weeks]

    shown = [g for g in ctx.groups if not g.suppressed and g.headcount]
    calibration = _self_calibration(
        ctx,
        {g.site or "": series_of(g, by_site.get(g.site or "", {})) for g in shown},
        point_weeks,
        launch,
        data_start,
    )

    def predict(g: GroupFigures, contributors: dict[int, int]) -> Forecast | None:
        if g.suppressed or not g.headcount:
            return None
        result = forecast_site(
            point_weeks,
            series_of(g, contributors),
            look.monday0,
            look.last_week,
            marks,
            g.contributor_share or 0.0,
            launch=launch,
        )
        return calibrated(result, calibration, look.monday0, look.last_week)

    total = sum_shown(by_site, ctx.groups)
    forecasts = {g.site: predict(g, by_site.get(g.site or "", {})) for g in ctx.groups}
    forecasts[None] = predict(ctx.totals, {w: total.get(w, 0) for w in point_weeks})
    return forecasts


def _self_calibration(
    ctx: Context,
    shares: dict[str, list[float]],
    point_weeks: list[int],
    launch: float | None,
    data_start: date,
) -> ForecastCalibration | None:
    """The report's check of the forecast on its own series (backtest.self_calibration,
    cached in the store's folder); None without a single week to check against."""
    from . import backtest

    if len(point_weeks) < MIN_POINTS + 1 or not shares:
        return None
    series = backtest.Series(
        ctx.lookback.monday0,
        point_weeks,
        {site: np.asarray(values) for site, values in shares.items()},
        launch,
        data_start,
        ctx.window.as_of,
    )
    marks = (ctx.settings.tipping_low, ctx.settings.tipping_high)
    return backtest.self_calibration(
        series, marks, ctx.settings.forecast_lookback_weeks, ctx.settings.data_dir
    )


def calibrated(
    result: Forecast,
    calibration: ForecastCalibration | None,
    monday: date,
    current_week: int,
) -> Forecast:
    """`result` with `calibration` attached and, when it comes from this organisation's
    history, each dated mark's range adjusted: the side before the expected date scaled by
    `calibration.earlier`, the side after it by `calibration.later` (each side at least a
    week wide before scaling); never before the week after the report, open-ended beyond
    the horizon."""
    if calibration is None:
        return result
    if calibration.scope != "organisation":
        return replace(result, calibration=calibration)
    soonest = _date(monday, current_week + 1.0)
    horizon = _date(monday, current_week + HORIZON_WEEKS)
    marks = []
    for mark in result.marks:
        if mark.status != "expected" or mark.expected is None or mark.earliest is None:
            marks.append(mark)
            continue
        before = max((mark.expected - mark.earliest).days, 7) * calibration.earlier
        earliest = max(min(mark.expected - timedelta(days=round(before)), mark.expected), soonest)
        latest = mark.latest
        if latest is not None:
            after = max((latest - mark.expected).days, 7) * calibration.later
            latest = max(mark.expected + timedelta(days=round(after)), mark.expected)
            latest = latest if latest <= horizon else None
        marks.append(replace(mark, earliest=min(earliest, mark.expected), latest=latest))
    return replace(result, marks=tuple(marks), calibration=calibration)
