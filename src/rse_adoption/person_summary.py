"""The per-person summary of the stored events: for each person key, the first event and
the first contribution (post or comment) ever stored, for each person key and site the
number of events, and each person key's contribution weeks, so that a report reads the
window's events and this summary instead of the whole history (docs/store.md): movement's
firsts, without a directory each person's most frequent site (the headcount, now and one
window earlier), and the forecast's lookback of contribution weeks.

Three Parquet files named in the manifest's `person_summary` with the fingerprint of the
event files they were computed from: `path` (user_key, first_ts, first_contribution; one
row per key), `sites` (user_key, site, events; one row per key and site, the site as
reports count it: none is "(no site)") and `weeks` (user_key, week: the UTC weeks since
Monday 1970-01-05 with a post or comment; one row per key and week). Every commit that
changes the event files refreshes them (`refresh`): when the files they covered are all
still there (ingest only adds files), the new files' firsts, counts and weeks are merged
in; when one is gone (`forget` and `prune` rewrite or drop files) they are rebuilt from
every event file. A report uses them only when their fingerprint is the manifest's
(`usable`, `site_counts`, `contribution_weeks`), else scans the history as before: the
summary never changes a figure, it only spares the scan.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from . import store
from .event_files import copy_rows

#: What counts as a contribution (docs/metrics.md): the movement's definition too.
CONTRIBUTION_SQL = "event_type IN ('post', 'comment')"
#: The site a person's events are counted at without a directory (segments.py).
NO_SITE = "(no site)"

_FIRSTS_SQL = f"""
    SELECT user_key, min(ts) AS first_ts,
           min(ts) FILTER (WHERE {CONTRIBUTION_SQL}) AS first_contribution
    FROM read_parquet($files) GROUP BY user_key
"""  # noqa: S608 -- a constant

_SITES_SQL = f"""
    SELECT user_key, coalesce(site, '{NO_SITE}') AS site, count(*) AS events
    FROM read_parquet($files) GROUP BY ALL
"""  # noqa: S608 -- a constant

#: Contribution weeks are counted in whole UTC weeks since Monday 1970-01-05 (`week_index`).
WEEK_US = 7 * 86_400 * 1_000_000
_MONDAY_US = 4 * 86_400 * 1_000_000
_EPOCH_MONDAY = date(1970, 1, 5)

_WEEKS_SQL = f"""
    SELECT DISTINCT user_key, (epoch_us(ts) - {_MONDAY_US}) // {WEEK_US} AS week
    FROM read_parquet($files) WHERE {CONTRIBUTION_SQL}
