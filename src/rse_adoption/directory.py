"""The employee directory: who works where, since when, and who is an ambassador.

Loaded from a CSV as HR or the change team exports it (English or French headers, `,` or
`;`, UTF-8 or cp1252, ISO or DD/MM/YYYY dates, yes/no/oui/non/1/0 flags). Only a person
(employee id or e-mail) and a site are required. The file is validated as a whole: a
partial directory would silently shrink headcounts, so any bad row rejects the load with
the file, line and problem, and the previous directory stays in place. A valid load
replaces the previous directory in one manifest commit. People are stored under their
pseudonymous key (e-mail if given, else employee id; the other as `alt_key`); names only
when the user asks for them (`--keep-names`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import store
from .config import Settings
from .errors import DataError
from .ingest.textio import iter_csv_records, match_columns, sniff_delimiter, sniff_text, split_line
from .names import normalise_site
from .privacy import KeyCache, load_or_create_secret
from .schema import DIRECTORY_COLUMN_ALIASES, DIRECTORY_SCHEMA, FALSE_VALUES, TRUE_VALUES

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")

#: A new directory must know at least this share of the people the store saw over its last
#: report window, or it is refused (unless forced): a file that lost its e-mail column keys
#: people by another identifier, matches nobody, and would silently put every site at 0 %.
MIN_MATCH_SHARE = 0.5


@dataclass(frozen=True)
class DirectorySummary:
    """A loaded directory: rows (people), distinct sites, ambassadors flagged."""

    file: str
    people: int
    sites: int
    ambassadors: int
    loaded_at: str
    #: People the store saw over its last report window (events and activity periods)
    #: and how many of them this directory lists; None when the store holds nobody yet.
    stored_people: int | None = None
    matched_people: int | None = None

    @property
    def match_share(self) -> float | None:
        """matched_people / stored_people (0..1), None when the store holds nobody."""
        if not self.stored_people or self.matched_people is None:
            return None
        return self.matched_people / self.stored_people

    def to_dict(self) -> dict[str, Any]:
        """The `directory --json` output."""
        share = self.match_share
        return asdict(self) | {"match_share": None if share is None else round(share, 4)}


def stored_people_matched(
    data_dir: Path, manifest: store.Manifest, table: pa.Table, window_days: int
) -> tuple[int, int]:
    """(people in the store's last `window_days` days of data — event authors and people of
    activity periods ending then, less concealed Microsoft 365 names —, how many of them
    `table`'s keys or alternate keys list). (0, 0) when the store holds no one."""
    import duckdb

    days = [f["last_day"] for f in manifest.event_files if "last_day" in f]
    days += [f["refresh_date"] for f in manifest.activity_files]
    if not days:
        return 0, 0
    start = date.fromisoformat(max(days)) - timedelta(days=window_days - 1)
    sources: list[str] = []
    params: dict[str, object] = {}
    events = [
        str(data_dir / f["path"])
        for f in manifest.event_files
        if f.get("last_day", "9999-12-31") >= start.isoformat()
    ]
    activity = [
        str(data_dir / f["path"])
        for f in manifest.activity_files
        if f["refresh_date"] >= start.isoformat()
    ]
    if events:
        sources.append(
            "SELECT user_key AS person FROM read_parquet($events) WHERE ts >= $start::DATE"
        )
        params["events"] = events
        params["start"] = start.isoformat()
    if activity:
        # concealed names match no directory whatever its columns: not a sign of a wrong one
        sources.append(
            "SELECT person_key AS person FROM read_parquet($activity) WHERE NOT concealed"
        )
        params["activity"] = activity
    if not sources:
        return 0, 0
    con = duckdb.connect()
    try:
        con.register("listed", table.select(["person_key", "alt_key"]))
        total, matched = con.execute(
            f"""
            WITH stored AS (SELECT DISTINCT person FROM ({" UNION ALL ".join(sources)})),
                 known AS (SELECT person_key AS key FROM listed
                           UNION SELECT alt_key FROM listed WHERE alt_key IS NOT NULL)
            SELECT count(*), count(*) FILTER (WHERE person IN (SELECT key FROM known))
            FROM stored
            """,  # noqa: S608 -- only constants are formatted in
            params,
        ).fetchall()[0]
    finally:
        con.close()
    return int(total), int(matched)


def parse_date(text: str) -> date | None:
    """ISO or day-first dates, with an optional time part that is ignored. Empty is None."""
    value = text.strip()
    if not value:
        return None
    value = re.split(r"[ T]", value, maxsplit=1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"bad date {text!r} (expected YYYY-MM-DD or DD/MM/YYYY)")


def parse_flag(text: str) -> bool:
    value = text.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ValueError(f"bad yes/no value {text!r} (expected yes/no, oui/non, true/false, 1/0)")


def read_directory(path: Path, person_key: KeyCache, keep_names: bool = False) -> pa.Table:
    """The directory as a DIRECTORY_SCHEMA table, or DataError naming file, line, problem.
    Names (a `name`/`nom` column) are kept only with `keep_names`."""
    info = sniff_text(path)
    delimiter = sniff_delimiter(info.first_line)
    headers = split_line(info.first_line, delimiter)
    found, _ = match_columns(headers, DIRECTORY_COLUMN_ALIASES)
    if "site" not in found or not ({"user_id", "email"} & found.keys()):
        needed = [c for c in ("site",) if c not in found]
        if not ({"user_id", "email"} & found.keys()):
            needed.insert(0, "user_id or email")
        raise DataError(
            f"{path}:1: directory header lacks {', '.join(needed)} "
            f"(found: {', '.join(h.strip() for h in headers) or 'nothing'})"
        )
    columns: dict[str, list[object]] = {f.name: [] for f in DIRECTORY_SCHEMA}
    seen: dict[int, int] = {}  # person key -> line it was first listed on
    errors: list[str] = []
    records = iter_csv_records(path, info.encoding, delimiter)
    next(records, None)
    for line, fields in records:
        if len(fields) != len(headers):
            errors.append(f"{path}:{line}: expected {len(headers)} columns, found {len(fields)}")
            continue

        def value(name: str, fields: list[str] = fields) -> str:
            index = found.get(name)
            return fields[index].strip() if index is not None else ""

        email, user_id, site = value("email"), value("user_id"), normalise_site(value("site"))
        primary = email or user_id
        if not primary:
            errors.append(f"{path}:{line}: no employee id or e-mail")
            continue
        if not site:
            errors.append(f"{path}:{line}: no site")
            continue
        key = person_key(primary)
        if key in seen:
            errors.append(f"{path}:{line}: person listed twice (first on line {seen[key]})")
            continue
        seen[key] = line
        try:
            hire, leave = parse_date(value("hire_date")), parse_date(value("leave_date"))
            is_ambassador = parse_flag(value("is_ambassador"))
            since = parse_date(value("ambassador_since"))
        except ValueError as exc:
            errors.append(f"{path}:{line}: {exc}")
            continue
        columns["person_key"].append(key)
        columns["alt_key"].append(person_key(user_id) if email and user_id else None)
        columns["site"].append(site)
        columns["department"].append(value("department") or None)
        columns["hire_date"].append(hire)
        columns["leave_date"].append(leave)
        columns["is_ambassador"].append(is_ambassador or since is not None)
        columns["ambassador_since"].append(since)
        columns["display_name"].append((value("display_name") or None) if keep_names else None)
        columns["user_id"].append((user_id or email) if keep_names else None)
    if errors:
        more = f" (and {len(errors) - 1} more bad rows)" if len(errors) > 1 else ""
        raise DataError(errors[0] + more)
    if not columns["person_key"]:
        raise DataError(f"{path}: the directory has no rows")
    return pa.table(columns, schema=DIRECTORY_SCHEMA)


def load_directory(
    path: Path,
    settings: Settings,
    wait_seconds: float = 0.0,
    *,
    keep_names: bool = False,
    force: bool = False,
) -> DirectorySummary:
    """Validate `path` and make it the store's directory, replacing the previous one.
    With `keep_names`, people's names are stored too (for `ambassadors --names`).

    A directory that lists fewer than MIN_MATCH_SHARE of the people the store saw over its
    last report window (`settings.window_days`) is refused with DataError (exit 65) naming
    the match rate, and the previous directory stays, unless `force`."""
    if not path.is_file():
        from .errors import NoInputError

        raise NoInputError(f"{path}: no such file")
    with store.writing(settings.data_dir, wait_seconds) as tx:
        table = read_directory(path, KeyCache(load_or_create_secret(settings.data_dir)), keep_names)
        stored, matched = stored_people_matched(
            settings.data_dir, tx.manifest, table, settings.window_days
        )
        if stored and matched < MIN_MATCH_SHARE * stored and not force:
            raise DataError(
                f"{path}: the directory lists only {matched} of the {stored} people active in "
                f"the store's last {settings.window_days} days ({matched / stored:.1%}); is "
                "the e-mail or employee-id column the one the exports use? The previous "
                "directory is kept; load it anyway with --force"
            )
        target = tx.new_data_path("directory")
        pq.write_table(table, target)
        store.fsync_file(target)
        manifest = tx.manifest.copy()
        loaded_at = store.utc_now_iso()
        summary = DirectorySummary(
            file=path.name,
            people=table.num_rows,
            sites=len(set(table.column("site").to_pylist())),
            ambassadors=sum(table.column("is_ambassador").to_pylist()),
            loaded_at=loaded_at,
            stored_people=stored or None,
            matched_people=matched if stored else None,
        )
        manifest.directory = {
            "path": tx.relative(target),
            "source_file": path.name,
            "rows": table.num_rows,
            "loaded_at": loaded_at,
            "names_kept": keep_names and table.column("display_name").null_count < table.num_rows,
            "ids_kept": keep_names,  # user_id, for `ambassadors --candidates --names`
        }
        tx.commit(manifest)
    return summary
