"""One store, two Microsoft 365 sources, no double counting (docs/metrics.md, "Sources of
one day"): a store filled only by `fetch m365` (each day's Posted, Read and Liked counts)
and `fetch viva-engage` (each message, with its thread and the message it answers) gives
over 28 days the same segments per site as the underlying event log, and the same
conversations and interactions, whichever source is fetched first; fetching again adds
nothing. Both fakes (fake_graph.py, fake_viva_engage.py) answer on one local server."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rse_adoption import open_store, store
from rse_adoption.config import Settings
from rse_adoption.fetch import graph, m365, retry
from rse_adoption.fetch.viva_engage import fetch_viva_engage
from rse_adoption.fetch.viva_engage_auth import TOKEN_ENV

from . import fake_graph
from .conftest import Clock
from .fake_graph import CLIENT_ID, TENANT, VIVA_HEADER, FakeMicrosoft
from .fake_viva_engage import FakeVivaEngage, Message, Person

TODAY = dt.date(2026, 10, 30)
NOW = dt.datetime(2026, 10, 30, 6, 0, tzinfo=dt.UTC)
FIRST = TODAY - dt.timedelta(days=28)  # the window: 28 days to yesterday
SITES = ("Lyon", "Paris", "Nantes")
GROUPS = {10: "Qualité", 11: "Sécurité"}


class Log:
    """The underlying activity: messages (posts and replies), reads and likes per day."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.people = [Person(n, f"p{n:02d}@contoso.example", SITES[n % 3]) for n in range(1, 19)]
        kinds = {p.id: ("writer", "liker", "reader", "idle")[p.id % 4] for p in self.people}
        writers = [p.id for p in self.people if kinds[p.id] == "writer"] + [1, 2]
        self.messages: list[Message] = []
        # A thread started before the window (read by the look-back), answered inside it.
        old = dt.datetime(2026, 9, 25, 9, 0, tzinfo=dt.UTC)
        self.messages.append(Message(900, 5, old, 900, group=10))
        next_id = 1000
        for d in range(28):
            day = dt.datetime.combine(FIRST + dt.timedelta(days=d), dt.time(8), dt.UTC)
            for h in range(rng.randint(0, 3)):
                sender = rng.choice(writers)
                when = day + dt.timedelta(hours=h, minutes=rng.randint(0, 59))
                earlier = [m for m in self.messages if m.created < when]
                if earlier and rng.random() < 0.6:
                    parent = rng.choice(earlier[-12:])
                    self.messages.append(
                        Message(next_id, sender, when, parent.thread, parent.id, parent.group)
                    )
                else:
                    group = rng.choice([10, 11, None])
                    self.messages.append(Message(next_id, sender, when, next_id, group=group))
                next_id += 1
        first_day = dt.datetime.combine(FIRST, dt.time(10), dt.UTC)
        self.messages.append(Message(next_id, 3, first_day, 900, replied_to=900, group=10))
        self.reads: Counter[tuple[int, dt.date]] = Counter()
        self.likes: Counter[tuple[int, dt.date]] = Counter()
        for d in range(28):
            day = FIRST + dt.timedelta(days=d)
            for p in self.people:
                if kinds[p.id] in ("liker", "writer") and rng.random() < 0.3:
                    self.likes[p.id, day] += rng.randint(1, 3)
                if kinds[p.id] != "idle" and rng.random() < 0.5:
                    self.reads[p.id, day] += rng.randint(1, 9)

    def email(self, person: int) -> str:
        return f"p{person:02d}@contoso.example"

    def write_events(self, path: Path) -> Path:
        """The log as generic events (docs/ingest.md, format `events`)."""
        by_id = {m.id: m for m in self.messages}
        with open(path, "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(
                ["event_id", "timestamp", "user", "event_type", "space", "content_id",
                 "target_user"]
            )  # fmt: skip
            for m in self.messages:
                target = by_id[m.replied_to].sender if m.replied_to else None
                out.writerow(
                    [
                        f"m{m.id}",
                        m.created.isoformat(),
                        self.email(m.sender),
                        "comment" if m.replied_to else "post",
                        GROUPS.get(m.group or 0, "All Company"),
                        m.thread,
                        self.email(target) if target and target != m.sender else "",
                    ]
                )
            for kind, counts in (("reaction", self.likes), ("read", self.reads)):
                for (person, day), n in sorted(counts.items()):
                    for i in range(n):
                        out.writerow(
                            [f"{kind}-{person}-{day}-{i}", f"{day}T12:00:00Z",
                             self.email(person), kind, "", "", ""]
                        )  # fmt: skip
        return path

    def write_directory(self, path: Path) -> Path:
        with open(path, "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(["employee_id", "email", "site"])
            for p in self.people:
                out.writerow([f"E{p.id:03d}", p.email, p.location])
        return path

    def graph_csv(self, report: str, day: dt.date, refresh: dt.date, *_: Any, **__: Any) -> bytes:
        """Graph's one-day Viva Engage activity detail for `day`, from the log."""
        posted = Counter(m.sender for m in self.messages if m.created.date() == day)
        lines = [VIVA_HEADER]
        for p in self.people:
            counts = (posted[p.id], self.reads[p.id, day], self.likes[p.id, day])
            if any(counts):
                lines.append(
                    f"{refresh},{p.email},{p.email},active,,{day},{counts[0]},{counts[1]},"
                    f"{counts[2]},VIVA ENGAGE,1"
                )
        return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(graph, "monotonic", fake.monotonic)
    monkeypatch.setattr(graph, "sleep", fake.sleep)
    monkeypatch.setattr(retry, "jitter", lambda: 0.0)
    return fake


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def fakes(
    server: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch, log: Log
) -> Iterator[tuple[FakeMicrosoft, FakeVivaEngage]]:
    httpserver, ca = server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(fake_graph, "csv_for", log.graph_csv)
    url = httpserver.url_for("/").rstrip("/")
    ms = FakeMicrosoft(url=url, today=TODAY)
    ve = FakeVivaEngage(url=url, messages=log.messages, people=log.people, groups=GROUPS)

    def handle(request: Any) -> Any:
        return (ve if request.path.startswith("/api/") else ms).handle(request)

    httpserver.clear()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(handle)
    yield ms, ve
    assert ms.assertions == [] and ve.assertions == []


def settings_for(ms: FakeMicrosoft, data: Path) -> Settings:
    return Settings(
        data_dir=data,
        m365_tenant_id=TENANT,
        m365_client_id=CLIENT_ID,
        m365_graph_url=f"{ms.url}/v1.0",
        m365_authority_url=ms.url,
        viva_engage_api_url=f"{ms.url}/api/v1",
    )


def fetch(which: str, fakes: tuple[FakeMicrosoft, FakeVivaEngage], data: Path) -> int:
    ms, ve = fakes
    settings = settings_for(ms, data)
    if which == "m365":
        summary: Any = m365.fetch_m365(
            settings, reports=["viva_engage"], environ={graph.SECRET_ENV: ms.secret}, today=TODAY
        )
    else:
        summary = fetch_viva_engage(settings, environ={TOKEN_ENV: ve.token}, now=NOW, since=FIRST)
    assert summary.exit_code == 0, summary.stopped
    return int(summary.exit_code)


def figures(data: Path) -> dict[str, Any]:
    """What the two stores must agree on: segments per site, conversations, interactions."""
    library = open_store(data)
    report = library.report(as_of=TODAY - dt.timedelta(days=1), window_days=28, min_group_size=1)
    result = report.to_dict()
    return {
        "segments": {s["site"]: s["segments"] for s in result["sites"]},
        "conversations": {
            s["site"]: (s["conversations"], s["cross_site_share"]) for s in result["sites"]
        },
        "totals": (result["totals"].get("conversations"), result["totals"]["segments"]),
        "interactions": library.interactions(
            as_of=TODAY - dt.timedelta(days=1), window_days=28, min_group_size=1
        ).to_dict(),
    }


def event_rows(data: Path) -> int:
    return sum(int(f["rows"]) for f in store.read_manifest(data).event_files)


def test_the_log_itself_has_every_segment(log: Log, tmp_path: Path) -> None:
    """The check below is worth something only if the log has contributors, reactors,
    readers and inactive people at every site, and replies across sites."""
    data = tmp_path / "truth"
    library = open_store(data, create=True)
    library.load_directory(log.write_directory(tmp_path / "directory.csv"))
    library.ingest([log.write_events(tmp_path / "events.csv")])
    truth = figures(data)
    for site in SITES:
        segments = truth["segments"][site]
        assert all(segments[s] > 0 for s in ("contributor", "reactor", "reader", "inactive"))
        assert truth["conversations"][site][0]["threads"] > 0
        assert sum(truth["interactions"]["matrix"][site].values()) > 0


@pytest.mark.parametrize("order", [("m365", "viva"), ("viva", "m365")])
def test_m365_days_and_the_viva_engage_export_give_the_event_logs_figures(
    fakes: tuple[FakeMicrosoft, FakeVivaEngage],
    clock: Clock,
    log: Log,
    tmp_path: Path,
    order: tuple[str, str],
) -> None:
    directory = log.write_directory(tmp_path / "directory.csv")
    truth = tmp_path / "truth"
    library = open_store(truth, create=True)
    library.load_directory(directory)
    library.ingest([log.write_events(tmp_path / "events.csv")])

    data = tmp_path / "fetched"
    open_store(data, create=True).load_directory(directory)
    for which in order:
        fetch(which, fakes, data)
    expected = figures(truth)
    got = figures(data)
    # The fetched store reads its days' counts (day grain) beside the export's events.
    report = open_store(data).report(
        as_of=TODAY - dt.timedelta(days=1), window_days=28, min_group_size=1
    )
    assert report.to_dict()["activity_grain"] == "day"
    assert got["segments"] == expected["segments"]
    assert got["conversations"] == expected["conversations"]
    assert got["interactions"] == expected["interactions"]

    # Fetching both again adds no event and changes no figure.
    rows = event_rows(data)
    for which in order:
        fetch(which, fakes, data)
    assert event_rows(data) == rows
    assert figures(data) == got


def test_a_reply_to_a_thread_weeks_old_gives_the_event_logs_interactions(
    fakes: tuple[FakeMicrosoft, FakeVivaEngage], clock: Clock, log: Log, tmp_path: Path
) -> None:
    """Issue 33: a thread posted 55 days ago, which a nightly run stored then, answered on
    the window's last day from another site. Today's run reads neither that day nor its
    14-day look-back: the store gives the reply's target, so conversations and interactions
    are the event log's; rerunning adds nothing."""
    ms, ve = fakes
    posted = NOW - dt.timedelta(days=55)
    log.messages += [
        Message(800, 5, posted, 800, group=11),  # Nantes
        Message(801, 4, NOW - dt.timedelta(days=1, hours=2), 800, replied_to=800, group=11),
    ]
    directory = log.write_directory(tmp_path / "directory.csv")
    truth = tmp_path / "truth"
    library = open_store(truth, create=True)
    library.load_directory(directory)
    library.ingest([log.write_events(tmp_path / "events.csv")])

    data = tmp_path / "fetched"
    open_store(data, create=True).load_directory(directory)
    settings = settings_for(ms, data)
    earlier = fetch_viva_engage(
        settings, environ={TOKEN_ENV: ve.token}, now=posted + dt.timedelta(days=1),
        since=posted.date(),
    )  # fmt: skip
    assert earlier.exit_code == 0 and earlier.to_dict()["events"] == 1
    fetch("m365", fakes, data)
    fetch("viva", fakes, data)
    expected, got = figures(truth), figures(data)
    assert got["interactions"] == expected["interactions"]
    assert got["conversations"] == expected["conversations"]
    assert got["segments"] == expected["segments"]
    rows = event_rows(data)
    fetch("viva", fakes, data)
    assert event_rows(data) == rows and figures(data) == got