"""  # noqa: S608 -- a constant

#: The per-key tables beside the firsts: manifest key -> (its rows' key, the query of the
#: files `$files`, the query merging the held file `$held` with the files').
_TABLES = {
    "sites": (
        "site_rows",
        _SITES_SQL,
        f"""SELECT user_key, site, sum(events)::BIGINT AS events
        FROM (SELECT * FROM read_parquet($held) UNION ALL {_SITES_SQL}) GROUP BY ALL""",  # noqa: S608
    ),
    "weeks": (
        "week_rows",
        _WEEKS_SQL,
        f"SELECT * FROM read_parquet($held) UNION {_WEEKS_SQL}",  # noqa: S608
    ),
}


def fingerprint(event_files: list[dict[str, Any]]) -> str:
    """The identity of a set of event files (their paths: a file is never rewritten in
    place, a change of content is a new path)."""
    paths = "\n".join(sorted(f["path"] for f in event_files))
    return hashlib.sha256(paths.encode()).hexdigest()


def usable(data_dir: Path, manifest: store.Manifest) -> str | None:
    """The summary file's path when it covers exactly the manifest's event files, else None
    (a store written before the summary existed, or an event file it has not seen)."""
    entry = manifest.person_summary
    if not entry or not manifest.event_files:
        return None
    if entry.get("events") != fingerprint(manifest.event_files):
        return None
    return str(data_dir / entry["path"])


def site_counts(
    data_dir: Path, manifest: store.Manifest, before: date
) -> tuple[str, dict[str, Any]] | None:
    """A query of (user_key, site, n): each key's number of events at each site with a
    timestamp before the day `before` (UTC), n > 0 — what `SELECT user_key,
    coalesce(site, '(no site)'), count(*) ... WHERE ts < before GROUP BY ALL` gives over the
    event files — and its parameters: the summary's counts less those of the events from
    `before` on. None when the summary does not cover the manifest's event files (or was
    written before it held the sites), or when the events from `before` on outnumber those
    before it (the scan reads less)."""
    entry = manifest.person_summary
    if usable(data_dir, manifest) is None or not entry or not entry.get("sites"):
        return None
    month = before.strftime("%Y-%m")
    last = date.fromordinal(before.toordinal() - 1).strftime("%Y-%m")
    tail = [f for f in manifest.event_files if f["month"] >= month]
    head = sum(int(f["rows"]) for f in manifest.event_files if f["month"] <= last)
    if sum(int(f["rows"]) for f in tail) > head:
        return None
    params: dict[str, Any] = {"site_counts": [str(data_dir / entry["sites"])]}
    query = "SELECT user_key, site, events AS n FROM read_parquet($site_counts)"
    if tail:
        params["site_tail"] = store.path_list([data_dir / f["path"] for f in tail])
        params["site_before"] = before.isoformat()
        query = f"""
            SELECT user_key, site, n FROM (
                SELECT user_key, site, sum(n)::BIGINT AS n FROM (
                    SELECT user_key, site, events AS n FROM read_parquet($site_counts)
                    UNION ALL
                    SELECT user_key, coalesce(site, '{NO_SITE}'), -count(*)
                    FROM read_parquet($site_tail)
                    WHERE ts >= $site_before::TIMESTAMPTZ GROUP BY ALL
                ) GROUP BY ALL
            ) WHERE n > 0"""  # noqa: S608 -- constants
    return query, params


def week_index(monday: date) -> int:
    """The summary's index of the week starting on `monday` (UTC)."""
    return (monday - _EPOCH_MONDAY).days // 7


def contribution_weeks(
    data_dir: Path, manifest: store.Manifest, first: date, last: date
) -> tuple[str, dict[str, Any]] | None:
    """A query of (user_key, week): the weeks from the Monday `first` to the week before
    the Monday `last` in which each key posted or commented, `week` counted from `first`
    — what `SELECT DISTINCT user_key, (epoch_us(ts) - epoch_us(first)) // WEEK_US ... WHERE
    ts >= first AND ts < last AND event_type IN ('post', 'comment')` gives over the event
    files — and its parameters. None when the summary does not cover the manifest's event
    files or was written before it held the weeks."""
    entry = manifest.person_summary
    if usable(data_dir, manifest) is None or not entry or not entry.get("weeks"):
        return None
    params = {
        "contribution_weeks": [str(data_dir / entry["weeks"])],
        "weeks_first": week_index(first),
        "weeks_last": week_index(last),
    }
    query = """SELECT user_key, week - $weeks_first AS week
        FROM read_parquet($contribution_weeks)
        WHERE week >= $weeks_first AND week < $weeks_last"""
    return query, params


def lookback_weeks(
    data_dir: Path, manifest: store.Manifest, look: Any, as_of: date
) -> tuple[list[str], tuple[str, dict[str, Any], date] | None]:
    """What the forecast's lookback (`look`: metrics.context.Lookback) reads for its
    contribution weeks up to as_of (segments.create_contribution_weeks): the event files of
    as_of's week and the weeks before it from the summary (`contribution_weeks`, with
    as_of's Monday), or, when the summary does not cover the store, every lookback file."""
    monday = date.fromordinal(as_of.toordinal() - as_of.weekday())
    held = contribution_weeks(data_dir, manifest, look.monday0, monday)
    if held is None:
        return look.files, None
    months = {monday.strftime("%Y-%m"), as_of.strftime("%Y-%m")}
    files = [data_dir / f["path"] for f in manifest.event_files if f["month"] in months]
    return store.path_list(files), (*held, monday)


