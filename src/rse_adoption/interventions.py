"""The change team's actions: webinars, trainings, campaigns, showcases, ambassadors.

Loaded from a CSV (`date`, `site`, `kind`, `label`; French headers `date`, `site`, `type`,
`libellé` accepted; `,` or `;`, UTF-8 or cp1252, ISO or DD/MM/YYYY dates). A `site` left
empty or `*` is every site; a site spelled as an alias of `[site_aliases]` is stored under
its canonical name, the one reports show. With another kind column (`type`), an `action`
column is the label. An exact repeat of a row (same date, site, kind, label) is left out
and counted. The file is validated as a whole, like the directory: a bad row, a missing
date, site or kind column, or a site the store does not know rejects the load (DataError,
exit 65, naming the line and the closest known site) and the previous list stays; a valid
load replaces the previous list in one manifest commit (a file of its header alone
empties it). The actions are aggregates of the organisation,
never people: nothing here is personal data. Their measured effect: metrics/effects.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import store
from .config import Settings
from .errors import DataError, NoInputError
from .names import normalise_site

if TYPE_CHECKING:  # pyarrow is imported when loading: `report --format json` never pays for it
    import pyarrow as pa

#: The site of an action aimed at every site.
EVERY_SITE = "*"


def intervention_schema() -> pa.Schema:
    """The stored file's columns: date, site (a known site, or EVERY_SITE), kind, label,
    and the line of the loaded file."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("date", pa.date32(), nullable=False),
            pa.field("site", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("label", pa.string(), nullable=False),
            pa.field("line", pa.int64(), nullable=False),
        ]
    )


INTERVENTION_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "jour", "date_action"),
    "site": ("site", "location", "lieu", "établissement", "etablissement"),
    "kind": ("kind", "type", "action", "nature"),
    "label": ("label", "libellé", "libelle", "title", "titre", "name", "nom", "description"),
}


@dataclass(frozen=True)
class Intervention:
    """One logged action: its day, its site (EVERY_SITE: all), its kind and label."""

    date: date
    site: str
    kind: str
    label: str


