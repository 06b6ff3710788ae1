"""Right to erasure: `rse-adoption forget USER...` removes one person from the store.

The identifiers given (e-mail, employee id: all those of one person) are turned into person
keys with the store's secret; the directory adds the person's other key. Then, in one
atomic commit:
- every event the person made is removed, and their key is blanked out of other people's
  events (`target_user_key`: the reply or reaction stays, the link to them goes);
- their directory row is removed, and so are their rows of activity periods and of the
  platforms' member lists (a Slack export's users.json);
- quarantined rows whose raw text contains one of the identifiers are removed;
- the manifest records that an erasure happened, when and how much it removed, but not
  whom (no identifier, no key).
Rewritten files replace the old ones, which are deleted at once unless a report is reading
them (then by the next command that writes). Exports kept outside the store are not
touched: a later ingest of a new export naming the person brings them back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import person_summary, store
from .config import Settings
from .errors import DataError
from .event_files import copy_events, copy_rows
from .metrics.engine import connect_duckdb as utc_connection
from .privacy import load_or_create_secret, normalise_identifier, person_key


@dataclass
class ErasureSummary:
    """What `forget` removed (or would remove, with `dry_run`); never whom."""

    events_removed: int = 0
    links_removed: int = 0
    activity_rows_removed: int = 0
    member_rows_removed: int = 0
    directory_rows_removed: int = 0
    quarantine_rows_removed: int = 0
    files_rewritten: int = 0
    dry_run: bool = False
    #: The superseded files were deleted at once (False: a reader held them, the next
    #: writer deletes them); None in a dry run, which deletes nothing.
    old_files_deleted: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def forget_person(
    identifiers: list[str], settings: Settings, *, dry_run: bool = False, wait_seconds: float = 0.0
) -> ErasureSummary:
    """Erase the person named by `identifiers` from the store at `settings.data_dir`."""
    raw = [i.strip() for i in identifiers if i.strip()]
    if not raw:
        raise DataError("forget needs the person's e-mail or employee id")
    store.require_store(settings.data_dir)
    summary = ErasureSummary(dry_run=dry_run)
    with store.writing(settings.data_dir, wait_seconds) as tx:
        secret = load_or_create_secret(settings.data_dir)
        keys = {person_key(secret, r) for r in raw}
        manifest = tx.manifest.copy()
        keys |= _directory_keys(tx, manifest, keys, summary)
        con = utc_connection()
        try:
            _erase_events(con, tx, manifest, sorted(keys), summary)
            _erase_activity(con, tx, manifest, sorted(keys), summary)
            _erase_members(con, tx, manifest, sorted(keys), summary)
            if not dry_run:  # the person's first event and contribution go too
                person_summary.refresh(tx, con, manifest)
        finally:
            con.close()
        _erase_quarantine(tx, manifest, raw, summary)
        if dry_run:
            return summary  # old_files_deleted stays None: nothing was deleted
        manifest.erasures.append(
            {
                "at": store.utc_now_iso(),
                **{k: v for k, v in summary.to_dict().items() if k.endswith("_removed")},
            }
        )
        tx.commit(manifest)
        summary.old_files_deleted = store.remove_orphans_unless_read(tx.data_dir, manifest)
    return summary


def _directory_keys(
    tx: store.WriteTransaction, manifest: store.Manifest, keys: set[int], summary: ErasureSummary
) -> set[int]:
    """The person's other keys (e-mail and employee id) from the directory, whose row is
    dropped from `manifest` (rewritten file)."""
    if not manifest.directory:
        return set()
    table = pq.read_table(tx.data_dir / manifest.directory["path"])
    key_values = pa.array(sorted(keys), pa.int64())
    match = pc.or_(
        pc.is_in(table.column("person_key"), value_set=key_values),
        pc.fill_null(pc.is_in(table.column("alt_key"), value_set=key_values), False),
    )
    found = table.filter(match)
    if not found.num_rows:
        return set()
    summary.directory_rows_removed = found.num_rows
    others = set(found.column("person_key").to_pylist())
    others |= {k for k in found.column("alt_key").to_pylist() if k is not None}
    if not summary.dry_run:
        kept = table.filter(pc.invert(match))
        target = tx.new_data_path("directory")
        pq.write_table(kept, target)
        store.fsync_file(target)
        manifest.directory = {
            **manifest.directory,
            "path": tx.relative(target),
            "rows": kept.num_rows,
        }
        summary.files_rewritten += 1
    return others


def _erase_events(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    keys: list[int],
    summary: ErasureSummary,
) -> None:
    kept_entries = []
    for entry in manifest.event_files:
        path = str(tx.data_dir / entry["path"])
        params = {"file": path, "keys": keys}
        own, links = con.execute(
            "SELECT count(*) FILTER (WHERE list_contains($keys, user_key)), "
            "count(*) FILTER (WHERE list_contains($keys, target_user_key) "
            "AND NOT list_contains($keys, user_key)) FROM read_parquet($file)",
            params,
        ).fetchall()[0]
        if not own and not links:
            kept_entries.append(entry)
            continue
        summary.events_removed += int(own)
        summary.links_removed += int(links)
        if summary.dry_run:
            kept_entries.append(entry)
            continue
        target = tx.new_data_path(f"events/month={entry['month']}")
        rows, days = copy_events(
            con,
            "SELECT * REPLACE (CASE WHEN list_contains($keys, target_user_key) "
            "THEN NULL ELSE target_user_key END AS target_user_key) "
            "FROM read_parquet($file) WHERE NOT list_contains($keys, user_key)",
            params,
            target,
        )
        summary.files_rewritten += 1
        if days is not None:
            kept_entries.append({**entry, "path": tx.relative(target), "rows": rows, **days})
    manifest.event_files = kept_entries


def _erase_activity(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    keys: list[int],
    summary: ErasureSummary,
) -> None:
    """The person's rows of activity periods (Microsoft 365, Slack analytics)."""
    kept_entries = []
    for entry in manifest.activity_files:
        params = {"file": str(tx.data_dir / entry["path"]), "keys": keys}
        own = _own_rows(con, params)
        if not own or summary.dry_run:
            summary.activity_rows_removed += int(own)
            kept_entries.append(entry)
            continue
        summary.activity_rows_removed += int(own)
        summary.files_rewritten += 1
        target = tx.new_data_path("activity")
        rows = copy_rows(
            con,
            "SELECT * FROM read_parquet($file) WHERE NOT list_contains($keys, person_key)",
            params,
            target,
        )
        if not rows and int(entry["period_days"]) != 1:
            target.unlink(missing_ok=True)
            continue
        # A day emptied of its one person stays held, with zero activity: dropped, the
        # fetcher would take it for a day missing and fetch the person back.
        store.fsync_file(target)
        concealed = con.execute(
            "SELECT count(*) FILTER (WHERE concealed) FROM read_parquet($file)",
            {"file": str(target)},
        ).fetchall()[0][0]
        kept_entries.append(
            {**entry, "path": tx.relative(target), "rows": rows, "concealed_rows": int(concealed)}
        )
    manifest.activity_files = kept_entries


