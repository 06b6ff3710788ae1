"""The per-person summary of the stored events: for each person key, the first event and
the first contribution (post or comment) ever stored, so that a report's movement reads
the window's events and this summary instead of the whole history (docs/store.md).

One Parquet file (`summary/*.parquet`: user_key, first_ts, first_contribution), named in
the manifest with the fingerprint of the event files it was computed from. Every commit
that changes the event files refreshes it (`refresh`): when the files it covered are all
still there (ingest only adds files), the new files' firsts are merged in; when one is gone
(`forget` and `prune` rewrite or drop files) it is rebuilt from every event file. A report
uses it only when its fingerprint is the manifest's (`usable`), else scans the history as
before: the summary never changes a figure, it only spares the scan.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb

from . import store
from .event_files import copy_rows

#: What counts as a contribution (docs/metrics.md): the movement's definition too.
CONTRIBUTION_SQL = "event_type IN ('post', 'comment')"

_FIRSTS_SQL = f"""
    SELECT user_key, min(ts) AS first_ts,
           min(ts) FILTER (WHERE {CONTRIBUTION_SQL}) AS first_contribution
    FROM read_parquet($files) GROUP BY user_key
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


def refresh(
    tx: store.WriteTransaction, con: duckdb.DuckDBPyConnection, manifest: store.Manifest
) -> None:
    """Bring `manifest`'s summary up to its event files before `tx` commits it: merge the
    firsts of the files added since the committed summary, or rebuild from every file when
    one it covered is gone. A dry run leaves it (its files are deleted anyway)."""
    if tx.dry_run:
        return
    events = fingerprint(manifest.event_files)
    entry = manifest.person_summary
    if entry and entry.get("events") == events:
        return
    if not manifest.event_files:
        manifest.person_summary = None
        return
    before = tx.manifest
    held = usable(tx.data_dir, before) if before.person_summary == entry else None
    now = {f["path"] for f in manifest.event_files}
    covered = {f["path"] for f in before.event_files}
    target = tx.new_data_path("summary")
    if held is not None and entry is not None and covered <= now:
        added = store.path_list([tx.data_dir / p for p in sorted(now - covered)])
        if not added:
            manifest.person_summary = {**entry, "events": events}
            return
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
            manifest.person_summary = {**entry, "events": events}
            return
        rows = copy_rows(
            con,
            f"""SELECT user_key, min(first_ts) AS first_ts,
                   min(first_contribution) AS first_contribution
            FROM (SELECT * FROM read_parquet($held) UNION ALL {_FIRSTS_SQL})
            GROUP BY user_key""",  # noqa: S608
            params,
            target,
        )
    else:
        every = store.path_list([tx.data_dir / f["path"] for f in manifest.event_files])
        rows = copy_rows(con, _FIRSTS_SQL, {"files": every}, target)
    store.fsync_file(target)
    manifest.person_summary = {"path": tx.relative(target), "events": events, "people": rows}
