"""The difference-in-differences estimator every effect goes through (docs/metrics.md,
"Actions and their effect" and "Ambassadors"): a site's change against the mean change
of its comparison sites, with a prediction interval from their spread (`prediction`,
`prediction_parts`: each action of effects.py, a site's first ambassador included), and
the mean of several sites' estimates with an interval from their spread and their own
uncertainty (`pool`: the ambassadors' pooled figure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """x − mean(xs) (`estimate`) and the variance of its error: `own`, the site's
    counterfactual drawn like one more comparison site (their common spread τ² and its
    own counting noise), and `shared`, the comparison mean's error (shared with any other
    site compared with the same sites); `df`: comparison sites − 1."""

    estimate: float
    own: float
    shared: float
    df: int

    def interval(self, level: float = 0.8) -> tuple[float, float]:
        """(low, high) at `level` (0.8 or 0.95): Student's t with `df` degrees of freedom."""
        half = t_quantile(self.df, level) * math.sqrt(self.own + self.shared)
        return self.estimate - half, self.estimate + half


def prediction_parts(x: float, noise: float, xs: list[float], noises: list[float]) -> Prediction:
    """x − mean(xs) and its error's variance: xs scatter around their mean by a common τ²
    (their variance less their mean counting noise, at least 0) plus each one's own
    counting noise; x's counterfactual is one more such draw."""
    m = len(xs)
    tau2 = max(0.0, float(np.var(xs, ddof=1)) - float(np.mean(noises)))
    shared = (tau2 + float(np.mean(noises))) / m
    return Prediction(x - float(np.mean(xs)), tau2 + noise, shared, m - 1)


def prediction(
    x: float, noise: float, xs: list[float], noises: list[float]
) -> tuple[float, float, float]:
    """(estimate, low, high) of x − mean(xs) at 80 % (`prediction_parts`)."""
    p = prediction_parts(x, noise, xs, noises)
    return (p.estimate, *p.interval(0.8))


def pool(sites: list[Prediction]) -> Prediction:
    """The mean of several sites' estimates. Its error's variance: the larger of their
    spread (the sample variance of the estimates) and their mean own variance (each
    one's prediction variance, comparison mean included), over n — the sites' errors
    taken as independent, as they mostly are (each site's counterfactual draw is its
    own; their comparison sites differ with their weeks); Student's t with n − 1 degrees
    of freedom. benchmarks/ambassador_coverage.py measures how often it holds the truth."""
    n = len(sites)
    estimates = [p.estimate for p in sites]
    spread = float(np.var(estimates, ddof=1))
    own = float(np.mean([p.own + p.shared for p in sites]))
    return Prediction(float(np.mean(estimates)), max(spread, own) / n, 0.0, n - 1)


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


def t_quantile(df: int, level: float = 0.8) -> float:
    """Student's t quantile of a two-sided `level` (0.8 or 0.95) interval for `df`
    degrees of freedom: the tabled row at or below it (wider, never narrower)."""
    row = max((r for r in _T_QUANTILES if r[0] <= max(df, 1)), key=lambda r: r[0])
    return row[1] if level == 0.8 else row[2]
