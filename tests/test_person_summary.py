"""The per-person summary (issue 34, item 2): kept up to date at ingest, rebuilt by
`forget` and `prune`, and never changing a figure — every report below is compared with
the same report computed by scanning the whole history (the store without its summary)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rse_adoption import person_summary
from rse_adoption.config import Settings
from rse_adoption.demo import make_organisation, write_directory, write_events_csv
from rse_adoption.directory import load_directory
from rse_adoption.forget import forget_person
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.metrics import build_report
from rse_adoption.prune import prune
from rse_adoption.report.json_report import report_to_dict
from rse_adoption.store import MANIFEST, read_manifest

from .conftest import write

START, END = date(2025, 11, 1), date(2026, 4, 30)


def _organisation(tmp_path: Path, seed: int, *, directory: bool) -> tuple[Settings, list[str]]:
    """A generated organisation's six months of events, ingested the later three months
    first and the earlier three next (so that the second ingest moves people's firsts
    earlier), with its directory or without; and the e-mails seen in its events."""
    org = make_organisation(start=START, end=END, seed=seed, scale=0.04)
    log = tmp_path / "events.csv"
    write_events_csv(org, log)
    header, *rows = log.read_text(encoding="utf-8").splitlines(keepends=True)
    late = [r for r in rows if r[:7] >= "2026-02"]
    early = [r for r in rows if r[:7] < "2026-02"]
    settings = Settings(data_dir=tmp_path / "data")
    if directory:
        write_directory(org, tmp_path / "directory.csv")
        load_directory(tmp_path / "directory.csv", settings)
    ingest_paths([write(tmp_path / "late.csv", header + "".join(late))], settings)
    ingest_paths([write(tmp_path / "early.csv", header + "".join(early))], settings)
    emails = sorted({r.split(",")[1] for r in rows[:400]})
    return settings, emails


def _full_scan(settings: Settings) -> Settings:
    """The same store without its summary (a copy of its manifest that names none): the
    report scans the history, as before the summary existed."""
    copy = settings.data_dir.parent / f"{settings.data_dir.name}-scan"
    copy.mkdir(exist_ok=True)
    data = json.loads((settings.data_dir / MANIFEST).read_text(encoding="utf-8"))
    data["person_summary"] = None
    for name in ("events", "directory", "activity", "members", "quarantine"):
        link = copy / name
        if (settings.data_dir / name).exists() and not link.exists():
            link.symlink_to(settings.data_dir / name)
    (copy / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    (copy / "secret.key").write_bytes((settings.data_dir / "secret.key").read_bytes())
    return Settings(data_dir=copy)


def _report(settings: Settings, as_of: date, days: int = 30) -> dict[str, Any]:
    # min_group_size 1: every count published, so that the comparison sees each of them
    settings = Settings(data_dir=settings.data_dir, window_days=days, min_group_size=1)
    return report_to_dict(build_report(settings, as_of=as_of, generated_at="fixed"))


def _movement(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    keys = ("newly_active", "new_contributors", "lost_contributors", "returning_contributors")
    return [(s["site"], *(s[k] for k in keys), s["previous"]) for s in report["sites"]]


def _summary_is_the_full_aggregate(settings: Settings) -> None:
    manifest = read_manifest(settings.data_dir)
    held = person_summary.usable(settings.data_dir, manifest)
    assert held is not None, "the summary covers the store's event files"
    files = [str(settings.data_dir / p) for p in manifest.event_paths()]
    query = """
        SELECT user_key, min(ts), min(ts) FILTER (WHERE event_type IN ('post', 'comment'))
        FROM read_parquet($files) GROUP BY ALL EXCEPT
        SELECT user_key, first_ts, first_contribution FROM read_parquet($held)"""
    assert duckdb.execute(query, {"files": files, "held": held}).fetchall() == []
    count = "SELECT count(*) FROM read_parquet($f)"
    people = duckdb.execute(
        "SELECT count(DISTINCT user_key) FROM read_parquet($f)", {"f": files}
    ).fetchall()
    assert people == duckdb.execute(count, {"f": held}).fetchall()
    # each key's events at each site, as a report without a directory counts them
    sites = str(settings.data_dir / manifest.person_summary["sites"])  # type: ignore[index]
    by_site = """
        SELECT user_key, coalesce(site, '(no site)'), count(*) FROM read_parquet($files)
        GROUP BY ALL"""
    held_sites = "SELECT user_key, site, events FROM read_parquet($sites)"
    assert sorted(duckdb.execute(by_site, {"files": files}).fetchall()) == sorted(
        duckdb.execute(held_sites, {"sites": sites}).fetchall()
    )
    assert manifest.person_summary["site_rows"] == len(  # type: ignore[index]
        duckdb.execute(held_sites, {"sites": sites}).fetchall()
    )
    # each key's contribution weeks, counted from Monday 1970-01-05 (UTC)
    weeks = str(settings.data_dir / manifest.person_summary["weeks"])  # type: ignore[index]
    by_week = """
        SELECT DISTINCT user_key, datediff('day', DATE '1970-01-05', (ts AT TIME ZONE 'UTC')::DATE) // 7
        FROM read_parquet($files) WHERE event_type IN ('post', 'comment')"""
    held_weeks = "SELECT user_key, week FROM read_parquet($weeks)"
    assert sorted(duckdb.execute(by_week, {"files": files}).fetchall()) == sorted(
        duckdb.execute(held_weeks, {"weeks": weeks}).fetchall()
    )


@pytest.mark.parametrize(("seed", "directory"), [(3, True), (11, False)])
def test_the_summary_never_changes_a_figure(tmp_path: Path, seed: int, directory: bool) -> None:
    settings, _ = _organisation(tmp_path, seed, directory=directory)
    _summary_is_the_full_aggregate(settings)
    scan = _full_scan(settings)
    # windows at the end, in the middle (firsts after as_of), and at the history's start
    for as_of, days in ((END, 30), (END, 90), (date(2026, 2, 14), 28), (date(2025, 12, 20), 14)):
        ours = _report(settings, as_of, days)
        assert _movement(ours) and any(row[1] for row in _movement(ours)), "movement measured"
        assert ours == _report(scan, as_of, days), (as_of, days)


def test_an_ingest_that_brings_nobody_new_keeps_the_summary_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
    ingest_paths([write(tmp_path / "a.csv", first)], settings)
    before = read_manifest(settings.data_dir).person_summary
    later = "timestamp,user,event_type\n2026-03-09T09:00:00Z,a@x.fr,comment\n"
    ingest_paths([write(tmp_path / "b.csv", later)], settings)
    after = read_manifest(settings.data_dir).person_summary
    assert before is not None and after is not None
    assert after["path"] == before["path"] and after["events"] != before["events"]
    _summary_is_the_full_aggregate(settings)
    earlier = "timestamp,user,event_type\n2026-01-05T09:00:00Z,a@x.fr,read\n"
    ingest_paths([write(tmp_path / "c.csv", earlier)], settings)
    assert read_manifest(settings.data_dir).person_summary["path"] != before["path"]  # type: ignore[index]
    _summary_is_the_full_aggregate(settings)


@pytest.mark.parametrize(("seed", "directory"), [(5, True), (13, False)])
def test_forget_and_prune_rebuild_the_summary(tmp_path: Path, seed: int, directory: bool) -> None:
    settings, emails = _organisation(tmp_path, seed, directory=directory)
    forget_person(emails[:3], settings)
    _summary_is_the_full_aggregate(settings)
    assert _report(settings, END) == _report(_full_scan(settings), END)
    # prune the first two months: the people first seen then are first seen later now
    keep = (END - date(2026, 1, 1)).days
    prune(settings, keep_days=keep, today=END)
    _summary_is_the_full_aggregate(settings)
    assert _report(settings, END, 90) == _report(_full_scan(settings), END, 90)


def test_a_store_without_a_summary_scans_the_history(tmp_path: Path) -> None:
    """A store written before the summary existed (or whose summary misses a file): the
    manifest's fingerprint differs and the report reads the history, with the same figures."""
    settings, _ = _organisation(tmp_path, 7, directory=True)
    manifest = read_manifest(settings.data_dir)
    assert person_summary.usable(settings.data_dir, manifest) is not None
    manifest.event_files = manifest.event_files[1:]
    assert person_summary.usable(settings.data_dir, manifest) is None
    assert _report(settings, END - timedelta(days=10)) == _report(
        _full_scan(settings), END - timedelta(days=10)
    )


