"""What an ingest records in the manifest beside a file's events and periods: the member
list an export gives (it replaces the one held for its format), and the input files found
in no known format (`status` warns of them until they are dealt with)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from .. import store
from .registry import NOT_AN_EXPORT, Format

if TYPE_CHECKING:
    from .canonical import Members
    from .pipeline import FileResult


def record_skipped(tx: store.WriteTransaction, outcomes: dict[str, FileResult]) -> None:
    """Keep the list of files found in no known format (`status` warns of them until they
    are dealt with): add this run's, drop those of paths it ingested or found unchanged."""
    kept = [
        s
        for s in tx.manifest.skipped_files
        if outcomes.get(s["path"]) is None or outcomes[s["path"]].status == "error"
    ]
    now = store.utc_now_iso()
    kept += [
        {"path": path, "reason": result.message or "", "skipped_at": now}
        for path, result in outcomes.items()
        if result.status == "skipped"
        and not (result.message or "").split(": ", 1)[-1].startswith(NOT_AN_EXPORT)
    ]
    if kept != tx.manifest.skipped_files:
        manifest = tx.manifest.copy()
        manifest.skipped_files = kept
        tx.commit(manifest)


def replace_members(
    tx: store.WriteTransaction, module: Format, members: Members, manifest: store.Manifest
) -> None:
    """The file's member list replaces the one held for its format, with the file's commit
    (the superseded file becomes an orphan), unless the one held describes a later day (an
    older export ingested after a newer one) or is the same list (the same export again)."""
    held = [e for e in manifest.member_files if e["source_format"] == module.NAME]
    if any(e["listed_on"] > members.listed_on.isoformat() for e in held):
        return
    if any(
        e["listed_on"] == members.listed_on.isoformat()
        and pq.read_table(tx.data_dir / e["path"]).equals(members.keys)
        for e in held
    ):
        return
    target = tx.new_data_path("members")
    pq.write_table(members.keys, target)
    store.fsync_file(target)
    manifest.member_files = [e for e in manifest.member_files if e not in held]
    manifest.member_files.append(
        {
            "path": tx.relative(target),
            "source_format": module.NAME,
            "listed_on": members.listed_on.isoformat(),
            "rows": members.keys.num_rows,
        }
    )
