"""Who does what: per-person participation in the window, and each person's segment.

Definitions (docs/metrics.md repeats them):
- the window is the UTC days `as_of - window_days + 1` .. `as_of`, inclusive;
- a person's segment over the window is, first match wins: contributor (at least one post
  or comment), reactor (at least one reaction), reader (at least one read), visitor
  (logins only), inactive (nothing);
- a person is a directory entry; events join it by its key or alternate key (e-mail or
  employee id). Events of keys the directory does not know belong to "unlisted" people.

Everything is computed by DuckDB over the Parquet files of the months the window touches:
one scan builds `person_weeks` (one row per person and ISO week with the person's highest
participation level that week), from which segments and weekly series are derived without
reading events again. The first and
last event days come from the manifest's per-file statistics when it has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..names import normalise_site
from ..person_summary import CONTRIBUTION_SQL
from ..store import Manifest, path_list
from .engine import Connection

SEGMENTS: tuple[str, ...] = ("inactive", "visitor", "reader", "reactor", "contributor")


@dataclass(frozen=True)
class Window:
    """The report window: `as_of` and `days` (inclusive on both ends, UTC dates)."""

    as_of: date
    days: int

    @property
    def start(self) -> date:
        return self.as_of - timedelta(days=self.days - 1)

    def months(self) -> set[str]:
        """The `YYYY-MM` partitions that hold events of the window."""
        months, day = set(), self.start.replace(day=1)
        while day <= self.as_of:
            months.add(day.strftime("%Y-%m"))
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return months


def event_files(data_dir: Path, manifest: Manifest, months: set[str] | None = None) -> list[Path]:
    """Event files of the store, only those of `months` when given (partition pruning)."""
    return [
        data_dir / f["path"] for f in manifest.event_files if months is None or f["month"] in months
    ]


def data_period(
    con: Connection, data_dir: Path, manifest: Manifest
) -> tuple[date | None, date | None]:
    """UTC dates of the first and last event in the store (None, None when it is empty).

    Read from the manifest's per-file `first_day`/`last_day`; scanned only for files
    committed without them."""
    if not manifest.event_files:
        return None, None
    if all("first_day" in f and "last_day" in f for f in manifest.event_files):
        return (
            date.fromisoformat(min(f["first_day"] for f in manifest.event_files)),
            date.fromisoformat(max(f["last_day"] for f in manifest.event_files)),
        )
    files = path_list([data_dir / f["path"] for f in manifest.event_files])
    first, last = con.execute(
        "SELECT min(ts)::DATE, max(ts)::DATE FROM read_parquet($files)", {"files": files}
    ).fetchall()[0]
    return first, last


def apply_site_aliases(con: Connection, aliases: Sequence[tuple[str, str]]) -> None:
    """Rename the sites of `people` spelled as an alias ([site_aliases] of the configuration:
    alias -> canonical name, compared after collapsing blanks), so that one site written two
    ways is counted once."""
    if not aliases:
        return
    # one row per alias: two spellings that collapse to the same one must not duplicate people
    pairs = list({normalise_site(alias): normalise_site(site) for alias, site in aliases}.items())
    values = ", ".join(f"($alias{i}, $site{i})" for i in range(len(pairs)))
    params = {f"alias{i}": alias for i, (alias, _) in enumerate(pairs)}
    params |= {f"site{i}": site for i, (_, site) in enumerate(pairs)}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE site_aliases AS "  # noqa: S608 -- placeholders only
        f"SELECT * FROM (VALUES {values}) AS a(alias, site)",
        params,
    ).fetchall()
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE people AS
            SELECT p.person, coalesce(a.site, p.site) AS site, p.ambassador
            FROM people p LEFT JOIN site_aliases a ON a.alias = p.site
        """
    ).fetchall()


