"""Example organisation generator for `make demo`, the tests and the benchmarks.

Builds an employee directory (sites of very different sizes, departments, late hires,
leavers, ambassadors) and an activity log with participation inequality and gradual
adoption. Each person adopts the network on a day drawn from a Bass diffusion curve with
known per-site parameters (innovation p, imitation q, potential m), then behaves according
to a class (visitor, reader, reactor, contributor) at a heavy-tailed daily rate. Everything
is vectorised with numpy and deterministic for a given seed, so the same code writes a
two-thousand-person demo and a 50-million-event benchmark log.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

CLASSES = ("visitor", "reader", "reactor", "contributor")
#: Probabilities of each event type (login, read, reaction, post, comment) by class.
EVENT_MIX = np.array(
    [
        [1.00, 0.00, 0.00, 0.00, 0.00],  # visitor
        [0.30, 0.70, 0.00, 0.00, 0.00],  # reader
        [0.20, 0.55, 0.25, 0.00, 0.00],  # reactor
        [0.15, 0.45, 0.20, 0.08, 0.12],  # contributor
    ]
)
EVENT_NAMES = np.array(["login", "read", "reaction", "post", "comment"])
#: Mean active days per week by class (heavy-tailed around it).
DAILY_RATE = np.array([0.15, 0.35, 0.45, 0.8])


@dataclass(frozen=True)
class SiteSpec:
    """One site: headcount, Bass parameters of adoption (p, q per week; potential m as a
    share of staff who ever adopt), the share of adopters who become contributors, and
    its number of ambassadors."""

    name: str
    headcount: int
    p: float
    q: float
    potential: float
    contributor_share: float
    ambassadors: int


DEMO_SITES: tuple[SiteSpec, ...] = (
    SiteSpec("Paris La Défense", 1400, 0.010, 0.30, 0.85, 0.26, 24),
    SiteSpec("Lyon", 650, 0.008, 0.25, 0.80, 0.22, 10),
    SiteSpec("Marseille", 320, 0.006, 0.18, 0.70, 0.16, 3),
    SiteSpec("Lille", 180, 0.005, 0.15, 0.65, 0.13, 2),
    SiteSpec("Nantes", 90, 0.004, 0.10, 0.55, 0.10, 0),
    SiteSpec("Bordeaux", 45, 0.004, 0.12, 0.60, 0.12, 1),
    SiteSpec("Saint-Étienne", 25, 0.003, 0.08, 0.50, 0.08, 0),
    SiteSpec("Genève", 4, 0.010, 0.20, 0.80, 0.30, 0),
)
DEPARTMENTS = ("Ventes", "Production", "RH", "Finance", "R&D", "Logistique", "Informatique")
SPACES = ("Actualités", "Entraide IT", "Qualité", "Innovation", "Vie du site", "Sécurité")


@dataclass
class Organisation:
    """People as parallel numpy arrays (index = person), plus the sites they belong to."""

    sites: tuple[SiteSpec, ...]
    start: date
    end: date
    site_index: np.ndarray
    event_site_index: np.ndarray
    hire_day: np.ndarray  # day offset from start (negative: hired before the period)
    leave_day: np.ndarray  # day offset, or a large number for people still employed
    listed: np.ndarray  # in the directory
    adopt_day: np.ndarray  # day offset of adoption, or a large number for never
    klass: np.ndarray  # index into CLASSES
    rate: np.ndarray  # active days per week when adopted
    ambassador_since: np.ndarray  # day offset, or a large number
    department: np.ndarray
    seed: int = 0
    #: Site × day multiplier of everyone's chance to be active (weekly shocks of a site's
    #: activity in scenarios, demo/scenario.py); None: no such shocks (the demo).
    activity_factor: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.site_index.size)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def email(self, i: int) -> str:
        return f"p{i:06d}@demo.example" if self.listed[i] else f"ext{i:06d}@partner.example"


NEVER = 10**6


def bass_sample(rng: np.random.Generator, n: int, p: float, q: float) -> np.ndarray:
    """Adoption times (in the unit of p and q) drawn by inverting the Bass CDF."""
    u = rng.uniform(0, 1, n)
    return -np.log((1 - u) / (1 + (q / p) * u)) / (p + q)


def make_organisation(
    sites: tuple[SiteSpec, ...] = DEMO_SITES,
    *,
    start: date = date(2026, 5, 1),
    end: date = date(2026, 10, 31),
    seed: int = 42,
    unlisted_share: float = 0.02,
    scale: float = 1.0,
    validation: bool = False,
    launch_day: int = -60,
) -> Organisation:
    """A deterministic organisation. `scale` multiplies every site's headcount.

    `validation=True` makes the known answer observable, for testing the forecast: no
    hires, leavers, movers or people outside the directory, no ambassadors, and every
    adopter is a contributor active five days a week, so that each site's window
    contributor share follows potential × Bass(p, q) from the launch. `launch_day` is the
    day (offset from `start`) the network was launched: adoption times count from it."""
    if validation:
        unlisted_share = 0.0
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    counts = [
        max(1, round(s.headcount * scale)) if s.headcount >= 5 else s.headcount for s in sites
    ]
    site_index = np.repeat(np.arange(len(sites)), counts)
    n_listed = site_index.size
    n_unlisted = int(round(n_listed * unlisted_share))
    site_index = np.concatenate([site_index, rng.integers(0, len(sites), n_unlisted)])
    n = site_index.size
    listed = np.arange(n) < n_listed

    hire_day = -rng.integers(30, 3650, n)
    late = rng.uniform(size=n) < (0.0 if validation else 0.04)
    hire_day[late] = rng.integers(0, days - 14, late.sum())
    leave_day = np.full(n, NEVER)
    leavers = (rng.uniform(size=n) < (0.0 if validation else 0.05)) & ~late
    leave_day[leavers] = rng.integers(14, days, leavers.sum())

    adopt_day = np.full(n, NEVER)
    klass = np.zeros(n, dtype=np.int64)
    ambassador_since = np.full(n, NEVER)
    for s, spec in enumerate(sites):
        members = np.flatnonzero(site_index == s)
        adopters = members[rng.uniform(size=members.size) < spec.potential]
        weeks = bass_sample(rng, adopters.size, spec.p, spec.q)
        adopt_day[adopters] = np.floor(weeks * 7).astype(np.int64) + launch_day
        share = spec.contributor_share
        probs = np.array([0.22, 0.48 - share / 2, 0.30 - share / 2, share])
        klass[members] = rng.choice(4, size=members.size, p=probs / probs.sum())
        if validation:
            klass[members] = 3
        listed_members = members[listed[members]]
        if spec.ambassadors and listed_members.size and not validation:
            chosen = rng.choice(
                listed_members, min(spec.ambassadors, listed_members.size), replace=False
            )
            ambassador_since[chosen] = rng.integers(-60, days // 2, chosen.size)
            adopt_day[chosen] = np.minimum(adopt_day[chosen], ambassador_since[chosen])
            klass[chosen] = np.where(rng.uniform(size=chosen.size) < 0.8, 3, 1)
    adopt_day = np.maximum(adopt_day, hire_day)
    rate = np.clip(DAILY_RATE[klass] * rng.lognormal(0, 0.7, n), 0.02, 5.0)
    if validation:
        rate[:] = 5.0

    event_site_index = site_index.copy()
    moved = rng.uniform(size=n) < (0.0 if validation else 0.03)
    event_site_index[moved] = rng.integers(0, len(sites), moved.sum())
    return Organisation(
        sites=sites,
        start=start,
        end=end,
        site_index=site_index,
        event_site_index=event_site_index,
        hire_day=hire_day,
        leave_day=leave_day,
        listed=listed,
        adopt_day=adopt_day,
        klass=klass,
        rate=rate,
        ambassador_since=ambassador_since,
        department=rng.integers(0, len(DEPARTMENTS), n),
        seed=seed,
    )


def _fmt_day(org: Organisation, offset: int) -> str:
    return (org.start + timedelta(days=int(offset))).strftime("%d/%m/%Y")


def write_directory(org: Organisation, path: Path) -> None:
    """The directory as a French Excel export: `;`, UTF-8 with BOM, DD/MM/YYYY, oui/non."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(
            [
                "matricule",
                "courriel",
                "site",
                "service",
                "date d'entrée",
                "date de sortie",
                "ambassadeur",
                "ambassadeur depuis",
            ]
        )
        for i in np.flatnonzero(org.listed):
            since = int(org.ambassador_since[i])
            out.writerow(
                [
                    f"E{i:06d}",
                    org.email(int(i)),
                    org.sites[org.site_index[i]].name,
                    DEPARTMENTS[org.department[i]],
                    _fmt_day(org, org.hire_day[i]),
                    _fmt_day(org, org.leave_day[i]) if org.leave_day[i] < NEVER else "",
                    "oui" if since < NEVER else "non",
                    _fmt_day(org, since) if since < NEVER else "",
                ]
            )


