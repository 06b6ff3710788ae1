"""The difference-in-differences estimator every effect goes through (docs/metrics.md,
"Actions and their effect" and "Ambassadors"): a site's change against the mean change
of its comparison sites, with a prediction interval from their spread (`prediction`, the
actions of effects.py), and the ambassadors' pooled figure over the sites with a first
ambassador (`difference_in_differences`). Comparison sites are never treated or not yet
treated in the weeks compared, and never have an action of their own then.
"""

from __future__ import annotations

import math

import numpy as np

from ..messages import Message, plural_message
from ..model import AmbassadorEffect

#: The ambassadors' pooled figure: weeks compared on each side of a site's first
#: ambassador's start (at most), fewest needed, fewest sites to pool.
EFFECT_WEEKS = 8
MIN_EFFECT_WEEKS = 4
MIN_TREATED_SITES = 3


def prediction(
    x: float, noise: float, xs: list[float], noises: list[float]
) -> tuple[float, float, float]:
    """(estimate, low, high) of x − mean(xs) at 80 %: xs scatter around their mean by a
    common τ² (their variance less their mean counting noise, at least 0) plus each one's
    own counting noise; x's counterfactual is one more such draw."""
    m = len(xs)
    mean = float(np.mean(xs))
    tau2 = max(0.0, float(np.var(xs, ddof=1)) - float(np.mean(noises)))
    variance = tau2 + noise + (tau2 + float(np.mean(noises))) / m
    half = t80(m - 1) * math.sqrt(variance)
    d = x - mean
    return d, d - half, d + half


def difference_in_differences(
    shares: dict[str, list[float]],
    weeks: list[int],
    starts: dict[str, int],
    controls: list[str],
    busy: dict[str, list[int]] | None = None,
) -> tuple[AmbassadorEffect, dict[str, AmbassadorEffect]]:
    """Pooled and per-site estimates of a staggered difference in differences. `shares`:
    site -> weekly contributor share (people contributing that week / headcount) at
    `weeks`; `starts`: treated site -> week its first ambassador started; `controls`: sites
    without ambassadors.

    For a treated site, with K = min(EFFECT_WEEKS, weeks available on both sides) ≥
    MIN_EFFECT_WEEKS: d = (mean of its K weeks after the start week − mean of its K weeks
    before) − the same for the mean of its comparison sites: those without ambassadors
    and those whose first ambassador started only after these 2K + 1 weeks (not yet
    treated), less those with a logged action of their own from 2K weeks before the start
    to K after (`busy`: site -> weeks of its logged actions), as for every action
    (effects.py). The pooled estimate is the mean of the sites' d, given from
    MIN_TREATED_SITES sites on; its standard error adds to their spread over √n the
    variance of the comparison means they share, and the intervals use Student's t with
    n − 1 degrees of freedom."""
    position = {w: i for i, w in enumerate(weeks)}
    per_site: dict[str, AmbassadorEffect] = {}
    estimates: list[float] = []
    shared: list[float] = []
    used_k: list[int] = []
    used_controls: set[str] = set()
    for site, start in sorted(starts.items()):
        if start not in position:
            per_site[site] = not_estimable(
                Message(
                    "ambassador_effect.start_outside_data",
                    "its first ambassador started outside the weeks with data",
                ),
                1,
                0,
            )
            continue
        i = position[start]
        k = min(EFFECT_WEEKS, i, len(weeks) - i - 1)
        last = weeks[min(i + k, len(weeks) - 1)]
        comparison = sorted(
            c
            for c in [*controls, *(c for c, s in starts.items() if s > last)]
            if c != site and not any(start - 2 * k <= w <= last for w in (busy or {}).get(c, []))
        )
        if k < MIN_EFFECT_WEEKS or not comparison:
            why = (
                Message(
                    "ambassador_effect.too_few_weeks",
                    "fewer than %(weeks)s weeks of data on each side of its first "
                    "ambassador's start",
                    weeks=MIN_EFFECT_WEEKS,
                )
                if k < MIN_EFFECT_WEEKS
                else Message(
                    "ambassador_effect.no_comparison",
                    "no site without ambassadors (or not yet with them) to compare with "
                    "over its weeks",
                )
            )
            per_site[site] = not_estimable(why, 1, len(comparison))
            continue
        d, noise, control_var = _site_difference(shares, site, comparison, i, k)
        estimates.append(d)
        shared.append(control_var)
        used_k.append(k)
        used_controls.update(comparison)
        per_site[site] = _effect(d, noise, 1, len(comparison), k, _T_QUANTILES[-1][1:])
    n = len(estimates)
    if n < MIN_TREATED_SITES:
        return not_estimable(_pooled_reason(starts, per_site, n), n, len(used_controls)), per_site
    between = float(np.var(estimates, ddof=1)) / n
    se = math.sqrt(between + (1 - 1 / n) * float(np.mean(shared)))
    if se == 0:
        reason = Message(
            "ambassador_effect.no_variation",
            "the sites' weekly shares do not vary: no interval can be given",
        )
        return not_estimable(reason, n, len(used_controls)), per_site
    pooled = float(np.mean(estimates))
    return _effect(pooled, se, n, len(used_controls), min(used_k), _t(n - 1)), per_site