def create_people_from_directory(con: Connection, directory_file: Path, as_of: date) -> None:
    """Temp tables `people` (employed on as_of: person, site, ambassador flag) and
    `key_map` (every key that names a directory person -> that person)."""
    # The directory is read once into a table (a view cannot take the file as a parameter).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE directory AS SELECT person_key, alt_key, site, "
        "is_ambassador, ambassador_since, hire_date, leave_date FROM read_parquet($file)",
        {"file": str(directory_file)},
    ).fetchall()
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE key_map AS
            SELECT person_key AS key, person_key FROM directory
            UNION ALL
            SELECT alt_key AS key, person_key FROM directory WHERE alt_key IS NOT NULL;
        CREATE OR REPLACE TEMP TABLE people AS
            SELECT person_key AS person, site,
                   is_ambassador AND (ambassador_since IS NULL OR ambassador_since <= $as_of::DATE)
                       AS ambassador
            FROM directory
            WHERE (hire_date IS NULL OR hire_date <= $as_of::DATE)
              AND (leave_date IS NULL OR leave_date > $as_of::DATE);
        """,
        {"as_of": as_of.isoformat()},
    ).fetchall()


def create_people_from_activity(
    con: Connection,
    files: list[Path],
    as_of: date,
    activity_files: Sequence[Path] = (),
    member_files: Sequence[Path] = (),
    counts: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Temp tables `people`, `key_map` and an empty `directory`. Without a directory:
    everyone seen in the store up to as_of — in events, or in
    activity periods ending by then — and every member of the platforms' member lists
    (`member_files`), at the site their events name most often (ties: alphabetical; none,
    as for people known only from activity periods or a member list: "(no site)"). The
    events' counts per person and site come from `counts` when given (the query and
    parameters of person_summary.site_counts up to as_of), else from scanning `files`."""
    if files or activity_files or member_files:
        sources = []
        end: dict[str, object] = {"end": (as_of + timedelta(days=1)).isoformat()}
        params: dict[str, object] = {} if counts is not None and not activity_files else end
        if files and counts is not None:
            sources.append(counts[0])
            params |= counts[1]
        elif files:
            sources.append(
                "SELECT user_key, coalesce(site, '(no site)') AS site, count(*) AS n "
                "FROM read_parquet($files) WHERE ts < $end::TIMESTAMPTZ GROUP BY ALL"
            )
            params["files"] = path_list(files)
        if activity_files:
            sources.append(
                "SELECT DISTINCT person_key AS user_key, '(no site)' AS site, 0 AS n "
                "FROM read_parquet($activity) WHERE refresh_date < $end::DATE"
            )
            params["activity"] = path_list(list(activity_files))
        if member_files:
            sources.append(
                "SELECT DISTINCT person_key AS user_key, '(no site)' AS site, 0 AS n "
                "FROM read_parquet($members)"
            )
            params["members"] = path_list(list(member_files))
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE people AS
            WITH counts AS ({" UNION ALL ".join(sources)})
            SELECT user_key AS person, site, false AS ambassador
            FROM counts
            QUALIFY row_number() OVER (PARTITION BY user_key ORDER BY n DESC, site) = 1
            """,  # noqa: S608 -- only constants are formatted in
            params,
        ).fetchall()
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE people AS "
            "SELECT NULL::BIGINT AS person, NULL::VARCHAR AS site, false AS ambassador WHERE false"
        ).fetchall()
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE key_map AS
            SELECT person AS key, person AS person_key FROM people;
        CREATE OR REPLACE TEMP TABLE directory AS  -- none: nobody is an ambassador
            SELECT NULL::BIGINT AS person_key, NULL::DATE AS ambassador_since WHERE false;
        """
    ).fetchall()


#: Formats whose event `site` is the person's profile location (Yammer's Users.csv), not
#: where the event happened: it places people missing from the directory.
PROFILE_SITE_FORMATS = ("yammer",)


def add_people_from_profile_sites(con: Connection, files: list[Path], as_of: date) -> int:
    """With a directory: add to `people` (and `key_map`) the people it lacks whose events
    up to as_of come from a PROFILE_SITE_FORMATS export naming their location, at that
    location (the most frequent one). Returns how many were added."""
    if not files:
        return 0
    before = con.execute("SELECT count(*) FROM people").fetchall()[0][0]
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE people AS
        SELECT * FROM people
        UNION ALL
        SELECT user_key AS person, site, false AS ambassador FROM (
            SELECT user_key, site, count(*) AS n FROM read_parquet($files)
            WHERE list_contains($formats, source_format) AND site IS NOT NULL
              AND ts < $end::TIMESTAMPTZ
            GROUP BY ALL
        )
        WHERE user_key NOT IN (SELECT key FROM key_map)
        QUALIFY row_number() OVER (PARTITION BY user_key ORDER BY n DESC, site) = 1
        """,
        {
            "files": path_list(files),
            "formats": list(PROFILE_SITE_FORMATS),
            "end": (as_of + timedelta(days=1)).isoformat(),
        },
    ).fetchall()
    added = int(con.execute("SELECT count(*) FROM people").fetchall()[0][0]) - int(before)
    if added:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE key_map AS SELECT * FROM key_map UNION ALL "
            "SELECT person AS key, person AS person_key FROM people "
            "WHERE person NOT IN (SELECT key FROM key_map)"
        ).fetchall()
    return added


#: Participation level of an event type; a person's segment is the name of their highest.
LEVEL_SQL = """CASE event_type WHEN 'post' THEN 4 WHEN 'comment' THEN 4 WHEN 'reaction' THEN 3
    WHEN 'read' THEN 2 WHEN 'login' THEN 1 ELSE 0 END"""
WEEK_MICROSECONDS = 7 * 86_400 * 1_000_000


def week_monday(window: Window) -> date:
    """Monday of the ISO week holding the window's first day: week index 0 of person_weeks."""
    return window.start - timedelta(days=window.start.weekday())


