"""The per-person summary of the stored events: for each person key, the first event and
the first contribution (post or comment) ever stored, and for each person key and site the
number of events, so that a report reads the window's events and this summary instead of
the whole history (docs/store.md): movement's firsts, and without a directory each person's
most frequent site (the headcount, now and one window earlier).

Two Parquet files named in the manifest's `person_summary` with the fingerprint of the
event files they were computed from: `path` (user_key, first_ts, first_contribution; one
row per key) and `sites` (user_key, site, events; one row per key and site, the site as
reports count it: none is "(no site)"). Every commit that changes the event files refreshes
them (`refresh`): when the files they covered are all still there (ingest only adds files),
the new files' firsts and counts are merged in; when one is gone (`forget` and `prune`
rewrite or drop files) they are rebuilt from every event file. A report uses them only when
their fingerprint is the manifest's (`usable`, `site_counts`), else scans the history as
before: the summary never changes a figure, it only spares the scan.
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
    params: dict[str, Any] = {"site_counts": str(data_dir / entry["sites"])}
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


def refresh(
    tx: store.WriteTransaction, con: duckdb.DuckDBPyConnection, manifest: store.Manifest
) -> None:
    """Bring `manifest`'s summary up to its event files before `tx` commits it: merge the
    firsts and site counts of the files added since the committed summary, or rebuild from
    every file when one it covered is gone (or the committed summary holds no site counts).
    A dry run leaves it (its files are deleted anyway)."""
    if tx.dry_run:
        return
    events = fingerprint(manifest.event_files)
    entry = manifest.person_summary
    if entry and entry.get("events") == events and entry.get("sites"):
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
        sites = (
            _merge_sites(tx, con, entry, added)
            if entry.get("sites")
            else _write(tx, con, _SITES_SQL, {"files": every})
        )
    else:
        firsts = _write(tx, con, _FIRSTS_SQL, {"files": every})
        sites = _write(tx, con, _SITES_SQL, {"files": every})
    manifest.person_summary = {
        "path": firsts[0],
        "events": events,
        "people": firsts[1],
        "sites": sites[0],
        "site_rows": sites[1],
    }


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


def _merge_sites(
    tx: store.WriteTransaction,
    con: duckdb.DuckDBPyConnection,
    entry: dict[str, Any],
    added: list[str],
) -> tuple[str, int]:
    """The site counts file with the `added` event files' counts added."""
    if not added:
        return entry["sites"], int(entry["site_rows"])
    held = str(tx.data_dir / entry["sites"])
    return _write(
        tx,
        con,
        f"""SELECT user_key, site, sum(events)::BIGINT AS events
        FROM (SELECT * FROM read_parquet($held) UNION ALL {_SITES_SQL})
        GROUP BY ALL""",  # noqa: S608
        {"files": added, "held": held},
    )
