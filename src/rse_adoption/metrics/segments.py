"""Who does what: per-person participation in the window, and each person's segment.

Definitions (docs/metrics.md repeats them):
- the window is the UTC days `as_of - window_days + 1` .. `as_of`, inclusive;
- a person's segment over the window is, first match wins: contributor (at least one post
  or comment), reactor (at least one reaction), reader (at least one read), visitor
  (logins only), inactive (nothing);
- a person is a directory entry; events join it by its key or alternate key (e-mail or
  employee id). Events of keys the directory does not know belong to "unlisted" people.

Everything is computed by DuckDB over the Parquet files of the months the window touches:
one scan builds `person_weeks` (one row per person and ISO week with activity flags), from
which segments and weekly series are derived without reading events again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ..store import Manifest, path_list

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


def connect() -> duckdb.DuckDBPyConnection:
    """A connection whose dates are UTC dates (the window is defined in UTC)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    return con


def event_files(data_dir: Path, manifest: Manifest, months: set[str] | None = None) -> list[Path]:
    """Event files of the store, only those of `months` when given (partition pruning)."""
    return [
        data_dir / f["path"] for f in manifest.event_files if months is None or f["month"] in months
    ]


def last_event_day(con: duckdb.DuckDBPyConnection, files: list[Path]) -> date | None:
    """The UTC date of the latest event in the store, or None when it holds none."""
    if not files:
        return None
    value = con.sql(
        "SELECT max(ts)::DATE FROM read_parquet($files)", params={"files": path_list(files)}
    )
    return value.fetchall()[0][0]


def first_event_day(con: duckdb.DuckDBPyConnection, files: list[Path]) -> date | None:
    if not files:
        return None
    value = con.sql(
        "SELECT min(ts)::DATE FROM read_parquet($files)", params={"files": path_list(files)}
    )
    return value.fetchall()[0][0]


def create_user_weeks(con: duckdb.DuckDBPyConnection, files: list[Path], window: Window) -> None:
    """Temp table `user_weeks`: one row per event key and ISO week (Monday) of the window,
    with flags for each event type seen (the single scan of events)."""
    empty = "(SELECT NULL::VARCHAR AS user_key, NULL::TIMESTAMPTZ AS ts, NULL::VARCHAR AS event_type WHERE false)"
    params = {
        "start": window.start.isoformat(),
        "end": (window.as_of + timedelta(days=1)).isoformat(),
    }
    if files:
        params["files"] = path_list(files)  # type: ignore[assignment]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE user_weeks AS
        SELECT
            user_key,
            date_trunc('week', ts::DATE)::DATE AS week,
            bool_or(event_type IN ('post', 'comment')) AS contributed,
            bool_or(event_type = 'reaction') AS reacted,
            bool_or(event_type = 'read') AS did_read,
            bool_or(event_type = 'login') AS logged_in
        FROM {"read_parquet($files)" if files else empty}
        WHERE ts >= $start::TIMESTAMPTZ AND ts < $end::TIMESTAMPTZ
        GROUP BY ALL
        """,  # noqa: S608 -- only a constant is formatted in
        params,
    ).fetchall()


def create_people_from_directory(
    con: duckdb.DuckDBPyConnection, directory_file: Path, as_of: date
) -> None:
    """Temp tables `people` (employed on as_of: person, site, ambassador flag) and
    `key_map` (every key that names a directory person -> that person)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE directory AS SELECT * FROM read_parquet($file)",
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
    con: duckdb.DuckDBPyConnection, files: list[Path], as_of: date
) -> None:
    """Without a directory: everyone seen in the store up to as_of, at the site their
    events name most often (ties: alphabetical; none: "(no site)")."""
    if files:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE people AS
            WITH counts AS (
                SELECT user_key, coalesce(site, '(no site)') AS site, count(*) AS n
                FROM read_parquet($files)
                WHERE ts < $end::TIMESTAMPTZ
                GROUP BY ALL
            )
            SELECT user_key AS person, site, false AS ambassador
            FROM counts
            QUALIFY row_number() OVER (PARTITION BY user_key ORDER BY n DESC, site) = 1
            """,
            {"end": (as_of + timedelta(days=1)).isoformat(), "files": path_list(files)},
        ).fetchall()
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE people AS "
            "SELECT NULL::VARCHAR AS person, NULL::VARCHAR AS site, false AS ambassador WHERE false"
        ).fetchall()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE key_map AS SELECT person AS key, person AS person_key FROM people"
    ).fetchall()


def create_person_weeks(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `person_weeks`: user_weeks resolved to people (`listed` false when the
    key is not in the directory)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE person_weeks AS
        SELECT coalesce(k.person_key, u.user_key) AS person,
               k.person_key IS NOT NULL AS listed,
               u.week,
               bool_or(u.contributed) AS contributed,
               bool_or(u.reacted) AS reacted,
               bool_or(u.did_read) AS did_read,
               bool_or(u.logged_in) AS logged_in
        FROM user_weeks u LEFT JOIN key_map k ON k.key = u.user_key
        GROUP BY ALL
        """
    ).fetchall()


def create_person_segments(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `person_segments`: every person of `people` with their window segment."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE person_segments AS
        WITH activity AS (
            SELECT person, bool_or(contributed) AS c, bool_or(reacted) AS r,
                   bool_or(did_read) AS d, bool_or(logged_in) AS l
            FROM person_weeks WHERE listed GROUP BY person
        )
        SELECT p.person, p.site, p.ambassador,
               CASE WHEN a.c THEN 'contributor'
                    WHEN a.r THEN 'reactor'
                    WHEN a.d THEN 'reader'
                    WHEN a.l THEN 'visitor'
                    ELSE 'inactive' END AS segment
        FROM people p LEFT JOIN activity a USING (person)
        """
    ).fetchall()


def unlisted_active_users(con: duckdb.DuckDBPyConnection) -> int:
    """People active in the window whose key the directory does not know."""
    return int(
        con.sql("SELECT count(DISTINCT person) FROM person_weeks WHERE NOT listed").fetchall()[0][0]
    )
