"""Words every renderer uses for the same figure, so the terminal, Markdown, CSV and HTML
say the same thing (the forecast's marks, for now)."""

from __future__ import annotations

from datetime import date

from ..model import Forecast, ForecastMark


def month(day: date) -> str:
    """`Mar 2027`: a forecast is not precise to the day."""
    return day.strftime("%b %Y")


def mark_phrase(mark: ForecastMark) -> str:
    """`≈ Mar 2027 (Jan–Jun 2027)`, `reached`, `not at the current pace`, `unknown`."""
    if mark.status == "reached":
        return "reached"
    if mark.status == "not_at_current_pace":
        return "not at the current pace"
    if mark.status != "expected" or mark.expected is None:
        return "unknown"
    earliest = month(mark.earliest) if mark.earliest else "?"
    latest = month(mark.latest) if mark.latest else "later"
    return f"≈ {month(mark.expected)} ({earliest} – {latest})"


def forecast_phrase(forecast: Forecast | None, index: int = -1) -> str:
    """The phrase of one mark (the high one by default); "—" without a forecast."""
    if forecast is None or not forecast.marks:
        return "—"
    return mark_phrase(forecast.marks[index])


def forecast_sentence(forecast: Forecast | None) -> str:
    """One sentence for a site page: both marks, the method and its caveat."""
    if forecast is None:
        return ""
    parts = [f"{m.share:.0%}: {mark_phrase(m)}" for m in forecast.marks]
    if forecast.method == "bass":
        p = forecast.parameters
        how = (
            f"Bass diffusion fit of the weekly contributor share over {forecast.weeks_used} "
            f"weeks (plateau {float(p['m']):.0%}, R² {p['r_squared']})"
        )
    elif forecast.method == "linear":
        how = f"linear trend ({forecast.reason})"
    else:
        how = forecast.reason or "no forecast"
    return (
        f"At the current pace — {'; '.join(parts)}. Method: {how}. A projection of the recent "
        "trend, not a promise."
    )


def change_phrase(points: float | None) -> str:
    """A change of contributor share since the previous window: `▲ 2.9 pts`, `▼ 1.2 pts`,
    `= 0.0 pts`; "—" when unknown or hidden."""
    if points is None:
        return "—"
    if round(points, 1) == 0:
        return "= 0.0 pts"
    return f"{'▲' if points > 0 else '▼'} {abs(points):.1f} pts"
