"""Words every renderer uses for the same figure, so the terminal, Markdown, CSV and HTML
say the same thing (the forecast's marks, for now), in the rendering's language."""

from __future__ import annotations

from datetime import date

from ..model import Forecast, ForecastMark, Report
from .i18n import ENGLISH, Language
from .phrases import phrase


def month(day: date, tr: Language = ENGLISH) -> str:
    """`Mar 2027` (`mars 2027`): a forecast is not precise to the day."""
    return tr.month(day)


def mark_phrase(mark: ForecastMark, tr: Language = ENGLISH) -> str:
    """`≈ Mar 2027 (Jan–Jun 2027)`, `reached`, `not at the current pace`, `unknown`."""
    if mark.status == "reached":
        return tr._("reached")
    if mark.status == "not_at_current_pace":
        return tr._("not at the current pace")
    if mark.status != "expected" or mark.expected is None:
        return tr._("unknown")
    earliest = month(mark.earliest, tr) if mark.earliest else "?"
    latest = month(mark.latest, tr) if mark.latest else tr._("later")
    return f"≈ {month(mark.expected, tr)} ({earliest} – {latest})"


def forecast_phrase(forecast: Forecast | None, index: int = -1, tr: Language = ENGLISH) -> str:
    """The phrase of one mark (the high one by default); "—" without a forecast."""
    if forecast is None or not forecast.marks:
        return "—"
    return mark_phrase(forecast.marks[index], tr)


def forecast_sentence(forecast: Forecast | None, tr: Language = ENGLISH) -> str:
    """One sentence for a site page: both marks, the method and its caveat."""
    if forecast is None:
        return ""
    parts = [
        tr._("%(share)s: %(phrase)s", share=tr.percent(m.share, 0), phrase=mark_phrase(m, tr))
        for m in forecast.marks
    ]
    if forecast.method == "bass":
        p = forecast.parameters
        how = tr._(
            "Bass diffusion fit of the weekly contributor share over %(weeks)s weeks "
            "(plateau %(plateau)s, R² %(r_squared)s)",
            weeks=forecast.weeks_used,
            plateau=tr.percent(float(p["m"]), 0),
            r_squared=p["r_squared"] if tr.english else tr.decimal(float(p["r_squared"]), 3),
        )
    elif forecast.method == "linear":
        how = tr._("linear trend (%(reason)s)", reason=phrase(forecast.reason or "", tr))
    else:
        how = phrase(forecast.reason, tr) if forecast.reason else tr._("no forecast")
    return tr._(
        "At the current pace — %(marks)s. Method: %(method)s. A projection of the recent "
        "trend, not a promise.",
        marks=tr._("; ").join(parts),
        method=how,
    )


def change_phrase(points: float | None, tr: Language = ENGLISH) -> str:
    """A change of contributor share since the previous window: `▲ 2.9 pts`, `▼ 1.2 pts`,
    `= 0.0 pts` (French `▲ 2,9 pts`); "—" when unknown or hidden."""
    if points is None:
        return "—"
    if round(points, 1) == 0:
        return tr._("= %(points)s pts", points=tr.decimal(0.0, 1))
    arrow = "▲" if points > 0 else "▼"
    return tr._("%(arrow)s %(points)s pts", arrow=arrow, points=tr.decimal(abs(points), 1))


def directory_mismatch_warning(report: Report, tr: Language = ENGLISH) -> str | None:
    """The sentence a report leads with when its directory lists under half the window's
    active people (every site's figures are then wrong); None otherwise."""
    if not report.directory_mismatch or report.directory_match_share is None:
        return None
    return tr._(
        "Warning: the directory lists only %(share)s of the people active in the window "
        "(%(people)s are not in it), so every site's figures are wrong. Load a directory "
        "keyed by the identifier the exports use (e-mail or employee id).",
        share=tr.percent(report.directory_match_share),
        people=tr.number(report.unlisted_active_users),
    )
