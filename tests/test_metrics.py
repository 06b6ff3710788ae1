"""Every definition of docs/metrics.md on hand-built data, with exact expected numbers.

The organisation (as_of 2026-03-31, window 30 days = 2026-03-02 .. 2026-03-31):

Lyon (directory): 6 employed people on as_of
  a  posts in the window                      -> contributor
  b  reacts and reads                         -> reactor
  c  reads only                               -> reader
  d  logs in only                             -> visitor
  e  nothing in the window (posted in Jan.)   -> inactive
  f  hired 2026-03-15, comments, events name "Paris"  -> contributor of Lyon
  g  left 2026-03-10 (not employed on as_of)  -> not in headcount though active
  h  hired 2026-04-15 (after as_of)           -> not in headcount
Paris (directory): 3 people -> suppressed below 5
Unlisted: x@ext (active, not in directory) -> unlisted_active_users = 1
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from rse_adoption.config import Settings
from rse_adoption.directory import load_directory
from rse_adoption.errors import DataError, NoInputError
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.metrics import build_report

from .conftest import write

DIRECTORY = """email;site;hire date;leave date;ambassador;ambassador since
a@corp.fr;Lyon;2020-01-01;;oui;2026-01-01
b@corp.fr;Lyon;;;non;
c@corp.fr;Lyon;;;oui;2026-04-01
d@corp.fr;Lyon;;;;
e@corp.fr;Lyon;;;;
f@corp.fr;Lyon;2026-03-15;;;
g@corp.fr;Lyon;;2026-03-10;oui;
h@corp.fr;Lyon;2026-04-15;;;
p1@corp.fr;Paris;;;;
p2@corp.fr;Paris;;;;
p3@corp.fr;Paris;;;;
"""

EVENTS = """timestamp,user,event_type,site
2026-03-02T00:00:00Z,A@corp.fr,post,Lyon
2026-03-31T23:59:59Z,b@corp.fr,like,Lyon
2026-03-05T10:00:00Z,b@corp.fr,view,Lyon
2026-03-20T10:00:00Z,c@corp.fr,view,Lyon
2026-03-21T10:00:00Z,d@corp.fr,login,Lyon
2026-03-01T23:59:59Z,d@corp.fr,post,Lyon
2026-01-10T10:00:00Z,e@corp.fr,post,Lyon
2026-03-16T10:00:00Z,f@corp.fr,reply,Paris
2026-03-05T10:00:00Z,g@corp.fr,post,Lyon
2026-03-05T10:00:00Z,p1@corp.fr,post,Paris
2026-03-06T10:00:00Z,x@ext.fr,post,Lyon
2026-04-01T00:00:00Z,c@corp.fr,post,Lyon
"""


@pytest.fixture
def store(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", window_days=30)
    load_directory(write(tmp_path / "dir.csv", DIRECTORY), settings)
    ingest_paths([write(tmp_path / "events.csv", EVENTS)], settings)
    return settings


def every_count(settings: Settings) -> Settings:
    """The settings with every count shown: the definitions are checked on a site of 6."""
    return replace(settings, min_group_size=1)


def site(report, name):  # type: ignore[no-untyped-def]
    return next(s for s in report.sites if s.site == name)


def test_segments_first_match_and_headcount_of_employed_people(store: Settings) -> None:
    report = build_report(every_count(store), as_of=date(2026, 3, 31))
    lyon = site(report, "Lyon")
    assert lyon.headcount == 6  # a b c d e f: g left before as_of, h hired after
    assert lyon.segments.contributor == 2  # a (post), f (reply, events say Paris)
    assert lyon.segments.reactor == 1
    assert lyon.segments.reader == 1
    assert lyon.segments.visitor == 1  # d's post of 1 March is outside the window
    assert lyon.segments.inactive == 1
    assert lyon.active_users == 5
    assert lyon.contributor_share == pytest.approx(2 / 6)
    assert lyon.status == "tipped"
    assert lyon.progress == pytest.approx((2 / 6) / 0.15)


def test_ambassadors_count_only_started_and_employed(store: Settings) -> None:
    lyon = site(build_report(store, as_of=date(2026, 3, 31)), "Lyon")
    assert lyon.ambassadors == 1  # a; c starts 1 April; g has left


def test_small_site_is_suppressed_everywhere(store: Settings) -> None:
    report = build_report(store, as_of=date(2026, 3, 31))
    paris = site(report, "Paris")
    assert paris.suppressed
    assert (paris.headcount, paris.segments, paris.contributor_share, paris.ambassadors) == (
        None,
        None,
        None,
        None,
    )
    assert paris.series == ()
    assert report.totals.headcount == 6  # totals exclude suppressed sites


def test_unlisted_active_people_are_counted_apart(store: Settings) -> None:
    report = build_report(store, as_of=date(2026, 3, 31))
    assert report.unlisted_active_users == 1
    assert report.headcount_source == "directory"


def test_as_of_defaults_to_last_day_with_data(store: Settings) -> None:
    report = build_report(every_count(store))
    assert report.as_of == date(2026, 4, 1)
    assert report.window_start == date(2026, 3, 3)
    lyon = site(report, "Lyon")
    # window 3 March .. 1 April: c posts on 1 April, f replied; a's post of 2 March is out
    assert lyon.segments.contributor == 2
    assert lyon.segments.inactive == 2  # a and e
    assert lyon.ambassadors == 2  # a, and c from 1 April


def test_a_window_outside_the_events_is_refused_not_reported_as_zero(store: Settings) -> None:
    """An all-inactive report of a window before the first event would look plausible and
    be wrong (issue 29): it says the window holds no events instead."""
    with pytest.raises(DataError, match="the window 2025-12-02 to 2025-12-31 holds no events"):
        build_report(store, as_of=date(2025, 12, 31))


def test_status_thresholds(tmp_path: Path, store: Settings) -> None:
    from rse_adoption.metrics.sites import tipping_status

    assert tipping_status(0.0999, 0.10, 0.15) == "below"
    assert tipping_status(0.10, 0.10, 0.15) == "tipping"
    assert tipping_status(0.1499, 0.10, 0.15) == "tipping"
    assert tipping_status(0.15, 0.10, 0.15) == "tipped"


def test_weekly_series_counts_distinct_people_by_monday_week(store: Settings) -> None:
    lyon = site(build_report(every_count(store), as_of=date(2026, 3, 31)), "Lyon")
    weeks = {p.week_start: (p.contributors, p.active_users) for p in lyon.series}
    assert list(weeks) == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
        date(2026, 3, 30),
    ]
    assert weeks[date(2026, 3, 2)] == (1, 2)  # a posts, b reads
    assert weeks[date(2026, 3, 16)] == (1, 3)  # f replies; c reads; d logs in
    assert weeks[date(2026, 3, 23)] == (0, 0)
    assert weeks[date(2026, 3, 30)] == (0, 1)  # b's like at 23:59:59 on as_of counts
    # contributors since the window began: a from week 1, f from week 3; carried over the
    # empty week; g's post (she left before as_of) never counts; ends at the window figure
    assert [p.contributors_to_date for p in lyon.series] == [1, 1, 2, 2, 2]
    assert lyon.series[-1].contributors_to_date == lyon.segments.contributor


def test_activity_fallback_without_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", window_days=30, min_group_size=1)
    ingest_paths([write(tmp_path / "events.csv", EVENTS)], settings)
    report = build_report(settings, as_of=date(2026, 3, 31))
    assert report.headcount_source == "activity"
    lyon = site(report, "Lyon")
    # people whose events name Lyon most: a b c d e g x (f names Paris, p1 Paris)
    assert lyon.headcount == 7
    assert lyon.segments.contributor == 3  # a, g, x
    assert lyon.segments.inactive == 1  # e
    assert report.unlisted_active_users == 0
    assert report.notes


def test_unknown_site_lists_the_closest(store: Settings) -> None:
    with pytest.raises(DataError, match="closest known sites: Lyon"):
        build_report(store, site_names=["Lyom"], as_of=date(2026, 3, 31))


def test_site_names_match_without_case_or_accents(tmp_path: Path) -> None:
    from rse_adoption.metrics import resolve_sites

    assert resolve_sites(["saint-etienne", "LYON"], ["Saint-Étienne", "Lyon"]) == [
        "Saint-Étienne",
        "Lyon",
    ]


def test_no_events_needs_an_as_of(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    load_directory(write(tmp_path / "dir.csv", DIRECTORY), settings)
    with pytest.raises(NoInputError, match="holds no events"):  # exit 66
        build_report(settings)
    report = build_report(settings, as_of=date(2026, 3, 31))
    assert site(report, "Lyon").segments.inactive == 6  # nobody active yet: all inactive
    assert site(report, "Lyon").status == "below"


def test_the_closest_site_to_a_short_name_is_the_one_that_holds_it() -> None:
    from rse_adoption.metrics.site_names import closest_sites

    known = ["Bordeaux", "Genève", "Lille", "Lyon", "Marseille", "Paris La Défense"]
    assert closest_sites("Paris", known) == ["Paris La Défense"]  # not the first five
    assert closest_sites("defense", known) == ["Paris La Défense"]  # a word, accents aside
    assert closest_sites("Lyom", known) == ["Lyon"]  # a typo: difflib
    assert closest_sites("Atlantis", known) == known[:5]  # nothing close: the first five