def _own_rows(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> int:
    """Rows of `params["file"]` keyed by one of `params["keys"]`."""
    return int(
        con.execute(
            "SELECT count(*) FILTER (WHERE list_contains($keys, person_key)) "
            "FROM read_parquet($file)",
            params,
        ).fetchall()[0][0]
    )


def _erase_members(
    con: duckdb.DuckDBPyConnection,
    tx: store.WriteTransaction,
    manifest: store.Manifest,
    keys: list[int],
    summary: ErasureSummary,
) -> None:
    """The person's row of each member list (kept, if emptied: the list still replaces
    the next older export's)."""
    kept_entries = []
    for entry in manifest.member_files:
        params = {"file": str(tx.data_dir / entry["path"]), "keys": keys}
        own = _own_rows(con, params)
        summary.member_rows_removed += int(own)
        if not own or summary.dry_run:
            kept_entries.append(entry)
            continue
        target = tx.new_data_path("members")
        rows = copy_rows(
            con,
            "SELECT * FROM read_parquet($file) WHERE NOT list_contains($keys, person_key)",
            params,
            target,
        )
        store.fsync_file(target)
        summary.files_rewritten += 1
        kept_entries.append({**entry, "path": tx.relative(target), "rows": rows})
    manifest.member_files = kept_entries


def _erase_quarantine(
    tx: store.WriteTransaction, manifest: store.Manifest, raw: list[str], summary: ErasureSummary
) -> None:
    """Quarantined rows keep the raw text of the line: drop those naming the person."""
    needles = [normalise_identifier(r) for r in raw]
    kept_entries = []
    for entry in manifest.quarantine_files:
        table = pq.read_table(tx.data_dir / entry["path"])
        text = pc.utf8_lower(pc.fill_null(table.column("raw"), ""))
        match = pc.match_substring(text, needles[0])
        for needle in needles[1:]:
            match = pc.or_(match, pc.match_substring(text, needle))
        removed = pc.sum(match).as_py() or 0
        if not removed:
            kept_entries.append(entry)
            continue
        summary.quarantine_rows_removed += removed
        if summary.dry_run:
            kept_entries.append(entry)
            continue
        kept = table.filter(pc.invert(match))
        summary.files_rewritten += 1
        if not kept.num_rows:
            continue
        target = tx.new_data_path("quarantine")
        pq.write_table(kept, target)
        store.fsync_file(target)
        kept_entries.append({**entry, "path": tx.relative(target), "rows": kept.num_rows})
    manifest.quarantine_files = kept_entries