def create_person_weeks(con: Connection, files: list[Path], window: Window) -> None:
    """Temp table `person_weeks` (person, listed, week, level): one row per person and ISO
    week of the window with the highest participation level of their events that week
    (4 post or comment, 3 reaction, 2 read, 1 login) — the single scan of events. `week`
    counts weeks from `week_monday(window)`, computed on microseconds since the epoch
    (UTC) because calendar casts cost more than the whole aggregation. Event keys resolve
    to directory people through `key_map`; `listed` is false for keys it does not know."""
    empty = "(SELECT NULL::BIGINT AS user_key, NULL::TIMESTAMPTZ AS ts, NULL::VARCHAR AS event_type WHERE false)"
    params: dict[str, object] = {
        "start": window.start.isoformat(),
        "end": (window.as_of + timedelta(days=1)).isoformat(),
        "monday": week_monday(window).isoformat(),
        "week_us": WEEK_MICROSECONDS,
    }
    if files:
        params["files"] = path_list(files)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE person_weeks AS
        SELECT
            coalesce(k.person_key, e.user_key) AS person,
            k.person_key IS NOT NULL AS listed,
            (epoch_us(e.ts) - epoch_us($monday::TIMESTAMPTZ)) // $week_us AS week,
            max({LEVEL_SQL}) AS level
        FROM {"read_parquet($files)" if files else empty} e
        LEFT JOIN key_map k ON k.key = e.user_key
        WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
        GROUP BY ALL
        """,  # noqa: S608 -- only constants are formatted in
        params,
    ).fetchall()


#: Participation level of an activity-period row (docs/metrics.md, "Activity periods"):
#: posts or replies make a contributor, else reactions a reactor, else reads a reader, else
#: other activity (Teams chats, calls, meetings; Slack days active) a visitor.
PERIOD_LEVEL_SQL = """CASE WHEN coalesce(posts, 0) + coalesce(replies, 0) > 0 THEN 4
    WHEN coalesce(reactions, 0) > 0 THEN 3 WHEN coalesce(reads, 0) > 0 THEN 2
    WHEN coalesce(other_activity, 0) > 0 THEN 1 ELSE 0 END"""


def create_person_periods(con: Connection, files: Sequence[Path]) -> None:
    """Temp table `person_periods` (person, listed, level, concealed): the participation
    level of each person in the activity periods that match the window exactly (`files`,
    chosen by the caller), resolved to directory people through `key_map` like events.
    Several formats (Viva Engage and Teams) for one person: the highest level."""
    if not files:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE person_periods AS SELECT NULL::BIGINT AS person, "
            "false AS listed, 0 AS level, false AS concealed WHERE false"
        ).fetchall()
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE person_periods AS
        SELECT coalesce(k.person_key, a.person_key) AS person,
               k.person_key IS NOT NULL AS listed,
               max({PERIOD_LEVEL_SQL}) AS level,
               bool_or(a.concealed) AS concealed
        FROM read_parquet($files) a LEFT JOIN key_map k ON k.key = a.person_key
        GROUP BY 1, 2
        """,  # noqa: S608 -- only constants are formatted in
        {"files": path_list(list(files))},
    ).fetchall()


#: The week index (as in person_weeks) of an activity period's last day.
PERIOD_WEEK_SQL = (
    "(epoch_us(a.refresh_date::TIMESTAMPTZ) - epoch_us($monday::TIMESTAMPTZ)) // $week_us"
)


