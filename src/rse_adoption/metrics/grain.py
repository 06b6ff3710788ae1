"""At which grain the store's activity periods describe a report's window.

Activity-period exports (Microsoft 365, Slack analytics) give per-person counts over fixed
periods. A single period equal to the window only gives the window's segments; one-day
periods covering every day of the window, or seven-day periods covering every ISO week of
it, give the weekly detail too (docs/metrics.md, "Activity periods" and "Grain").
`coverage` decides, per export format, which of its periods a report uses, and names the
report's `activity_grain`; it reads only the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..messages import N_, Message, Param
from ..store import Manifest
from .segments import Window

#: From the finest to the coarsest: a report's grain is the coarsest of the sources it uses.
GRAINS: tuple[str, ...] = ("events", "day", "week", "period")
#: The period length of each grain that tiles a window.
TILE_DAYS = {"day": 1, "week": 7}
#: Missing days or weeks named in a note before "and N more".
SHOWN_MISSING = 5


@dataclass(frozen=True)
class Coverage:
    """The activity periods one report uses.

    `grain`: the report's activity_grain; `formats`: the grain of each format used.
    `window_files`: the manifest entries whose rows
    count in the window's segments. `weekly_files`: the one-day or seven-day entries whose
    rows give weekly detail, from `weekly_start` (the first day from which every tiling
    format covers each day or week without a gap, back from the window's end) to as_of,
    the window included. `notes`: what keeps a format's days or weeks from tiling."""

    grain: str
    formats: dict[str, str]
    window_files: tuple[dict[str, Any], ...]
    weekly_files: tuple[dict[str, Any], ...]
    weekly_start: date | None
    notes: tuple[str, ...]


def coverage(manifest: Manifest, window: Window) -> Coverage:
    """The periods of each export format the window uses, the finest first:

    - **day**: the format has a one-day period (`period_days` 1, ending on its
      `refresh_date`) for every day of the window;
    - **week**: otherwise, the window is whole ISO weeks (as_of a Sunday, `window_days` a
      multiple of 7) and the format has a seven-day period ending on each of its Sundays;
    - **period**: otherwise, one period of the format is exactly the window (as before);
    - else the format is not used (a note says which days or weeks it lacks, when it has
      some of them).

    One format reads one kind of period only, each period once: overlapping periods are
    never added up, and formats combine by each person's highest level, never by sums.
    The report's grain is the coarsest of the formats used, `events` when none is."""
    by_format: dict[str, list[dict[str, Any]]] = {}
    for entry in manifest.activity_files:
        by_format.setdefault(entry["source_format"], []).append(entry)
    formats: dict[str, str] = {}
    window_files: list[dict[str, Any]] = []
    tiles: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    notes: list[str] = []
    for source_format, entries in sorted(by_format.items()):
        used = _format_grain(source_format, entries, window, notes)
        if used is None:
            continue
        grain, files = used
        formats[source_format] = grain
        window_files += [f for f in files if _in_window(f, window)]
        if grain in TILE_DAYS:
            tiles[source_format] = (grain, files)
    starts = [_run_start(grain, files, window) for grain, files in tiles.values()]
    weekly_start = max(starts) if starts else None
    weekly_files = [
        f
        for _, files in tiles.values()
        for f in files
        if weekly_start is not None
        and _first_day(f) >= weekly_start
        and f["refresh_date"] <= window.as_of.isoformat()
    ]
    grain = max(formats.values(), key=GRAINS.index, default="events")
    return Coverage(
        grain, formats, tuple(window_files), tuple(weekly_files), weekly_start, tuple(notes)
    )


def tile_ends(grain: str, window: Window) -> list[date] | None:
    """The last days of the periods that tile `window` at `grain` ("day": every day,
    "week": every Sunday), or None when the window cannot be tiled at that grain."""
    if grain == "day":
        return [window.start + timedelta(days=i) for i in range(window.days)]
    if window.as_of.weekday() != 6 or window.days % 7:
        return None
    return [window.as_of - timedelta(weeks=i) for i in reversed(range(window.days // 7))]


def _format_grain(
    source_format: str, entries: list[dict[str, Any]], window: Window, notes: list[str]
) -> tuple[str, list[dict[str, Any]]] | None:
    """(grain, its entries) for one format, the finest that fits; a note for each finer
    grain whose periods in the window leave gaps (the report falls back to a coarser grain
    or to nothing)."""
    gaps: list[tuple[str, list[date]]] = []
    for grain, days in TILE_DAYS.items():
        held = {f["refresh_date"]: f for f in entries if int(f["period_days"]) == days}
        ends = tile_ends(grain, window)
        if ends is None:
            continue
        missing = [d for d in ends if d.isoformat() not in held]
        if not missing:
            notes += [_gap_note(source_format, g, m, window, "weeks_used") for g, m in gaps]
            return grain, sorted(held.values(), key=lambda f: f["refresh_date"])
        if len(missing) < len(ends):
            gaps.append((grain, missing))
    exact = [
        f
        for f in entries
        if int(f["period_days"]) == window.days and f["refresh_date"] == window.as_of.isoformat()
    ]
    then = "no_weekly_detail" if exact else "nothing"
    notes += [_gap_note(source_format, g, m, window, then) for g, m in gaps]
    return ("period", exact) if exact else None


#: What a gap in the finer periods leaves: (grain, consequence) -> (code, template).
_GAP_NOTES = {
    ("day", "weeks_used"): N_(
        "The %(format)s one-day periods do not cover the %(days)s days ending %(end)s: "
        "missing the day %(missing)s, so its seven-day periods are used."
    ),
    ("day", "no_weekly_detail"): N_(
        "The %(format)s one-day periods do not cover the %(days)s days ending %(end)s: "
        "missing the day %(missing)s, so they give no weekly detail."
    ),
    ("day", "nothing"): N_(
        "The %(format)s one-day periods do not cover the %(days)s days ending %(end)s: "
        "missing the day %(missing)s."
    ),
    ("week", "no_weekly_detail"): N_(
        "The %(format)s seven-day periods ending on Sundays do not cover the %(days)s days "
        "ending %(end)s: missing the week ending %(missing)s, so they give no weekly detail."
    ),
    ("week", "nothing"): N_(
        "The %(format)s seven-day periods ending on Sundays do not cover the %(days)s days "
        "ending %(end)s: missing the week ending %(missing)s."
    ),
}


def _gap_note(
    source_format: str, grain: str, missing: list[date], window: Window, then: str
) -> Message:
    """Which of the window's days (or weeks) `source_format`'s `grain` periods lack, and
    what the report does instead (`then`)."""
    shown: Param = tuple(missing[:SHOWN_MISSING])
    if len(missing) > SHOWN_MISSING:
        shown = Message(
            "grain.missing_more",
            N_("%(shown)s and %(more)s more"),
            shown=shown,
            more=len(missing) - SHOWN_MISSING,
        )
    code = f"grain.gap.{grain}.{then}"
    return Message(
        code,
        _GAP_NOTES[grain, then],
        format=source_format,
        days=window.days,
        end=window.as_of,
        missing=shown,
    )


def _in_window(entry: dict[str, Any], window: Window) -> bool:
    return window.start <= _first_day(entry) and entry["refresh_date"] <= window.as_of.isoformat()


def _first_day(entry: dict[str, Any]) -> date:
    return date.fromisoformat(entry["refresh_date"]) - timedelta(days=int(entry["period_days"]) - 1)


def _run_start(grain: str, files: list[dict[str, Any]], window: Window) -> date:
    """The first day of the gapless run of `files` that ends with the window."""
    step = timedelta(days=TILE_DAYS[grain])
    held = {date.fromisoformat(f["refresh_date"]) for f in files}
    end = window.start + step - timedelta(days=1)  # the first tile's last day
    while end - step in held:
        end -= step
    return end - step + timedelta(days=1)


def tiled_runs(manifest: Manifest) -> list[tuple[date, int, str, str]]:
    """(last day, days, format, grain) of the longest window each format's one-day
    periods, or seven-day periods ending on Sundays, tile without a gap up to its latest
    such period; latest first. Any window inside such a run is tiled too."""
    runs = []
    for source_format in sorted({f["source_format"] for f in manifest.activity_files}):
        for grain, days in TILE_DAYS.items():
            ends = {
                date.fromisoformat(f["refresh_date"])
                for f in manifest.activity_files
                if f["source_format"] == source_format and int(f["period_days"]) == days
            }
            if grain == "week":
                ends = {d for d in ends if d.weekday() == 6}
            if not ends:
                continue
            last = max(ends)
            count = 1
            while last - timedelta(days=days * count) in ends:
                count += 1
            if grain == "day" or count > 1:  # one seven-day period is a plain period
                runs.append((last, days * count, source_format, grain))
    return sorted(runs, key=lambda run: (run[0], run[1]), reverse=True)


#: A source of daily (or weekly) per-person counts whose latest day is at most this many
#: days before the last day with events is current: vendors compute them a day or more
#: late (Microsoft 365 two to four days, Slack analytics one or two).
DAILY_SOURCE_LAG_DAYS = 7


def daily_sources_end(manifest: Manifest, window_days: int, last_day: date | None) -> date | None:
    """When the store holds events (`last_day`: the last day with any) and current one-day
    or seven-day activity periods that tile a `window_days` window but end before the events
    do: the earliest of their last days, so that the default window uses every source
    (docs/metrics.md, "Sources of one day"). None otherwise (the default is then the last
    day with events)."""
    if last_day is None:
        return None
    ends = [
        end
        for end, days, _, _ in tiled_runs(manifest)
        if days >= window_days
        and last_day - timedelta(days=DAILY_SOURCE_LAG_DAYS) <= end < last_day
    ]
    return min(ends, default=None)