class PostPool:
    """The posts written so far, per space (time in seconds, content id, author index),
    so that comments answer real earlier posts across the calls of `event_batches` (one
    per month in `write_events_csv`). Keeps the latest POOL_KEEP of each space."""

    POOL_KEEP = 5000

    def __init__(self) -> None:
        self.by_space: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def candidates(self, space: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        empty = np.zeros(0, dtype=np.int64)
        return self.by_space.get(space, (empty, np.zeros(0, dtype=object), empty))

    def add(self, space: int, seconds: np.ndarray, ids: np.ndarray, authors: np.ndarray) -> None:
        old = self.candidates(space)
        merged = [np.concatenate([a, b]) for a, b in zip(old, (seconds, ids, authors), strict=True)]
        order = np.argsort(merged[0], kind="stable")[-self.POOL_KEEP :]
        self.by_space[space] = (merged[0][order], merged[1][order], merged[2][order])


#: A comment answers one of the latest REPLY_RECENT earlier posts of its space.
REPLY_RECENT = 30


def _answer_posts(
    rng: np.random.Generator,
    pool: PostPool,
    kind: np.ndarray,
    seconds: np.ndarray,
    space: np.ndarray,
    person: np.ndarray,
    content: np.ndarray,
    target: np.ndarray,
) -> None:
    """Give each post a content id of its own, and point each comment (content id and
    target person) at a post made before it in the same space — one of the REPLY_RECENT
    latest ones, drawn with `rng` — then add this batch's posts to `pool`. A comment with
    no earlier post in its space (the first hours of the log) keeps an id no post has: a
    reply to a post older than the log."""
    posts = np.flatnonzero(kind == 3)
    content[posts] = np.char.add(f"p{rng.integers(0, 2**40)}-", posts.astype(str))
    for s in np.unique(space):
        mine = posts[space[posts] == s]
        known = pool.candidates(int(s))
        when = np.concatenate([known[0], seconds[mine]])
        ids = np.concatenate([known[1], content[mine].astype(object)])
        authors = np.concatenate([known[2], person[mine]])
        order = np.argsort(when, kind="stable")
        when, ids, authors = when[order], ids[order], authors[order]
        replies = np.flatnonzero((kind == 4) & (space == s))
        before = np.searchsorted(when, seconds[replies], side="left")  # posts strictly earlier
        answered = before > 0
        pick = (
            before[answered]
            - 1
            - rng.integers(0, REPLY_RECENT, answered.sum()) % np.maximum(before[answered], 1)
        )
        chosen = replies[answered]
        content[chosen] = ids[pick]
        target[chosen] = np.where(authors[pick] == person[chosen], -1, authors[pick])
        pool.add(int(s), seconds[mine], content[mine].astype(object), person[mine])


def event_batches(
    org: Organisation,
    *,
    rate_scale: float = 1.0,
    chunk_people: int = 4000,
    seed: int | None = None,
    day_range: tuple[int, int] | None = None,
    pool: PostPool | None = None,
) -> Iterator[pa.Table]:
    """The activity log as Arrow tables of text columns (timestamp, user, event_type, site,
    space, content_id, target_user), people in chunks. Active days per person follow a
    Bernoulli draw of rate/7 on weekdays (a quarter of that at weekends); active days hold
    1 + Poisson(1.5) events. `rate_scale` multiplies those events per active day.
    `day_range` (first, last + 1 day offsets) restricts the log to those days. Each post
    has its own content id; each comment answers an earlier post of its space (its
    content id, and its author as target person), from this call's posts or `pool`'s."""
    rng = np.random.default_rng(org.seed + 1 if seed is None else seed)
    replies = np.random.default_rng([org.seed if seed is None else seed, 7])
    pool = pool if pool is not None else PostPool()
    days = np.arange(org.days) if day_range is None else np.arange(*day_range)
    contributors_by_site = [
        np.flatnonzero((org.site_index == s) & (org.klass == 3)) for s in range(len(org.sites))
    ]
    epoch0 = np.datetime64(org.start.isoformat(), "s").astype(np.int64)
    for lo in range(0, org.size, chunk_people):
        people = np.arange(lo, min(lo + chunk_people, org.size))
        p_active = active_probability(org, people, days)
        active = rng.uniform(size=p_active.shape) < p_active
        person_pos, day_index = np.nonzero(active)
        day = days[day_index]
        per_day = 1 + rng.poisson(1.5 * rate_scale, person_pos.size)
        person_pos = np.repeat(person_pos, per_day)
        day = np.repeat(day, per_day)
        person = people[person_pos]
        n = person.size
        if n == 0:
            continue
        cum = np.cumsum(EVENT_MIX[org.klass[person]], axis=1)
        kind = (rng.uniform(size=n)[:, None] > cum).sum(axis=1).clip(0, 4)
        seconds = epoch0 + day * 86400 + rng.integers(6 * 3600, 19 * 3600, n)
        site = org.event_site_index[person]
        interacts = (kind == 2) | (kind == 4)
        target = np.full(n, -1)
        for s in np.unique(site[interacts]):
            contributors = contributors_by_site[s]
            if contributors.size:
                sel = interacts & (site == s)
                target[sel] = rng.choice(contributors, sel.sum())
        target[target == person] = -1
        space = rng.integers(0, len(SPACES), n)
        content = np.char.add("c", rng.integers(0, 50_000, n).astype(str)).astype(object)
        _answer_posts(replies, pool, kind, seconds, space, person, content, target)
        yield pa.table(
            {
                "timestamp": pa.array(seconds.astype("datetime64[s]")).cast(pa.string()),
                "user": _emails(org, person),
                "event_type": EVENT_NAMES[kind],
                "site": np.array([s.name for s in org.sites])[site],
                "space": np.array(SPACES)[space],
                "content_id": content.astype(str),
                "target_user": np.where(target >= 0, _emails(org, np.maximum(target, 0)), ""),
            }
        )


def active_probability(org: Organisation, people: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Probability that each person (rows) is active on each day offset (columns): rate/7
    on weekdays, a quarter of that at weekends, zero before adoption or hire and after
    leaving."""
    weekday = (np.datetime64(org.start.isoformat(), "D") + days).astype("datetime64[D]")
    weekend = ((weekday.astype(np.int64) + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    day_factor = np.where(weekend, 0.25, 1.0)
    present = (
        (days[None, :] >= org.adopt_day[people, None])
        & (days[None, :] >= org.hire_day[people, None])
        & (days[None, :] < org.leave_day[people, None])
    )
    chance = org.rate[people, None] / 7 * day_factor[None, :]
    if org.activity_factor is not None:
        chance = chance * org.activity_factor[org.event_site_index[people]][:, days]
    return present * np.clip(chance, 0, 1)


def expected_active_days(org: Organisation, chunk_people: int = 20_000) -> float:
    """Expected number of active person-days of `event_batches` (before events per day)."""
    days = np.arange(org.days)
    return sum(
        float(active_probability(org, np.arange(lo, min(lo + chunk_people, org.size)), days).sum())
        for lo in range(0, org.size, chunk_people)
    )


def rate_scale_for(org: Organisation, events: int) -> float:
    """The `rate_scale` that makes `event_batches` produce about `events` rows."""
    per_day = events / expected_active_days(org)
    return max(0.0, (per_day - 1) / 1.5)


def _emails(org: Organisation, people: np.ndarray) -> np.ndarray:
    prefix = np.where(org.listed[people], "p", "ext")
    domain = np.where(org.listed[people], "@demo.example", "@partner.example")
    return np.char.add(np.char.add(prefix, np.char.zfill(people.astype(str), 6)), domain)


def month_day_ranges(org: Organisation) -> list[tuple[int, int]]:
    """(first, last + 1) day offsets of each calendar month of the organisation's period."""
    ranges, first = [], 0
    for offset in range(1, org.days + 1):
        day = org.start + timedelta(days=offset)
        if offset == org.days or day.day == 1:
            ranges.append((first, offset))
            first = offset
    return ranges


def write_events_csv(org: Organisation, path: Path, *, rate_scale: float = 1.0) -> int:
    """Write the whole log to one CSV, month after month as real exports are ordered
    (ISO 8601 timestamps in UTC). Returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    writer: pacsv.CSVWriter | None = None
    pool = PostPool()  # comments of a month answer the posts of earlier months too
    monthly = (
        event_batches(org, rate_scale=rate_scale, seed=org.seed + 100 + k, day_range=r, pool=pool)
        for k, r in enumerate(month_day_ranges(org))
    )
    try:
        for table in (t for month in monthly for t in month):
            table = table.set_column(0, "timestamp", pc_iso(table.column("timestamp")))
            if writer is None:
                writer = pacsv.CSVWriter(str(path), table.schema)
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def pc_iso(column: pa.ChunkedArray) -> pa.Array:
    """'2026-05-01 08:00:00' -> '2026-05-01T08:00:00Z'."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(
        pc.replace_substring(column, " ", "T"), pa.scalar("Z"), pa.scalar("")
    )