def add_period_weeks(con: Connection, files: Sequence[Path], window: Window) -> None:
    """Add to `person_weeks` the levels (PERIOD_LEVEL_SQL) of the one-day or seven-day
    periods that tile the window (`files`, chosen by grain.coverage), each in the ISO week
    of its last day (a seven-day period that tiles ends on a Sunday: it is that week).
    Rows without activity add nothing, as events record only activity; a person-week
    seen in events and in periods, or on several days, keeps its highest level, never a
    sum."""
    if not files:
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE person_weeks AS
        SELECT person, listed, week, max(level) AS level FROM (
            SELECT person, listed, week, level FROM person_weeks
            UNION ALL
            SELECT coalesce(k.person_key, a.person_key) AS person,
                   k.person_key IS NOT NULL AS listed,
                   {PERIOD_WEEK_SQL} AS week,
                   {PERIOD_LEVEL_SQL} AS level
            FROM read_parquet($files) a LEFT JOIN key_map k ON k.key = a.person_key
            WHERE {PERIOD_LEVEL_SQL} > 0
        ) GROUP BY person, listed, week
        """,  # noqa: S608 -- only constants are formatted in
        {
            "files": path_list(list(files)),
            "monday": week_monday(window).isoformat(),
            "week_us": WEEK_MICROSECONDS,
        },
    ).fetchall()


def add_period_contributions(con: Connection, files: Sequence[Path], monday: date) -> None:
    """Add to `contribution_weeks` the people of `people` whose posted count (Viva Engage)
    or post and reply messages (Teams) are above 0 in one of the tiling periods `files`
    (the days or weeks of the lookback, chosen by grain.coverage), in the week of the
    period's last day counted from `monday`. A person and week already there from events
    is counted once."""
    if not files:
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE contribution_weeks AS
        SELECT DISTINCT person, week FROM (
            SELECT person, week FROM contribution_weeks
            UNION ALL
            SELECT k.person_key AS person, {PERIOD_WEEK_SQL} AS week
            FROM read_parquet($files) a JOIN key_map k ON k.key = a.person_key
            WHERE coalesce(a.posts, 0) + coalesce(a.replies, 0) > 0
        )
        """,  # noqa: S608 -- only constants are formatted in
        {
            "files": path_list(list(files)),
            "monday": monday.isoformat(),
            "week_us": WEEK_MICROSECONDS,
        },
    ).fetchall()


def create_person_segments(con: Connection) -> None:
    """Temp table `person_segments`: every person of `people` with their window segment
    (the highest level of their events and of matching activity periods), and for
    contributors seen in events the week (index as in person_weeks) of their first
    contribution."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE person_segments AS
        WITH weekly AS (
            SELECT person, max(level) AS level,
                   min(week) FILTER (WHERE level = 4) AS first_contribution
            FROM person_weeks WHERE listed GROUP BY person
        ),
        periodic AS (
            SELECT person, max(level) AS level FROM person_periods WHERE listed GROUP BY person
        ),
        activity AS (
            SELECT person, greatest(coalesce(w.level, 0), coalesce(p.level, 0)) AS level,
                   w.first_contribution
            FROM weekly w FULL JOIN periodic p USING (person)
        )
        SELECT p.person, p.site, p.ambassador,
               CASE coalesce(a.level, 0) WHEN 4 THEN 'contributor' WHEN 3 THEN 'reactor'
                    WHEN 2 THEN 'reader' WHEN 1 THEN 'visitor' ELSE 'inactive' END AS segment,
               a.first_contribution
        FROM people p LEFT JOIN activity a USING (person)
        """
    ).fetchall()


#: The event types `window_events` keeps: what threads, answers and interactions are made of.
INTERACTION_TYPES = ("post", "comment", "reaction")