def test_without_a_directory_the_headcounts_sites_come_from_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a directory each person counts at their most frequent site up to as_of (the
    headcount) and up to the window's start (the previous window's): both from the
    summary's events per site less the events from that day on, not from the history."""
    settings, _ = _organisation(tmp_path, 17, directory=False)
    asked: list[tuple[date, bool]] = []
    real = person_summary.site_counts

    def spy(data_dir: Path, manifest: Any, before: date) -> Any:
        found = real(data_dir, manifest, before)
        asked.append((before, found is not None))
        return found

    monkeypatch.setattr(person_summary, "site_counts", spy)
    ours = _report(settings, END, 60)
    assert asked == [(END + timedelta(days=1), True), (END - timedelta(days=59), True)]
    assert ours == _report(_full_scan(settings), END, 60)
    # a window early in the history: the events since its start outnumber those before
    # it, the scan reads less and is used
    asked.clear()
    early = _report(settings, date(2025, 12, 10), 14)
    assert [used for _, used in asked] == [False, False]
    assert early == _report(_full_scan(settings), date(2025, 12, 10), 14)


def test_a_summary_without_site_counts_is_completed_by_the_next_ingest(tmp_path: Path) -> None:
    """A store whose summary was written before it held the events per site and the
    contribution weeks: reports scan for them, and the next ingest adds them."""
    settings = Settings(data_dir=tmp_path / "data")
    first = "timestamp,user,event_type,site\n2026-03-02T09:00:00Z,a@x.fr,post,Lyon\n"
    ingest_paths([write(tmp_path / "a.csv", first)], settings)
    data = json.loads((settings.data_dir / MANIFEST).read_text(encoding="utf-8"))
    for key in ("sites", "site_rows", "weeks", "week_rows"):
        del data["person_summary"][key]
    (settings.data_dir / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    manifest = read_manifest(settings.data_dir)
    assert person_summary.usable(settings.data_dir, manifest) is not None
    assert person_summary.site_counts(settings.data_dir, manifest, date(2026, 4, 1)) is None
    weeks = (date(2026, 2, 2), date(2026, 3, 30))
    assert person_summary.contribution_weeks(settings.data_dir, manifest, *weeks) is None
    later = "timestamp,user,event_type,site\n2026-03-09T09:00:00Z,b@x.fr,comment,Nantes\n"
    ingest_paths([write(tmp_path / "b.csv", later)], settings)
    manifest = read_manifest(settings.data_dir)
    assert person_summary.site_counts(settings.data_dir, manifest, date(2026, 4, 1)) is not None
    assert person_summary.contribution_weeks(settings.data_dir, manifest, *weeks) is not None
    _summary_is_the_full_aggregate(settings)


def test_site_counts_before_any_day_are_the_scans(tmp_path: Path) -> None:
    """The summary's events per person and site less those from a day on are the scan's
    counts before that day, on every day the summary is chosen (the events from that day
    on no more than those before it) — the middle of the history included."""
    settings, _ = _organisation(tmp_path, 19, directory=False)
    manifest = read_manifest(settings.data_dir)
    files = [str(settings.data_dir / p) for p in manifest.event_paths()]
    scan = """
        SELECT user_key, coalesce(site, '(no site)'), count(*) FROM read_parquet($files)
        WHERE ts < $before::TIMESTAMPTZ GROUP BY ALL"""
    chosen = []
    days = [START + timedelta(days=d) for d in range(0, (END - START).days, 9)]
    for day in [*days, END + timedelta(days=1)]:
        found = person_summary.site_counts(settings.data_dir, manifest, day)
        if found is None:
            continue
        chosen.append(day)
        query, params = found
        ours = sorted(duckdb.execute(query, params).fetchall())
        assert ours == sorted(
            duckdb.execute(scan, {"files": files, "before": day.isoformat()}).fetchall()
        ), day
    assert chosen[0] < date(2026, 4, 1) and chosen[-1] > END, "mid-history and end days"


def test_contribution_weeks_between_two_mondays_are_the_scans(tmp_path: Path) -> None:
    """The forecast's lookback reads each person's contribution weeks before as_of's week
    from the summary: the weeks the scan of the events finds, counted from the first
    Monday, for any two Mondays (before the history, inside it, after it)."""
    settings, _ = _organisation(tmp_path, 23, directory=False)
    manifest = read_manifest(settings.data_dir)
    files = [str(settings.data_dir / p) for p in manifest.event_paths()]
    scan = """
        SELECT DISTINCT user_key,
               (epoch_us(ts) - epoch_us($first::TIMESTAMPTZ)) // 604800000000
        FROM read_parquet($files)
        WHERE ts >= $first::TIMESTAMPTZ AND ts < $last::TIMESTAMPTZ
          AND event_type IN ('post', 'comment')"""
    mondays = [date(2025, 10, 6), date(2025, 12, 29), date(2026, 3, 2), date(2026, 5, 4)]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for first in mondays:
        for last in (m for m in mondays if m >= first):
            found = person_summary.contribution_weeks(settings.data_dir, manifest, first, last)
            assert found is not None
            ours = sorted(con.execute(*found).fetchall())
            params = {"files": files, "first": first.isoformat(), "last": last.isoformat()}
            assert ours == sorted(con.execute(scan, params).fetchall()), (first, last)
            assert ours or first == last or last <= START