def _site_difference(
    shares: dict[str, list[float]], site: str, comparison: list[str], i: int, k: int
) -> tuple[float, float, float]:
    """(d, its own week-to-week standard error, the variance of the comparison mean's
    change) for a treated site whose start is at position i, over K = k weeks a side."""
    changes = []
    for c in comparison:
        series = np.asarray(shares[c])
        changes.append(series[i + 1 : i + 1 + k].mean() - series[i - k : i].mean())
    control = np.mean([shares[c] for c in comparison], axis=0)
    diff = np.asarray(shares[site]) - control
    before, after = diff[i - k : i], diff[i + 1 : i + 1 + k]
    d = float(after.mean() - before.mean())
    noise = float(np.sqrt(before.var(ddof=1) / k + after.var(ddof=1) / k))
    if len(changes) > 1:
        control_var = float(np.var(changes, ddof=1)) / len(changes)
    else:  # one comparison site: its own week-to-week noise
        series = np.asarray(shares[comparison[0]])
        pre, post = series[i - k : i], series[i + 1 : i + 1 + k]
        control_var = float(pre.var(ddof=1) / k + post.var(ddof=1) / k)
    return d, noise, control_var


def _pooled_reason(starts: dict[str, int], per_site: dict[str, AmbassadorEffect], n: int) -> str:
    if not starts:
        return Message(
            "ambassador_effect.no_start_dates", "no site has ambassadors with a start date"
        )
    if n == 0:
        reasons = [e.reason for e in per_site.values() if e.reason]
        if reasons:
            return max(set(reasons), key=reasons.count)
        return Message("ambassador_effect.no_estimable_site", "no estimable site")
    return plural_message(
        "ambassador_effect.too_few_sites",
        "only %(num)s site with a first ambassador's start, %(weeks)s weeks of data on each "
        "side and a comparison site; a pooled figure needs at least %(minimum)s: the spread "
        "between sites is its uncertainty",
        "only %(num)s sites with a first ambassador's start, %(weeks)s weeks of data on each "
        "side and a comparison site; a pooled figure needs at least %(minimum)s: the spread "
        "between sites is its uncertainty",
        n,
        weeks=MIN_EFFECT_WEEKS,
        minimum=MIN_TREATED_SITES,
    )


#: Student's t quantiles (0.90, 0.975) by degrees of freedom; the last is the normal's.
_T_QUANTILES = (
    (1, 3.078, 12.706),
    (2, 1.886, 4.303),
    (3, 1.638, 3.182),
    (4, 1.533, 2.776),
    (5, 1.476, 2.571),
    (6, 1.440, 2.447),
    (8, 1.397, 2.306),
    (10, 1.372, 2.228),
    (15, 1.341, 2.131),
    (20, 1.325, 2.086),
    (30, 1.310, 2.042),
    (10**9, 1.282, 1.960),
)


def _t(df: int) -> tuple[float, float]:
    """(t 0.90, t 0.975) for `df` degrees of freedom: the tabled row at or below it."""
    row = max((r for r in _T_QUANTILES if r[0] <= max(df, 1)), key=lambda r: r[0])
    return row[1], row[2]


def _effect(
    d: float, se: float, treated: int, controls: int, k: int, z: tuple[float, float]
) -> AmbassadorEffect:
    pp = 100.0

    def interval(z: float) -> tuple[float, float]:
        return (round((d - z * se) * pp, 2), round((d + z * se) * pp, 2))

    return AmbassadorEffect(
        estimate_pp=round(d * pp, 2),
        ci80_pp=interval(z[0]),
        ci95_pp=interval(z[1]),
        treated_sites=treated,
        control_sites=controls,
        weeks_before=k,
        weeks_after=k,
        reason=None,
    )


def not_estimable(reason: str, treated: int, controls: int) -> AmbassadorEffect:
    return AmbassadorEffect(None, None, None, treated, controls, 0, 0, reason)


def t80(df: int) -> float:
    return _t(df)[0]
