"""A large Slack export's day files are parsed in worker processes (ingest/slack_days.py):
the store must hold exactly what parsing them in the ingesting process gives — the same
events, the same quarantined rows — and a worker's error must stop the ingest as it would
have stopped it there, storing nothing."""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import duckdb
import pytest

from rse_adoption.config import Settings
from rse_adoption.ingest import archive, slack_days, slack_export
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.store import read_manifest

PEOPLE = [f"U{i:03d}" for i in range(12)]
BOT = "U0BOT"


def _message(rng: random.Random, second: int, thread: str | None) -> object:
    """A message as Slack writes them, now and then odd (no ts, a bot, a join, a list
    instead of an object, a legacy file comment, reactions by people and by the bot)."""
    draw = rng.random()
    if draw < 0.03:
        return ["not", "a", "message"]
    ts = f"{1_774_900_000 + second}.{rng.randrange(10**6):06d}"
    message: dict[str, object] = {"type": "message", "user": rng.choice(PEOPLE), "ts": ts}
    if draw < 0.06:
        del message["ts"]
    elif draw < 0.1:
        message["user"] = BOT
    elif draw < 0.13:
        message["subtype"] = "channel_join"
    elif draw < 0.16:
        message.update(subtype="file_comment", comment={"user": rng.choice(PEOPLE)})
        message["file"] = {"user": rng.choice(PEOPLE)}
        del message["user"]
    if thread and rng.random() < 0.4:
        message.update(thread_ts=thread, parent_user_id=rng.choice(PEOPLE))
    if rng.random() < 0.3:
        reactors = rng.sample([*PEOPLE, BOT], rng.randrange(1, 5))
        message["reactions"] = [{"name": "tada", "users": reactors, "count": len(reactors)}]
    return message


def write_export(path: Path, days: int = 12, seed: int = 3) -> Path:
    """A zip of three channels and a direct message over `days` days, with users.json,
    channels.json and dms.json, and one day file that is not JSON."""
    rng = random.Random(seed)
    users = [{"id": p, "profile": {"email": f"{p.lower()}@corp.example"}} for p in PEOPLE[:-2]]
    users += [{"id": PEOPLE[-2], "profile": {}}, {"id": BOT, "is_bot": True}]
    channels = [{"id": f"C{i}", "name": name} for i, name in enumerate(["general", "ops", "rh"])]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("users.json", json.dumps(users))
        bundle.writestr("channels.json", json.dumps(channels))
        bundle.writestr("dms.json", json.dumps([{"id": "D1", "name": "D1"}]))
        for folder in ["general", "ops", "rh", "D1", "unlisted"]:
            for day in range(1, days + 1):
                thread = None
                messages = []
                for i in range(rng.randrange(0, 30)):
                    message = _message(rng, day * 86_400 + i * 60, thread)
                    if isinstance(message, dict) and "ts" in message and rng.random() < 0.2:
                        thread = str(message["ts"])
                    messages.append(message)
                bundle.writestr(f"{folder}/2026-03-{day:02d}.json", json.dumps(messages, indent=4))
        bundle.writestr("ops/2026-04-01.json", b'[{"ts": "1774900000.1", "user": ')
    return path


