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


def make_influence_org(out: Path, shape: InfluenceShape, seed: int = 0) -> InfluenceOrg:
    """Write `out`/directory.csv and `out`/events.csv for `shape`; return the truth."""
    rng = np.random.default_rng(seed)
    org = InfluenceOrg()
    start = datetime.combine(
        shape.end - timedelta(days=7 * shape.weeks - 1), datetime.min.time(), UTC
    )
    rows: list[tuple[datetime, str, str, str, str, str, str]] = []
    content = 0
    for s, size in enumerate(shape.site_sizes):
        site = f"Site{s + 1:02d}"
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
        people = np.arange(first, first + size)
        recruited: dict[int, int] = {}  # person -> week they start contributing

        def at(week: int) -> datetime:
            day = int(rng.integers(0, 5))
            return start + timedelta(days=7 * week + day, hours=int(rng.integers(8, 18)))

        def post(person: int, week: int, site: str = site) -> tuple[str, datetime]:
            nonlocal content
            content += 1
            ts = at(week)
            rows.append((ts, org.emails[person], "post", site, "General", f"c{content}", ""))
            return f"c{content}", ts

        def answer(
            actor: int, author: int, cid: str, ts: datetime, kind: str, site: str = site
        ) -> None:
            when = ts + timedelta(hours=int(rng.integers(1, 48)))
            rows.append((when, org.emails[actor], kind, site, "General", cid, org.emails[author]))

        all_posts: list[tuple[int, str, datetime]] = []
        for week in range(shape.weeks):
            for i in range(size):
                person = first + i
                role = roles[i]
                if role == "driver" and rng.random() < shape.driver_weeks:
                    cid, ts = post(person, week)
                    all_posts.append((person, cid, ts))
                    others = people[people != person]
                    for actor in rng.choice(
                        others, size=int(rng.integers(*shape.driver_reach)), replace=False
                    ):
                        actor = int(actor)
                        answer(
                            actor, person, cid, ts, "comment" if rng.random() < 0.5 else "reaction"
                        )
                        if (
                            org.roles[actor] == "reader"
                            and actor not in recruited
                            and rng.random() < 0.3
                        ):
                            recruited[actor] = week + int(rng.integers(1, 3))
                elif role == "prolific":
                    for _ in range(int(rng.integers(4, 8))):
                        cid, ts = post(person, week)
                        all_posts.append((person, cid, ts))
                        if rng.random() < 0.1:  # a close colleague of the same department
                            same = [
                                int(p) for p in people if p != person and dept[p - first] == dept[i]
                            ]
                            if same:
                                answer(same[0], person, cid, ts, "reaction")
                elif role == "contributor" and rng.random() < 0.5:
                    cid, ts = post(person, week)
                    all_posts.append((person, cid, ts))
                    same = [int(p) for p in people if p != person and dept[p - first] == dept[i]]
                    if same and rng.random() < 0.5:
                        actor = int(rng.choice(same))
                        answer(actor, person, cid, ts, "comment")
                elif person in recruited and week >= recruited[person] and rng.random() < 0.4:
                    cid, ts = post(person, week)
                    all_posts.append((person, cid, ts))
        # reads: each post read by a few people at random (more posts, more readers)
        for author, cid, ts in all_posts:
            if shape.noise and rng.random() < shape.noise:
                actor = int(rng.choice(people))
                if actor != author:
                    answer(actor, author, cid, ts, "reaction")
            for actor in rng.choice(people, size=3, replace=False):
                if int(actor) != author:
                    answer(int(actor), author, cid, ts, "read")
    for _ts, user, kind, *_ in rows:
        if kind in ("post", "comment"):
            org.volume[user] = org.volume.get(user, 0) + 1
    org.events = len(rows)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "directory.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["email", "site", "department", "name", "is_ambassador"])
        for i, email in enumerate(org.emails):
            w.writerow(
                [
                    email,
                    org.sites[i],
                    org.departments[i],
                    f"Nm{i:05d}",
                    "yes" if org.ambassadors[i] else "no",
                ]
            )
    rows.sort(key=lambda r: r[0])
    with open(out / "events.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["timestamp", "user", "event_type", "site", "space", "content_id", "target_user"]
        )
        for ts, *rest in rows:
            w.writerow([ts.strftime("%Y-%m-%dT%H:%M:%SZ"), *rest])
    return org
