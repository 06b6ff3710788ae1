"""Slack messages `fetch slack` read through the Web API, made events by the Slack export
reader's own function, in memory (docs/architecture.md): one definition of an event, so a
message has the same event id (`channel:ts`) fetched or exported. Also what reconciles a
fetch with a partial export ingested before it, whose folders are keyed by channel name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from .. import store
from . import canonical, slack_days
from .canonical import Batch, ReadContext
from .slack_export import _Events, people_of

#: The ledger's `source` of a fetched channel (fetch/slack.py's SOURCE).
FETCHED_SOURCE = "slack-api"


def fetched_reader(
    messages: list[dict[str, Any]],
    channel: tuple[str, str],
    users: Iterable[dict[str, Any]],
    stored_by_name: frozenset[str] = frozenset(),
) -> Callable[[ReadContext], Iterator[Batch]]:
    """The events of one channel's messages as `fetch slack` read them (`channel` is its
    id and name), for `ingest.fetched.ingest_fetched`: the rows of `slack_days.
    message_events` — the function that makes a day file's rows — turned into canonical
    events as an export's are. Nothing is written to disk. `stored_by_name` holds the ids,
    without their channel, of events the store already has under the channel's name (see
    `stored_by_name`): those are left out, and a note says so."""
    channel_id, name = channel

    def read(context: ReadContext) -> Iterator[Batch]:
        people, bots = people_of(users)
        part = slack_days.message_events(
            messages, f"#{name}", (channel_id, name, True), frozenset(bots), people
        )
        notes: tuple[str, ...] = ()
        if stored_by_name:
            part.rows, known = _leave_out(part.rows, channel_id, stored_by_name)
            if known:
                notes = (
                    f"{known} event(s) already stored from a Slack export without "
                    f"channels.json (folder {name}, keyed by that name): not counted again",
                )
        events = _Events(Path(context.source_file))
        events.add(part)
        if len(events):
            yield events.flush(context)
        rejects = canonical.rejects_table(*events.rejects) if events.rejects[0] else None  # type: ignore[arg-type]
        yield Batch(rejects=rejects, notes=notes)

    return read


def _leave_out(rows: pa.Table, channel_id: str, ids: frozenset[str]) -> tuple[pa.Table, int]:
    """`rows` without those whose event id is `channel_id:` and one of `ids`, and how many
    were left out."""
    import pyarrow.compute as pc

    prefix = f"{channel_id}:"
    known = pa.array(sorted(prefix + i for i in ids), pa.string())
    stored = pc.is_in(rows.column("event_id"), value_set=known)
    kept = rows.filter(pc.invert(stored))
    return kept, rows.num_rows - kept.num_rows


def named_channels(data_dir: Path, manifest: store.Manifest) -> frozenset[str]:
    """The spaces of Slack events the store keys by channel name, not id (ids are upper
    case, names lower): a partial export's folders, ingested before any fetch of the
    channel. One query a run, and only when the store holds a Slack export."""
    import duckdb

    ledger = manifest.ledger
    if not any(e.get("format") == "slack" and e.get("source") != FETCHED_SOURCE for e in ledger):
        return frozenset()
    with store.reading(data_dir) as held:
        paths = [
            str(data_dir / e["path"]) for e in held.event_files if e.get("source_format") == "slack"
        ]
        if not paths:
            return frozenset()
        with duckdb.connect() as con:
            rows = con.execute(
                "SELECT DISTINCT space FROM read_parquet($paths) "
                "WHERE NOT regexp_matches(event_id, '^[A-Z0-9]+:')",
                {"paths": paths},
            ).fetchall()
    return frozenset(str(r[0]) for r in rows)


def stored_by_name(
    data_dir: Path, name: str, messages: Iterable[str], wait_seconds: float
) -> frozenset[str]:
    """The ids, less their `name:` prefix, of the events the store holds under channel
    `name` in the months of `messages` (their `ts`): those of an export without
    channels.json ingested before the channel was first fetched, which keyed its folder
    by name."""
    import duckdb

    months = {datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m") for ts in messages}
    with store.reading(data_dir, wait_seconds) as manifest:
        paths = [
            str(data_dir / e["path"])
            for e in manifest.event_files
            if e.get("source_format") == "slack" and e.get("month") in months
        ]
        if not paths:
            return frozenset()
        prefix = f"{name}:"
        with duckdb.connect() as con:
            rows = con.execute(
                "SELECT DISTINCT event_id FROM read_parquet($paths) "
                "WHERE space = $name AND starts_with(event_id, $prefix)",
                {"paths": paths, "name": name, "prefix": prefix},
            ).fetchall()
    return frozenset(str(r[0])[len(prefix) :] for r in rows)