def stored(data_dir: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every stored event and quarantined row, sorted."""
    manifest = read_manifest(data_dir)
    events = [str(data_dir / p) for p in manifest.event_paths()]
    rejects = [str(data_dir / f["path"]) for f in manifest.quarantine_files]
    rows = duckdb.execute(
        "SELECT * FROM read_parquet($files) ORDER BY ALL", {"files": events}
    ).fetchall()
    quarantined = duckdb.execute(
        "SELECT * FROM read_parquet($files) ORDER BY ALL", {"files": rejects}
    ).fetchall()
    return rows, quarantined


def ingest(export: Path, data_dir: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv(slack_export.WORKERS_VARIABLE, str(workers))
    monkeypatch.setenv("RSE_ADOPTION_SECRET", "the same keys in every store")
    monkeypatch.setattr(slack_export, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(slack_export, "GROUP_BYTES", 4_000)  # many ranges, a few files each
    return ingest_paths([export], Settings(data_dir=data_dir))


def test_workers_store_exactly_what_the_ingesting_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = write_export(tmp_path / "export.zip")
    alone = ingest(export, tmp_path / "alone", 1, monkeypatch)
    shared = ingest(export, tmp_path / "shared", 3, monkeypatch)
    assert alone.rows_ingested > 300 and alone.quarantined > 10  # type: ignore[attr-defined]
    assert (shared.rows_ingested, shared.quarantined, shared.duplicates) == (  # type: ignore[attr-defined]
        alone.rows_ingested,  # type: ignore[attr-defined]
        alone.quarantined,  # type: ignore[attr-defined]
        alone.duplicates,  # type: ignore[attr-defined]
    )
    assert stored(tmp_path / "shared") == stored(tmp_path / "alone")


def test_an_unreadable_member_stops_the_ingest_from_a_worker_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = write_export(tmp_path / "export.zip", days=4)
    target = "rh/2026-03-03.json"
    with zipfile.ZipFile(export) as bundle:
        info = bundle.getinfo(target)
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(export.read_bytes())
    for i in range(offset + 5, offset + info.compress_size - 5):
        data[i] ^= 0x5A  # the member's deflated bytes garbled: zlib or the CRC check fails
    export.write_bytes(bytes(data))
    result = ingest(export, tmp_path / "data", 2, monkeypatch).details[0]  # type: ignore[attr-defined]
    assert result.status == "error"
    assert "member 'rh/2026-03-03.json' cannot be read" in result.message
    assert not read_manifest(tmp_path / "data").event_paths()


def test_workers_are_used_from_a_size_on_and_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(slack_export.WORKERS_VARIABLE, raising=False)
    assert slack_export.workers_for(slack_export.PARALLEL_BYTES - 1) == 1
    assert 1 <= slack_export.workers_for(slack_export.PARALLEL_BYTES) <= 2  # memory: two at most
    monkeypatch.setenv(slack_export.WORKERS_VARIABLE, "1")
    assert slack_export.workers_for(10 * slack_export.PARALLEL_BYTES) == 1
    monkeypatch.setenv(slack_export.WORKERS_VARIABLE, "3")
    assert slack_export.workers_for(slack_export.PARALLEL_BYTES) == 3


def test_ranges_cover_every_day_file_once_in_order() -> None:
    monkey_sizes = [5_000, 1, 1, 9_000_000, 2, 3, 8 << 20, 4]
    ranges = slack_export._ranges(monkey_sizes)
    assert [i for start, stop in ranges for i in range(start, stop)] == list(range(8))
    assert all(start < stop for start, stop in ranges)


@pytest.mark.parametrize(
    "text",
    [
        '[{"ts": "1.5", "n": NaN}]',  # the standard library reads NaN, orjson does not
        '"\\ud800"',  # a lone surrogate
        '\ufeff[{"a": 1}]',  # a byte-order mark
        '[1, 2.5, "é", null, true, {"x": [ ]}]',
    ],
)
def test_day_files_are_read_as_the_standard_library_reads_them(text: str) -> None:
    read = slack_days.parse_json(text.encode("utf-8", "surrogatepass"))
    expected = json.loads(text.encode("utf-8", "surrogatepass").decode("utf-8-sig"))
    assert json.dumps(read) == json.dumps(expected)


def test_invalid_json_is_the_standard_librarys_error() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        slack_days.parse_json(b'[{"ts": ')


def test_a_zip_opened_again_in_one_ingest_is_listed_once(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.zip", days=2)
    with archive.shared_listings():
        first, second = archive.Bundle(export), archive.Bundle(export)
        assert first._zip is second._zip  # one listing, one open file
        first.close()
        assert second.read("users.json")  # closing one Bundle leaves the shared zip open
        shared = second._zip
    assert shared is not None and shared.fp is None  # closed at the end of the block
    alone = archive.Bundle(export)
    assert alone._zip is not shared
    alone.close()


def test_a_worker_that_dies_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = write_export(tmp_path / "export.zip", days=3)
    real_start = slack_export._start_workers

    def killed_at_start(path: Path, workers: int):  # type: ignore[no-untyped-def]
        processes = real_start(path, workers)
        processes[-1].kill()
        return processes

    monkeypatch.setattr(slack_export, "_start_workers", killed_at_start)
    result = ingest(export, tmp_path / "data", 2, monkeypatch).details[0]  # type: ignore[attr-defined]
    assert result.status == "error"
    assert "a worker reading the export stopped" in result.message
    assert not read_manifest(tmp_path / "data").event_paths()