def create_window_events(con: Connection, files: list[str], window: Window) -> None:
    """Temp table `window_events` (person, event_type, us, space, content_id, target): the
    posts, comments and reactions of the window, their author and target person resolved
    through `key_map` (a key it does not know stays as it is), `us` the time in
    microseconds since the epoch (UTC). Conversations, interactions and concentration read
    it; bots never reach the store (the readers drop them)."""
    if not files:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE window_events AS SELECT NULL::BIGINT AS person, "
            "NULL::VARCHAR AS event_type, NULL::BIGINT AS us, NULL::VARCHAR AS space, "
            "NULL::VARCHAR AS content_id, NULL::BIGINT AS target WHERE false"
        ).fetchall()
        return
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE window_events AS
        SELECT coalesce(k.person_key, e.user_key) AS person, e.event_type,
               epoch_us(e.ts) AS us, e.space, e.content_id,
               coalesce(t.person_key, e.target_user_key) AS target
        FROM read_parquet($files) e
        LEFT JOIN key_map k ON k.key = e.user_key
        LEFT JOIN key_map t ON t.key = e.target_user_key
        WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
          AND list_contains($types, e.event_type)
        """,
        {
            "files": files,
            "start": window.start.isoformat(),
            "end": (window.as_of + timedelta(days=1)).isoformat(),
            "types": list(INTERACTION_TYPES),
        },
    ).fetchall()


def create_contribution_weeks(
    con: Connection,
    files: list[str],
    start: date,
    end: date,
    monday: date,
    held: tuple[str, dict[str, Any], date] | None = None,
) -> None:
    """Temp table `contribution_weeks` (person, week): people of `people` who posted or
    commented in each ISO week from `start` to `end` (UTC dates, inclusive); `week` counts
    from `monday`. Keys resolve through `key_map` as for segments. `held`: the weeks before
    a Monday (its third item) from the per-person summary (the query and parameters of
    person_summary.contribution_weeks, from `start` = `monday`), the events of `files`
    read from that Monday on only."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if held is not None:
        parts.append(
            f"SELECT k.person_key AS person, s.week FROM ({held[0]}) s "  # noqa: S608 -- a constant
            "JOIN key_map k ON k.key = s.user_key"
        )
        params |= held[1]
    if files:
        parts.append(
            """SELECT k.person_key AS person,
                   (epoch_us(e.ts) - epoch_us($monday::TIMESTAMPTZ)) // $week_us AS week
            FROM read_parquet($files) e JOIN key_map k ON k.key = e.user_key
            WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
              AND e.event_type IN ('post', 'comment')"""
        )
        params |= {
            "files": files,
            "monday": monday.isoformat(),
            "week_us": 7 * 86_400 * 1_000_000,
            "start": (start if held is None else held[2]).isoformat(),
            "end": (end + timedelta(days=1)).isoformat(),
        }
    if not parts:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE contribution_weeks AS "
            "SELECT NULL::BIGINT AS person, NULL::BIGINT AS week WHERE false"
        ).fetchall()
        return
    union = " UNION ALL ".join(parts)
    query = f"SELECT DISTINCT person, week FROM ({union})"  # noqa: S608 -- constants
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE contribution_weeks AS {query}",
        params,
    ).fetchall()


def unlisted_active_users(con: Connection) -> int:
    """People active in the window (events, or activity periods with any activity) whose
    key the directory does not know."""
    return int(
        con.execute(
            "SELECT count(DISTINCT person) FROM (SELECT person FROM person_weeks WHERE NOT "
            "listed UNION ALL SELECT person FROM person_periods WHERE NOT listed AND level > 0)"
        ).fetchall()[0][0]
    )


def directory_match_share(con: Connection) -> float | None:
    """Share (0..1) of the people active in the window whom the directory lists; None when
    nobody is active. Low when the directory keys people by another identifier than the
    exports (docs/metrics.md, "Headcount")."""
    listed, total = con.execute(
        "SELECT count(DISTINCT person) FILTER (WHERE listed), count(DISTINCT person) FROM "
        "(SELECT person, listed FROM person_weeks UNION ALL "
        "SELECT person, listed FROM person_periods WHERE level > 0)"
    ).fetchall()[0]
    return int(listed) / int(total) if total else None


def concealed_people(con: Connection) -> tuple[int, int]:
    """(people of the matching activity periods whose names are concealed, how many of
    them the directory knows)."""
    total, listed = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE listed) FROM person_periods WHERE concealed"
    ).fetchall()[0]
    return int(total), int(listed)


def previous_levels(con: Connection, files: list[str], window: Window) -> str:
    """The name of a temp table (person, previous, previous_level) over the window before
    `window` (as many days, ending the day before it starts), from its months' event
    `files`: whether each person posted or commented then, and their highest level
    (LEVEL_SQL), keys resolved through `key_map` (a key it does not know stays as it is).
    Made once per report and window (movement and transitions both read it): the files
    of a window do not change while a report holds the store."""
    before_start = window.start - timedelta(days=window.days)
    name = f"previous_levels_{before_start:%Y%m%d}_{window.days}"
    con.execute(
        f"""
        CREATE TEMP TABLE IF NOT EXISTS {name} AS
        SELECT coalesce(k.person_key, e.user_key) AS person,
               bool_or({CONTRIBUTION_SQL}) AS previous,
               max({LEVEL_SQL}) AS previous_level
        FROM read_parquet($files) e LEFT JOIN key_map k ON k.key = e.user_key
        WHERE e.ts >= $start::TIMESTAMPTZ AND e.ts < $end::TIMESTAMPTZ
        GROUP BY 1
        """,  # noqa: S608 -- a name made of digits and constants
        {"files": files, "start": before_start.isoformat(), "end": window.start.isoformat()},
    ).fetchall()
    return name
