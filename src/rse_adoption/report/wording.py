"""Words every renderer uses for the same figure, so the terminal, Markdown, CSV and HTML
say the same thing (the forecast's marks, for now), in the rendering's language."""

from __future__ import annotations

from datetime import date

from ..model import Forecast, ForecastCalibration, ForecastMark, Report
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


def checks_phrase(calibration: ForecastCalibration | None, tr: Language = ENGLISH) -> str:
    """How the stated range did on this organisation's history, beside a date: `held 7 of
    9 past checks here`, or `too little history to check it here`; "" when not checked."""
    if calibration is None:
        return ""
    if calibration.scope == "organisation":
        return tr._(
            "held %(held)s of %(checks)s past checks here",
            held=calibration.held,
            checks=calibration.checks,
        )
    return tr._("too little history to check it here")


def checks_sentence(calibration: ForecastCalibration | None, tr: Language = ENGLISH) -> str:
    """The self-calibration in one sentence (docs/metrics.md, "Self-calibration")."""
    if calibration is None:
        return ""
    if calibration.scope == "organisation":
        return tr._(
            "On this organisation's history the stated range held %(held)s of %(checks)s "
            "past checks; each side of the ranges is adjusted from them (before the "
            "expected date ×%(earlier)s, after it ×%(later)s).",
            held=calibration.held,
            checks=calibration.checks,
            earlier=tr.decimal(calibration.earlier, 2),
            later=tr.decimal(calibration.later, 2),
        )
    return tr._(
        "Too little history on this organisation to check the range (%(checks)s past "
        "checks, %(needed)s needed): the generic calibration is used.",
        checks=calibration.checks,
        needed=calibration.needed,
    )


def forecast_phrase(forecast: Forecast | None, index: int = -1, tr: Language = ENGLISH) -> str:
    """The phrase of one mark (the high one by default), with how the range did on this
    organisation when the mark is dated; "—" without a forecast."""
    if forecast is None or not forecast.marks:
        return "—"
    mark = forecast.marks[index]
    checks = checks_phrase(forecast.calibration, tr) if mark.status == "expected" else ""
    return mark_phrase(mark, tr) + (f" · {checks}" if checks else "")


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
        plateau = float(p.get("plateau", p["m"]))
        low, high = float(p.get("plateau_low", plateau)), float(p.get("plateau_high", plateau))
        r_squared = p["r_squared"] if tr.english else tr.decimal(float(p["r_squared"]), 3)
        shown = tr.percent(plateau, 0)
        if tr.percent(low, 0) != tr.percent(high, 0):
            shown = tr._("%(low)s to %(high)s", low=tr.percent(low, 0), high=tr.percent(high, 0))
        if any(m.status == "expected" and m.share >= high for m in forecast.marks):
            # a mark above the curve's plateau is dated only by the rising recent pace:
            # naming that plateau beside the date would contradict it
            how = tr._(
                "Bass diffusion fit of the weekly contributor share over %(weeks)s weeks "
                "(plateau not settled yet: the recent pace runs above the curve's, "
                "R² %(r_squared)s)",
                weeks=forecast.weeks_used,
                r_squared=r_squared,
            )
        else:
            how = tr._(
                "Bass diffusion fit of the weekly contributor share over %(weeks)s weeks "
                "(plateau %(plateau)s, R² %(r_squared)s)",
                weeks=forecast.weeks_used,
                plateau=shown,
                r_squared=r_squared,
            )
    elif forecast.method == "linear":
        how = tr._("linear trend (%(reason)s)", reason=phrase(forecast.reason or "", tr))
    else:
        how = phrase(forecast.reason, tr) if forecast.reason else tr._("no forecast")
    sentence = tr._(
        "At the current pace — %(marks)s. Method: %(method)s. A projection of the recent "
        "trend, not a promise.",
        marks=tr.clauses(parts),
        method=how,
    )
    if any(m.status == "expected" for m in forecast.marks) and forecast.calibration:
        sentence += " " + checks_sentence(forecast.calibration, tr)
    return sentence


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


def window_before_data(report: Report, tr: Language = ENGLISH) -> str | None:
    """The sentence under the sites' table when the window starts before the store's first
    event (`--window 400` on six months of exports): its title says 400 days, its figures
    cover fewer. None otherwise."""
    first, last = report.data_first_day, report.data_last_day
    if first is None or last is None or report.window_start >= first:
        return None
    return tr._(
        "The %(days)s-day window starts on %(start)s, before the store's first event: its "
        "figures cover only %(first)s to %(last)s.",
        days=report.window_days,
        start=tr.short_date(report.window_start),
        first=tr.short_date(first),
        last=tr.short_date(min(last, report.as_of)),
    )
