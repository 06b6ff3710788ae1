"""The actions' effects as the report carries them (`Report.interventions`; metrics/effects.py
computes them, docs/metrics.md "Actions and their effect"): frozen dataclasses that
model.py re-exports. Counts are people, shares' effects percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class OutcomeEffect:
    """An action's effect on one outcome: `estimate` in [`low`, `high`] (80 %), people or
    points; the site's `before`, `after` (None: hidden), the comparisons' mean change."""

    estimate: float
    low: float
    high: float
    before: float | None
    after: float | None
    comparison_change: float


@dataclass(frozen=True)
class EffectCheck:
    """The placebo or pre-trend check; `passed`: its interval holds 0 (None: `reason`)."""

    estimate: float | None
    low: float | None
    high: float | None
    passed: bool | None
    reason: str | None = None


@dataclass(frozen=True)
class ActionEffect:
    """An action and its effect over `weeks_after` weeks; `source`: "file" or "directory"
    (a first ambassador's start); `verdict`: one of effects.VERDICTS (`reason` if not)."""

    date: date
    site: str
    kind: str
    label: str
    source: str
    weeks_after: int
    level: float
    verdict: str
    reason: str | None
    new_contributors: OutcomeEffect | None
    contributor_share: OutcomeEffect | None
    comparison_sites: tuple[str, ...]
    placebo: EffectCheck | None
    pre_trend: EffectCheck | None
