"""Organisations where some people truly drive their colleagues' adoption and others
merely post a lot: the ground truth of `benchmarks/ambassador_candidates.py` and of the
candidates tests (docs/metrics.md, "Candidates").

Per site, everyone has a department and one role:
- driver: posts about once a week in most weeks; each post draws replies or reactions from
  a few colleagues picked across the whole site (every department), and some of those who
  never contributed start posting in the weeks after (they were drawn in);
- prolific: posts several times every week; colleagues read the posts, nobody answers
  except, now and then, one close colleague of the same department (homophily);
- contributor: posts every other week or so; a colleague of the same department sometimes
  answers;
- reader: reads posts (prolific ones most, as there are more of them), never contributes
  unless a driver draws them in.
With `noise`, any post may also draw a reaction from a colleague picked at random, so that
prolific posters collect a few answers by sheer volume. Deterministic for a seed. Writes a directory CSV (email, site, department, name,
ambassador) and one events CSV (timestamp, user, event_type, site, space, content_id,
target_user).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROLES = ("driver", "prolific", "contributor", "reader")


@dataclass(frozen=True)
class InfluenceShape:
    """Sizes of the sites, and the share of each role (readers: the rest)."""

    site_sizes: tuple[int, ...] = (60, 120, 240)
    driver_share: float = 0.04
    prolific_share: float = 0.04
    contributor_share: float = 0.12
    departments: int = 6
    weeks: int = 24
    #: Chance that any post also draws a reaction from a colleague picked at random (answers
    #: in proportion to volume: what a volume ranking would catch).
    noise: float = 0.0
    #: Colleagues answering each driver post (low, high exclusive), and the chance a
    #: driver posts in a given week.
    driver_reach: tuple[int, int] = (3, 7)
    driver_weeks: float = 0.7
    #: The last day (a Sunday) of the data.
    end: date = date(2026, 3, 1)


@dataclass
class InfluenceOrg:
    """What was generated: each person's email, site, department and role, and how many
    posts and comments they wrote in the last `weeks` (the volume ranking's measure)."""

    emails: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    ambassadors: list[bool] = field(default_factory=list)
    volume: dict[str, int] = field(default_factory=dict)
    events: int = 0


Row = tuple[datetime, str, str, str, str, str, str]


@dataclass
class _Log:
    """The events written so far, and the last content id given."""

    start: datetime
    rows: list[Row] = field(default_factory=list)
    content: int = 0


@dataclass
class _Site:
    """One site being generated: its people (indices `first`.. in the org), roles,
    departments, and who was drawn in (person -> week they start contributing)."""

    org: InfluenceOrg
    log: _Log
    rng: np.random.Generator
    shape: InfluenceShape
    name: str
    first: int
    roles: list[str]
    dept: np.ndarray
    recruited: dict[int, int] = field(default_factory=dict)
    posts: list[tuple[int, str, datetime]] = field(default_factory=list)

    @property
    def people(self) -> np.ndarray:
        return np.arange(self.first, self.first + len(self.roles))

    def post(self, person: int, week: int) -> tuple[str, datetime]:
        self.log.content += 1
        day = int(self.rng.integers(0, 5))
        ts = self.log.start + timedelta(days=7 * week + day, hours=int(self.rng.integers(8, 18)))
        cid = f"c{self.log.content}"
        self.log.rows.append((ts, self.org.emails[person], "post", self.name, "General", cid, ""))
        self.posts.append((person, cid, ts))
        return cid, ts

    def answer(self, actor: int, author: int, cid: str, ts: datetime, kind: str) -> None:
        when = ts + timedelta(hours=int(self.rng.integers(1, 48)))
        emails = self.org.emails
        self.log.rows.append((when, emails[actor], kind, self.name, "General", cid, emails[author]))

    def same_department(self, person: int) -> list[int]:
        i = person - self.first
        return [
            int(p) for p in self.people if p != person and self.dept[p - self.first] == self.dept[i]
        ]

    def driver(self, person: int, week: int) -> None:
        rng = self.rng
        cid, ts = self.post(person, week)
        others = self.people[self.people != person]
        for picked in rng.choice(
            others, size=int(rng.integers(*self.shape.driver_reach)), replace=False
        ):
            actor = int(picked)
            self.answer(actor, person, cid, ts, "comment" if rng.random() < 0.5 else "reaction")
            if (
                self.org.roles[actor] == "reader"
                and actor not in self.recruited
                and rng.random() < 0.3
            ):
                self.recruited[actor] = week + int(rng.integers(1, 3))

    def week(self, week: int) -> None:
        rng = self.rng
        for i, role in enumerate(self.roles):
            person = self.first + i
            if role == "driver" and rng.random() < self.shape.driver_weeks:
                self.driver(person, week)
            elif role == "prolific":
                for _ in range(int(rng.integers(4, 8))):
                    cid, ts = self.post(person, week)
                    if rng.random() < 0.1:  # a close colleague of the same department
                        same = self.same_department(person)
                        if same:
                            self.answer(same[0], person, cid, ts, "reaction")
            elif role == "contributor" and rng.random() < 0.5:
                cid, ts = self.post(person, week)
                same = self.same_department(person)
                if same and rng.random() < 0.5:
                    self.answer(int(rng.choice(same)), person, cid, ts, "comment")
            elif person in self.recruited and week >= self.recruited[person] and rng.random() < 0.4:
                self.post(person, week)

    def reads(self) -> None:
        """Each post read by a few people at random (more posts, more readers), and with
        `noise` a reaction from a random colleague."""
        rng, people = self.rng, self.people
        for author, cid, ts in self.posts:
            if self.shape.noise and rng.random() < self.shape.noise:
                actor = int(rng.choice(people))
                if actor != author:
                    self.answer(actor, author, cid, ts, "reaction")
            for actor in rng.choice(people, size=3, replace=False):
                if int(actor) != author:
                    self.answer(int(actor), author, cid, ts, "read")


def _people(
    org: InfluenceOrg, rng: np.random.Generator, shape: InfluenceShape, site: str, size: int
) -> tuple[list[str], np.ndarray]:
    """Add a site's people to `org` (one ambassador among its readers); their roles and
    departments."""
    first = len(org.emails)
    n_driver = max(1, round(size * shape.driver_share))
    n_prolific = max(1, round(size * shape.prolific_share))
    n_contrib = round(size * shape.contributor_share)
    roles = (
        ["driver"] * n_driver
        + ["prolific"] * n_prolific
        + ["contributor"] * n_contrib
        + ["reader"] * (size - n_driver - n_prolific - n_contrib)
    )
    rng.shuffle(roles)
    dept = rng.integers(0, shape.departments, size)
    for i in range(size):
        org.emails.append(f"p{first + i:05d}@example.org")
        org.sites.append(site)
        org.departments.append(f"D{dept[i]}")
        org.roles.append(roles[i])
        org.ambassadors.append(False)
    # one current ambassador per site, among the readers (they do not compete)
    readers = [i for i in range(size) if roles[i] == "reader"]
    if readers:
        org.ambassadors[first + int(rng.choice(readers))] = True
    return roles, dept


def make_influence_org(out: Path, shape: InfluenceShape, seed: int = 0) -> InfluenceOrg:
    """Write `out`/directory.csv and `out`/events.csv for `shape`; return the truth."""
    rng = np.random.default_rng(seed)
    org = InfluenceOrg()
    log = _Log(
        datetime.combine(shape.end - timedelta(days=7 * shape.weeks - 1), datetime.min.time(), UTC)
    )
    for s, size in enumerate(shape.site_sizes):
        name = f"Site{s + 1:02d}"
        first = len(org.emails)
        roles, dept = _people(org, rng, shape, name, size)
        site = _Site(org, log, rng, shape, name, first, roles, dept)
        for week in range(shape.weeks):
            site.week(week)
        site.reads()
    for _ts, user, kind, *_ in log.rows:
        if kind in ("post", "comment"):
            org.volume[user] = org.volume.get(user, 0) + 1
    org.events = len(log.rows)
    _write(out, org, log.rows)
    return org


def _write(out: Path, org: InfluenceOrg, rows: list[Row]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "directory.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["email", "site", "department", "name", "is_ambassador"])
        for i, email in enumerate(org.emails):
            ambassador = "yes" if org.ambassadors[i] else "no"
            w.writerow([email, org.sites[i], org.departments[i], f"Nm{i:05d}", ambassador])
    rows.sort(key=lambda r: r[0])
    with open(out / "events.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["timestamp", "user", "event_type", "site", "space", "content_id", "target_user"]
        )
        for ts, *rest in rows:
            w.writerow([ts.strftime("%Y-%m-%dT%H:%M:%SZ"), *rest])
