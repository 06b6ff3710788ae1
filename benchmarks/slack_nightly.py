"""Benchmark: what a nightly `fetch slack` costs, in requests and seconds (issue 27, item 6).

Workload: a workspace on the local fake of Slack's Web API (tests/fake_slack.py, HTTPS on
127.0.0.1), generated with a fixed seed: --channels (50) public channels with --days (90)
days of history, --per-day (8) top-level messages a channel a day, a quarter of them
threads of 1 to 6 replies over the next hours (some replies days later), reactions, 300
people. Pages hold 200 items, as Slack's do at the `limit` the fetcher asks.

Three runs of the fetcher with default settings, into one store:
- first: every channel's whole history (every thread's replies read);
- quiet night: the next night, nothing new;
- nightly: a day of activity (--per-day new messages a channel, their threads) and
  --late (3) late replies a channel to threads 30 to 89 days old.
For each: requests by method, seconds on the fake (this machine; Slack's latency is not
in it) and the least time Slack's rate limits allow: conversations.history and
conversations.replies are Tier 3 (50 requests a minute each, per method), users.list and
conversations.list Tier 2 (20 a minute); the fetcher waits on 429s, so a run lasts at
least the slowest method's requests over its rate. The nightly run must store every
late reply (checked).

Usage: python benchmarks/slack_nightly.py [--channels 50] [--days 90] [--out results/]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests' fakes

from tests.fake_graph import start_server  # noqa: E402
from tests.fake_slack import FakeSlack, Workspace  # noqa: E402

#: Requests a minute Slack allows per method (its tiers), for the least time of a run.
RATE_PER_MINUTE = {
    "conversations.history": 50,
    "conversations.replies": 50,
    "conversations.list": 20,
    "users.list": 20,
}


def workspace(now: dt.datetime, channels: int, days: int, per_day: int, seed: int) -> Workspace:
    """Channels of `days` days of history, ending an hour before `now`."""
    rng = random.Random(seed)
    space = Workspace(now)
    for n in range(300):
        space.users.append(
            {"id": f"U{n:06d}", "name": f"m{n}", "profile": {"email": f"p{n}@corp.example"}}
        )
    for k in range(channels):
        space.channels.append(
            {"id": f"C{k:08d}", "name": f"channel-{k:02d}", "created": 1, "is_member": True}
        )
    start = now - dt.timedelta(days=days)
    for day in range(days):
        for channel in space.channels:
            post_day(space, rng, channel["id"], start + dt.timedelta(days=day), per_day)
    return space


def post_day(space: Workspace, rng: random.Random, channel: str, day: dt.datetime, n: int) -> int:
    """`n` top-level messages in `channel` over 22 hours from `day`, a quarter of them
    threads; returns how many messages were posted."""
    posted = 0
    people = [u["id"] for u in space.users]
    for _ in range(n):
        when = day + dt.timedelta(seconds=rng.randint(0, 79_000))
        reactions = {"+1": rng.sample(people, 2)} if rng.random() < 0.3 else None
        parent = space.post(channel, rng.choice(people), when, reactions=reactions)
        posted += 1
        if rng.random() < 0.25:
            for r in range(rng.randint(1, 6)):
                later = when + dt.timedelta(minutes=20 * (r + 1))
                space.post(channel, rng.choice(people), later, thread=parent)
                posted += 1
    return posted


def measure(fake: FakeSlack, data: Path, now: dt.datetime) -> dict[str, Any]:
    from rse_adoption.config import Settings
    from rse_adoption.fetch.slack import fetch_slack

    fake.requests.clear()
    settings = Settings(data_dir=data, slack_api_url=fake.url)  # type: ignore[attr-defined]
    began = time.perf_counter()
    summary = fetch_slack(
        settings, environ={"RSE_ADOPTION_SLACK_TOKEN": fake.token}, now=now, max_minutes=600
    )
    seconds = time.perf_counter() - began
    if summary.exit_code:
        raise SystemExit(f"the fetch failed: {summary.stopped}")
    requests = dict(sorted(fake.requests.items()))
    least = max(count / RATE_PER_MINUTE.get(m, 50) * 60 for m, count in requests.items())
    return {
        "requests": sum(requests.values()),
        "by_method": requests,
        "seconds_on_the_fake": round(seconds, 2),
        "least_seconds_at_slack_rate_limits": round(least),
        "events_added": summary.to_dict()["events"],
    }


def stored_ids(data: Path) -> set[str]:
    import duckdb

    from rse_adoption import store

    paths = [str(data / p) for p in store.read_manifest(data).event_paths()]
    with duckdb.connect() as con:
        rows = con.execute("SELECT event_id FROM read_parquet($p)", {"p": paths}).fetchall()
    return {str(r[0]) for r in rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=8)
    parser.add_argument("--late", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    now = dt.datetime(2026, 10, 30, 2, 0, tzinfo=dt.UTC)
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="slack-nightly-") as tmp:
        (Path(tmp) / "tls").mkdir()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request else
        server, ca = start_server(Path(tmp) / "tls")
        os.environ["SSL_CERT_FILE"] = str(ca)
        try:
            space = workspace(now, args.channels, args.days, args.per_day, seed=11)
            fake = FakeSlack(space, page_cap=200)
            server.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
            fake.url = server.url_for("/api/")  # type: ignore[attr-defined]
            data = Path(tmp) / "store"
            results: dict[str, Any] = {"first": measure(fake, data, now)}
            night = now + dt.timedelta(days=1)
            results["quiet_night"] = measure(fake, data, night)
            late: list[str] = []
            for channel in space.channels:
                cid = channel["id"]
                post_day(space, rng, cid, night, args.per_day)
                old = [
                    m
                    for m in space.messages[cid]
                    if m.get("reply_count")
                    and (night - dt.timedelta(days=89)).timestamp()
                    < float(m["ts"])
                    < (night - dt.timedelta(days=30)).timestamp()
                ]
                for parent in rng.sample(old, min(args.late, len(old))):
                    reply = space.post(
                        cid, "U000001", night + dt.timedelta(hours=23), thread=parent
                    )
                    late.append(f"{cid}:{reply['ts']}")
            results["nightly"] = measure(fake, data, night + dt.timedelta(days=1))
            missed = set(late) - stored_ids(data)
        finally:
            server.stop()
    results["workload"] = {
        "channels": args.channels,
        "days": args.days,
        "messages": sum(len(m) for m in space.messages.values()),
        "late_replies": len(late),
        "page_size": 200,
    }
    if missed:
        raise SystemExit(f"{len(missed)} of {len(late)} late replies missed")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"slack-nightly-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