def refresh(
    tx: store.WriteTransaction, con: duckdb.DuckDBPyConnection, manifest: store.Manifest
) -> None:
    """Bring `manifest`'s summary up to its event files before `tx` commits it: merge the
    firsts, site counts and contribution weeks of the files added since the committed
    summary, or rebuild from every file when one it covered is gone (a table the committed
    summary does not hold yet is built from every file). A dry run leaves it (its files
    are deleted anyway)."""
    if tx.dry_run:
        return
    events = fingerprint(manifest.event_files)
    entry = manifest.person_summary
    if entry and entry.get("events") == events and all(entry.get(t) for t in _TABLES):
        return
    if not manifest.event_files:
        manifest.person_summary = None
        return
    before = tx.manifest
    held = usable(tx.data_dir, before) if before.person_summary == entry else None
    now = {f["path"] for f in manifest.event_files}
    covered = {f["path"] for f in before.event_files}
    every = store.path_list([tx.data_dir / f["path"] for f in manifest.event_files])
    if held is not None and entry is not None and covered <= now:
        added = store.path_list([tx.data_dir / p for p in sorted(now - covered)])
        firsts = _merge_firsts(tx, con, entry, held, added)
    else:
        entry, added = None, []
        firsts = _write(tx, con, _FIRSTS_SQL, {"files": every})
    summary = {"path": firsts[0], "events": events, "people": firsts[1]}
    for name, (rows_key, query, merge) in _TABLES.items():
        if entry is None or not entry.get(name):  # rebuilt, or a summary without it
            summary[name], summary[rows_key] = _write(tx, con, query, {"files": every})
        elif not added:
            summary[name], summary[rows_key] = entry[name], int(entry[rows_key])
        else:
            params = {"files": added, "held": str(tx.data_dir / entry[name])}
            summary[name], summary[rows_key] = _write(tx, con, merge, params)
    manifest.person_summary = summary


def _write(
    tx: store.WriteTransaction, con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]
) -> tuple[str, int]:
    """`query`'s rows in a new summary file: (its path in the store, its rows)."""
    target = tx.new_data_path("summary")
    rows = copy_rows(con, query, params, target)
    store.fsync_file(target)
    return tx.relative(target), rows


def _merge_firsts(
    tx: store.WriteTransaction,
    con: duckdb.DuckDBPyConnection,
    entry: dict[str, Any],
    held: str,
    added: list[str],
) -> tuple[str, int]:
    """The firsts file with the `added` event files' merged in; the held file itself when
    they bring nobody new and nobody earlier."""
    if not added:
        return entry["path"], int(entry["people"])
    params: dict[str, Any] = {"files": added, "held": held}
    changed = con.execute(
        f"""SELECT count(*) FROM ({_FIRSTS_SQL}) n
        LEFT JOIN read_parquet($held) o USING (user_key)
        WHERE o.user_key IS NULL OR n.first_ts < o.first_ts
           OR n.first_contribution < o.first_contribution
           OR (o.first_contribution IS NULL AND n.first_contribution IS NOT NULL)""",  # noqa: S608
        params,
    ).fetchall()[0][0]
    if not changed:  # nobody new, nobody earlier: the file stands as it is
        return entry["path"], int(entry["people"])
    return _write(
        tx,
        con,
        f"""SELECT user_key, min(first_ts) AS first_ts,
               min(first_contribution) AS first_contribution
        FROM (SELECT * FROM read_parquet($held) UNION ALL {_FIRSTS_SQL})
        GROUP BY user_key""",  # noqa: S608
        params,
    )
