"""Whom to invite as ambassadors, site by site (`rse-adoption ambassadors --candidates`;
docs/metrics.md, "Candidates").

Reach, not volume (Kim et al. 2015; Banerjee et al. 2019): a person ranks by how many
distinct colleagues of their site answered, reacted to or read their contributions, from
how many departments, how many of those colleagues went on to contribute, and how many
colleagues nominated them — counted once each whatever the number of posts — weighted by
how steadily they contributed over the last CANDIDATE_WEEKS weeks. Posting more raises
none of these figures by itself. Personal data: docs/privacy.md, "Candidates and leaders".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from .. import store
from ..errors import DataError
from ..messages import Message
from ..model import (
    AmbassadorCandidates,
    AmbassadorSite,
    Candidate,
    CandidateEvidence,
    CandidateSite,
)
from ..nominations import NominationsFile
from . import ambassadors, segments
from .context import Context
from .engine import Connection
from .segments import Window

#: Weeks over which steadiness is counted (`active_weeks`).
CANDIDATE_WEEKS = 12
#: Weeks with a contribution, of CANDIDATE_WEEKS, for the full weight: fewer scale the
#: score down in proportion.
SUSTAINED_WEEKS = 4
#: What each distinct nominator counts for.
NOMINATION_WEIGHT = 2.0
#: The shortest shortlist (the default is twice `to_recruit`, at least this).
MIN_SHORTLIST = 5

NO_DIRECTORY = Message(
    "candidates.no_directory",
    "no directory: candidates are people the directory lists (load one with "
    "`rse-adoption directory FILE`)",
)
NO_TARGET = Message(
    "candidates.no_target",
    "no event of the window names whom a reply or reaction answers (no target person, no "
    "thread): reach cannot be measured, and ranking on volume would mislead",
)
NO_ELIGIBLE = Message(
    "candidates.no_eligible",
    "nobody eligible: no contributor of the window who is listed, not yet an ambassador "
    "and not leaving",
)
NO_REACH = Message(
    "candidates.no_reach",
    "no eligible contributor's posts drew a reply or reaction from a colleague of "
    "the site: no one stands out, and ranking on volume would mislead",
)
SUPPRESSED = Message("candidates.suppressed", "fewer people than the privacy threshold: not listed")


@dataclass(frozen=True)
class Nominations:
    """Distinct nominators per nominee (person keys), and how the file read."""

    counts: dict[int, int]
    file: str
    rows: int
    unmatched: int


def nominations(con: Connection, survey: NominationsFile) -> Nominations:
    """Distinct nominators per nominee, both resolved to directory people (`key_map`);
    nominating oneself does not count; `unmatched`: rows whose nominee the directory
    does not list."""
    known = dict(con.execute("SELECT key, person_key FROM key_map").fetchall())
    by_nominee: dict[int, set[int]] = defaultdict(set)
    unmatched = 0
    for a, b in survey.pairs:
        nominee = known.get(b)
        if nominee is None:
            unmatched += 1
            continue
        nominator = known.get(a, a)
        if nominator != nominee:
            by_nominee[int(nominee)].add(int(nominator))
    counts = {k: len(v) for k, v in by_nominee.items()}
    return Nominations(counts, survey.file, survey.rows, unmatched)


def answer_rate(evidence: CandidateEvidence) -> float:
    """Replies and reactions from colleagues per contribution of the window, at most 1:
    what posting more does not raise by itself."""
    if not evidence.contributions:
        return 1.0 if evidence.answers_received else 0.0
    return min(1.0, evidence.answers_received / evidence.contributions)


def score(evidence: CandidateEvidence) -> float:
    """The documented rule (docs/metrics.md, "Candidates"): (colleagues who replied or
    reacted + their departments + colleagues drawn in) × min(1, active_weeks /
    SUSTAINED_WEEKS) × answer_rate + NOMINATION_WEIGHT × nominators. Readers are
    evidence, not score: how many people read someone grows with how much they post; the
    answer rate keeps answers that come in proportion to volume from adding up."""
    reach = evidence.colleagues_answering + evidence.departments + evidence.drawn_in
    steady = min(1.0, evidence.active_weeks / SUSTAINED_WEEKS)
    nominated = NOMINATION_WEIGHT * (evidence.nominations or 0)
    return round(reach * steady * answer_rate(evidence) + nominated, 2)


def _create_candidate_events(con: Connection, files: list[str], scan: str, end: str) -> None:
    """Temp table `candidate_events` (person, event_type, ts, target): the posts, comments,
    reactions and reads from `scan` to `end`, keys resolved through `key_map`, a reply's or
    reaction's target being the person the event names or else the author of the post of
    the same `content_id` in the same community."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE candidate_events AS
        WITH ev AS (
            SELECT coalesce(k.person_key, e.user_key) AS person, e.event_type, e.ts,
                   e.space, e.content_id, coalesce(t.person_key, e.target_user_key) AS target
            FROM read_parquet($files) e
            LEFT JOIN key_map k ON k.key = e.user_key
            LEFT JOIN key_map t ON t.key = e.target_user_key
            WHERE e.ts >= $scan::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
              AND e.event_type IN ('post', 'comment', 'reaction', 'read')
        ),
        authors AS (
            SELECT space, content_id, min(person) AS author FROM ev
            WHERE event_type = 'post' AND content_id IS NOT NULL GROUP BY ALL
        )
        SELECT e.person, e.event_type, e.ts,
               CASE WHEN e.event_type = 'post' THEN NULL
                    ELSE coalesce(e.target, a.author) END AS target
        FROM ev e LEFT JOIN authors a
            ON a.content_id = e.content_id AND a.space IS NOT DISTINCT FROM e.space
        """,
        {"files": files, "scan": scan, "end": end},
    ).fetchall()


def _interaction_rows(
    con: Connection, files: list[str], window: Window, scan_start: date, directory: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], bool]:
    """(pairs, per-person rows, any target): pairs are (target, actor, answered, actor's
    department, drawn in: the actor's first contribution of the scan is in the window, at
    or after their first reply or reaction to the target, replies and reactions) for
    actors of the target's site; per person: (person, weeks with a contribution of the last
    CANDIDATE_WEEKS, replies given in the window, posts and comments in the window)."""
    if not files:
        return [], [], False
    end = (window.as_of + timedelta(days=1)).isoformat()
    _create_candidate_events(con, files, scan_start.isoformat(), end)
    params: dict[str, Any] = {
        "start": window.start.isoformat(),
        "end": end,
        "week_us": segments.WEEK_MICROSECONDS,
    }
    any_target = bool(
        con.execute(
            """
            SELECT count(*) FROM candidate_events
            WHERE event_type IN ('comment', 'reaction') AND target IS NOT NULL
              AND ts >= $start::TIMESTAMPTZ
            """,
            {"start": params["start"]},
        ).fetchall()[0][0]
    )
    pairs = con.execute(
        """
        WITH firsts AS (
            SELECT person, min(ts) AS first_contribution FROM candidate_events
            WHERE event_type IN ('post', 'comment') GROUP BY person
        ),
        aimed AS (
            SELECT target, person AS actor,
                   bool_or(event_type IN ('comment', 'reaction')) AS answered,
                   min(ts) FILTER (WHERE event_type IN ('comment', 'reaction'))
                       AS first_answer,
                   count(*) FILTER (WHERE event_type IN ('comment', 'reaction')) AS answers
            FROM candidate_events
            WHERE event_type IN ('comment', 'reaction', 'read') AND target IS NOT NULL
              AND target <> person AND ts >= $start::TIMESTAMPTZ
            GROUP BY ALL
        )
        SELECT a.target, a.actor, a.answered, d.department,
               coalesce(f.first_contribution >= $start::TIMESTAMPTZ
                        AND f.first_contribution >= a.first_answer, false),
               a.answers
        FROM aimed a
        JOIN people pt ON pt.person = a.target
        JOIN people pa ON pa.person = a.actor AND pa.site = pt.site
        LEFT JOIN read_parquet($directory) d ON d.person_key = a.actor
        LEFT JOIN firsts f ON f.person = a.actor
        """,
        {"start": params["start"], "directory": directory},
    ).fetchall()
    people = con.execute(
        """
        SELECT person,
               count(DISTINCT CASE WHEN event_type IN ('post', 'comment')
                                        AND (epoch_us($end::TIMESTAMPTZ) - epoch_us(ts) - 1)
                                            // $week_us < $weeks
                                   THEN (epoch_us($end::TIMESTAMPTZ) - epoch_us(ts) - 1)
                                        // $week_us END),
               count(*) FILTER (WHERE event_type = 'comment' AND ts >= $start::TIMESTAMPTZ
                                AND target IS DISTINCT FROM person),
               count(*) FILTER (WHERE event_type IN ('post', 'comment')
                                AND ts >= $start::TIMESTAMPTZ)
        FROM candidate_events GROUP BY person
        """,
        {
            "end": params["end"],
            "week_us": params["week_us"],
            "weeks": CANDIDATE_WEEKS,
            "start": params["start"],
        },
    ).fetchall()
    return pairs, people, any_target


def _eligible(con: Connection, directory: str) -> dict[str, list[tuple[int, bool]]]:
    """site -> (person, contributed in the window) for people of the directory employed on
    as_of, not ambassadors (nor named ones yet to start), with no leave date."""
    rows = con.execute(
        """
        SELECT s.site, s.person, s.segment = 'contributor'
        FROM person_segments s JOIN read_parquet($directory) d ON d.person_key = s.person
        WHERE NOT s.ambassador AND NOT d.is_ambassador AND d.leave_date IS NULL
        ORDER BY 1, 2
        """,
        {"directory": directory},
    ).fetchall()
    out: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for site, person, active in rows:
        out[site].append((int(person), bool(active)))
    return out


def identities(con: Connection, directory: str, persons: set[int]) -> dict[int, tuple[Any, Any]]:
    """person -> (user_id, name) from the directory (kept only with `--keep-names`)."""
    if not persons:
        return {}
    import pyarrow.parquet as pq

    has_id = "user_id" in pq.read_schema(directory).names
    rows = con.execute(
        f"""
        SELECT person_key, {"user_id" if has_id else "NULL"}, display_name
        FROM read_parquet($directory) WHERE list_contains($persons, person_key)
        """,  # noqa: S608 -- a constant column name only
        {"directory": directory, "persons": sorted(persons)},
    ).fetchall()
    return {int(p): (u, n) for p, u, n in rows}


def directory_path(ctx: Context, names: bool) -> str | None:
    """The stored directory's file (None: none loaded); with `names`, DataError when it
    was loaded without `--keep-names` (neither names nor ids kept)."""
    directory = ctx.manifest.directory
    if not directory:
        return None
    if names and not (directory.get("names_kept") or directory.get("ids_kept")):
        raise DataError(
            "names were not kept: load the directory with `rse-adoption directory FILE "
            "--keep-names` (its name column) to show names and ids"
        )
    return str(ctx.settings.data_dir / directory["path"])


#: A person's reach, from the pairs: distinct colleagues (all, answering, drawn in), the
#: departments of those answering, and the answers they gave ("n").
Reach = dict[str, Any]
#: A ranked row: (score, evidence, person, contributed in the window).
Ranked = tuple[float, CandidateEvidence, int, bool]


def _reach(pairs: list[tuple[Any, ...]]) -> dict[int, Reach]:
    """person -> their Reach, from `_interaction_rows`' pairs."""
    reach: dict[int, Reach] = defaultdict(
        lambda: {"all": set(), "answering": set(), "drawn": set(), "departments": set(), "n": 0}
    )
    for target, actor, answered, department, drawn, answers in pairs:
        item = reach[int(target)]
        item["n"] += int(answers)
        item["all"].add(actor)
        if answered:
            item["answering"].add(actor)
        if drawn:
            item["drawn"].add(actor)
        if department and answered:
            item["departments"].add(department)
    return dict(reach)


def _evidence(
    got: Reach | None, weeks: tuple[int, int, int], nominated: int | None
) -> CandidateEvidence:
    """One person's evidence: their reach, (active weeks, replies given, contributions)
    and nominators (None: no survey)."""
    active_weeks, replies, contributions = weeks
    return CandidateEvidence(
        active_weeks=active_weeks,
        colleagues=len(got["all"]) if got else 0,
        colleagues_answering=len(got["answering"]) if got else 0,
        drawn_in=len(got["drawn"]) if got else 0,
        departments=len(got["departments"]) if got else 0,
        replies_given=replies,
        contributions=contributions,
        answers_received=got["n"] if got else 0,
        nominations=nominated,
    )


def _choose(
    ranked: list[Ranked], size: int, overall: str | None
) -> tuple[list[Ranked], str | None]:
    """The shortlist of a site's ranked people, and why it is empty (None: it is not):
    the `size` best active people with a score or a nomination, then the nominees who did
    not contribute (marked), never anyone when reach cannot be measured (`overall`)."""
    if overall is not None:
        return [], overall
    if not any(active for *_, active in ranked):
        reason: str | None = NO_ELIGIBLE
        shortlist: list[Ranked] = []
    else:
        standing = [r for r in ranked if r[3] and (r[0] > 0 or (r[1].nominations or 0) > 0)]
        shortlist, reason = standing[:size], None if standing else NO_REACH
    return shortlist + [r for r in ranked if not r[3] and (r[1].nominations or 0) > 0], reason


def _site(
    figure: AmbassadorSite,
    people: list[tuple[int, bool]],
    rank: Callable[[int, bool], Ranked],
    per_site: int | None,
    overall: str | None,
) -> CandidateSite:
    """One site's gap to its target and its shortlist (`rank`: a person's ranked row)."""
    if figure.suppressed:
        return CandidateSite(
            figure.site, True, None, None, None, None, None, None, None, (), SUPPRESSED
        )
    to_recruit = max(0, (figure.target or 0) - (figure.ambassadors or 0))
    size = per_site if per_site is not None else max(MIN_SHORTLIST, 2 * to_recruit)
    ranked = sorted(
        (rank(person, active) for person, active in people),
        key=lambda r: (
            -r[0],
            -r[1].colleagues_answering,
            -r[1].departments,
            -(r[1].nominations or 0),
            r[2],
        ),
    )
    shortlist, reason = _choose(ranked, size, overall)
    return CandidateSite(
        site=figure.site,
        suppressed=False,
        headcount=figure.headcount,
        ambassadors=figure.ambassadors,
        active_ambassadors=figure.active_ambassadors,
        target=figure.target,
        to_recruit=to_recruit,
        shortlist_size=size,
        eligible=sum(1 for _, active in people if active),
        candidates=tuple(
            Candidate(rank=i + 1, person=person, score=value, evidence=evidence, active=active)
            for i, (value, evidence, person, active) in enumerate(shortlist)
        ),
        reason=reason,
    )


def _site_figures(ctx: Context) -> list[AmbassadorSite]:
    """The report sites' ambassador figures as published (no reach, no effect)."""
    settings, k = ctx.settings, ctx.settings.min_group_size
    counts = ambassadors.site_ambassadors(ctx.con)
    figures, _ = ambassadors.publish(
        [
            ambassadors.site_figures(
                g,
                counts.get(g.site or "", (0, 0)),
                settings.ambassador_per_employees,
                k,
                None,
                None,
            )
            for g in ctx.groups
        ],
        k,
    )
    return figures


def section(
    ctx: Context,
    *,
    names: bool = False,
    per_site: int | None = None,
    survey: NominationsFile | None = None,
) -> dict[str, Any]:
    """The Report field of `ambassadors --candidates`: each report site's shortlist."""
    settings, window = ctx.settings, ctx.window
    directory = directory_path(ctx, names)
    votes = nominations(ctx.con, survey) if survey is not None and directory is not None else None
    overall: str | None = NO_DIRECTORY
    pairs: list[tuple[Any, ...]] = []
    people: list[tuple[Any, ...]] = []
    eligible: dict[str, list[tuple[int, bool]]] = {}
    if directory is not None:
        # contributions of the CANDIDATE_WEEKS before the window tell who already contributed
        scan_start = min(window.start, window.as_of - timedelta(days=7 * CANDIDATE_WEEKS - 1))
        scan_start -= timedelta(days=7 * CANDIDATE_WEEKS)
        scan = Window(as_of=window.as_of, days=(window.as_of - scan_start).days + 1)
        files = store.path_list(
            segments.event_files(settings.data_dir, ctx.manifest, scan.months())
        )
        pairs, people, any_target = _interaction_rows(ctx.con, files, window, scan_start, directory)
        eligible = _eligible(ctx.con, directory)
        overall = None if any_target else NO_TARGET
    weeks_of = {int(p): (int(w), int(r), int(c)) for p, w, r, c in people}
    reach = _reach(pairs)

    def rank(person: int, active: bool) -> Ranked:
        nominated = votes.counts.get(person, 0) if votes else None
        evidence = _evidence(reach.get(person), weeks_of.get(person, (0, 0, 0)), nominated)
        return score(evidence), evidence, person, active

    sites_out = [
        _site(figure, eligible.get(figure.site, []), rank, per_site, overall)
        for figure in _site_figures(ctx)
    ]
    if names and directory is not None:
        persons = {c.person for s in sites_out for c in s.candidates}
        found = identities(ctx.con, directory, persons)
        sites_out = [_named(s, found) for s in sites_out]
    return {
        "ambassador_candidates": AmbassadorCandidates(
            sites=tuple(sites_out),
            weeks=CANDIDATE_WEEKS,
            names=names,
            nominations_file=votes.file if votes else None,
            nominations_rows=votes.rows if votes else None,
            nominations_unmatched=votes.unmatched if votes else None,
            reason=overall,
        )
    }


def _named(site: CandidateSite, found: dict[int, tuple[Any, Any]]) -> CandidateSite:
    return replace(
        site,
        candidates=tuple(
            replace(
                c,
                user_id=found.get(c.person, (None, None))[0],
                name=found.get(c.person, (None, None))[1],
            )
            for c in site.candidates
        ),
    )


def default_shortlist(to_recruit: int) -> int:
    """Twice the ambassadors to recruit, at least MIN_SHORTLIST."""
    return max(MIN_SHORTLIST, 2 * to_recruit)