@dataclass(frozen=True)
class InterventionsSummary:
    """A loaded list of actions: rows, how many aim at every site, distinct kinds."""

    file: str
    actions: int
    every_site_actions: int
    kinds: tuple[str, ...]
    loaded_at: str
    #: exact repeats of an earlier row (same date, site, kind and label), left out
    duplicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The `interventions --json` output."""
        return asdict(self) | {"kinds": list(self.kinds)}


def _alias_map(aliases: Sequence[tuple[str, str]]) -> dict[str, str]:
    """[site_aliases] as reports apply them (segments.apply_site_aliases): alias ->
    canonical name, both with blanks collapsed."""
    return {normalise_site(alias): normalise_site(site) for alias, site in aliases}


def known_sites(
    data_dir: Path, manifest: store.Manifest, aliases: Sequence[tuple[str, str]] = ()
) -> list[str]:
    """The sites the store knows, under the names reports show: the directory's, and those
    the events name, a site spelled as an alias ([site_aliases]) under its canonical name."""
    import duckdb

    sources: list[str] = []
    params: dict[str, object] = {}
    if manifest.directory:
        sources.append("SELECT site FROM read_parquet($directory)")
        params["directory"] = str(data_dir / manifest.directory["path"])
    if manifest.event_files:
        sources.append("SELECT site FROM read_parquet($events) WHERE site IS NOT NULL")
        params["events"] = [str(data_dir / f["path"]) for f in manifest.event_files]
    if not sources:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT DISTINCT site FROM ({' UNION ALL '.join(sources)})",  # noqa: S608 -- constants
            params,
        ).fetchall()
    finally:
        con.close()
    renamed = _alias_map(aliases)
    return sorted({renamed.get(str(site), str(site)) for (site,) in rows if site})


def _columns(path: Path, headers: list[str]) -> dict[str, int]:
    """Header position of each field; DataError naming a missing date, site or kind. Both
    `type` and `action` are kind aliases: with another kind column present, `action` is the
    label (when no label column is)."""
    from .ingest.textio import match_columns, normalise_header

    found, missing = match_columns(headers, INTERVENTION_COLUMN_ALIASES)
    names = [normalise_header(h) for h in headers]
    kinds = [i for i, h in enumerate(names) if h in INTERVENTION_COLUMN_ALIASES["kind"]]
    if "label" in missing and "action" in names and len(kinds) > 1:
        found["label"] = names.index("action")
        found["kind"] = next(i for i in kinds if i != found["label"])
    lacking = [c for c in ("date", "site", "kind") if c not in found]
    if lacking:
        raise DataError(
            f"{path}:1: interventions header lacks {', '.join(lacking)} (expected date, site, "
            f"kind, label; a site left empty or * is every site; found: "
            f"{', '.join(h.strip() for h in headers) or 'nothing'})"
        )
    return found


def read_interventions(
    path: Path, sites: list[str], aliases: Sequence[tuple[str, str]] = ()
) -> tuple[pa.Table, int]:
    """The file's actions as an intervention_schema() table, sites resolved to `sites'`
    names (case and accents aside; an alias of [site_aliases] to its canonical name), and
    how many rows repeated an earlier one exactly (same date, site, kind and label: left
    out); or DataError naming the file, line and problem (for an unknown site: the closest
    known one). A file of its header alone gives no actions."""
    import pyarrow as pa

    from .directory import parse_date
    from .ingest.textio import iter_csv_records, sniff_delimiter, sniff_text, split_line
    from .metrics.site_names import resolve_sites

    info = sniff_text(path)
    delimiter = sniff_delimiter(info.first_line)
    headers = split_line(info.first_line, delimiter)
    found = _columns(path, headers)
    renamed = {name.casefold(): site for name, site in _alias_map(aliases).items()}
    schema = intervention_schema()
    columns: dict[str, list[object]] = {f.name: [] for f in schema}
    seen: set[tuple[object, ...]] = set()
    duplicates = 0
    records = iter_csv_records(path, info.encoding, delimiter)
    next(records, None)
    for line, fields in records:
        if len(fields) != len(headers):
            raise DataError(f"{path}:{line}: expected {len(headers)} columns, found {len(fields)}")

        def value(name: str, fields: list[str] = fields) -> str:
            index = found.get(name)
            return fields[index].strip() if index is not None else ""

        try:
            day = parse_date(value("date"))
        except ValueError as exc:
            raise DataError(f"{path}:{line}: {exc}") from None
        if day is None:
            raise DataError(f"{path}:{line}: no date")
        kind = value("kind").lower()
        if not kind:
            raise DataError(f"{path}:{line}: no kind (webinar, training, campaign...)")
        site = normalise_site(value("site")) or EVERY_SITE
        if site != EVERY_SITE:
            if not sites:
                raise DataError(
                    f"{path}:{line}: the store knows no site yet: load the directory or "
                    "ingest events before the actions"
                )
            try:
                site = resolve_sites([renamed.get(site.casefold(), site)], sites)[0]
            except DataError as exc:
                raise DataError(f"{path}:{line}: {exc}") from None
        label = value("label") or kind
        if (day, site, kind, label) in seen:
            duplicates += 1
            continue
        seen.add((day, site, kind, label))
        columns["date"].append(day)
        columns["site"].append(site)
        columns["kind"].append(kind)
        columns["label"].append(label)
        columns["line"].append(line)
    return pa.table(columns, schema=schema), duplicates


def load_interventions(
    path: Path, settings: Settings, wait_seconds: float = 0.0
) -> InterventionsSummary:
    """Validate `path` and make it the store's list of actions, replacing the previous one
    in one commit (the previous list stays when the file is refused)."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise NoInputError(f"{path}: no such file")
    with store.writing(settings.data_dir, wait_seconds) as tx:
        aliases = settings.site_aliases
        table, duplicates = read_interventions(
            path, known_sites(settings.data_dir, tx.manifest, aliases), aliases
        )
        target = tx.new_data_path("interventions")
        pq.write_table(table, target)
        store.fsync_file(target)
        manifest = tx.manifest.copy()
        loaded_at = store.utc_now_iso()
        sites = table.column("site").to_pylist()
        summary = InterventionsSummary(
            file=path.name,
            actions=table.num_rows,
            every_site_actions=sites.count(EVERY_SITE),
            kinds=tuple(sorted(set(table.column("kind").to_pylist()))),
            loaded_at=loaded_at,
            duplicates=duplicates,
        )
        manifest.interventions = {
            "path": tx.relative(target),
            "source_file": path.name,
            "rows": table.num_rows,
            "loaded_at": loaded_at,
        }
        tx.commit(manifest)
    return summary


def stored_interventions(data_dir: Path, manifest: store.Manifest) -> list[Intervention]:
    """The store's logged actions, by date (none when no list was loaded)."""
    import duckdb

    if not manifest.interventions:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT date, site, kind, label FROM read_parquet($file) ORDER BY ALL",
            {"file": str(data_dir / manifest.interventions["path"])},
        ).fetchall()
    finally:
        con.close()
    return [Intervention(day, site, kind, label) for day, site, kind, label in rows]
