"""The example organisation of `rse-adoption demo`, the tests and the benchmarks.

`organisation.py` makes the organisation and its activity log (numpy, deterministic for a
seed); `platforms.py` writes that activity as each platform exports it, and `m365_daily.py`
its last 28 days as daily Viva Engage reports; `write_demo`, here, puts them in one folder.
`influence.py` makes organisations whose adoption drivers are known (the ambassador
candidates' benchmark and tests). Neither module imports the other's caller.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from .m365_daily import write_viva_engage_days
from .organisation import (
    CLASSES,
    DEMO_SITES,
    NEVER,
    SPACES,
    Organisation,
    SiteSpec,
    event_batches,
    expected_active_days,
    make_organisation,
    month_day_ranges,
    pc_iso,
    rate_scale_for,
    write_directory,
    write_events_csv,
)
from .platforms import employed_emails, write_platform_exports

__all__ = [
    "CLASSES",
    "DEMO_SITES",
    "NEVER",
    "SPACES",
    "Organisation",
    "SiteSpec",
    "event_batches",
    "expected_active_days",
    "make_organisation",
    "month_day_ranges",
    "rate_scale_for",
    "write_demo",
    "write_directory",
    "write_events_csv",
]


def write_demo(
    out: Path, *, seed: int = 42, scale: float = 1.0, language: str = "en"
) -> dict[str, object]:
    """The demo export folder: directory.csv, events/ with one CSV per month, and
    platforms/ with the same activity as each platform exports it (platforms.py) and the
    last 28 days as daily Viva Engage reports (m365_daily.py).

    Most months are plain UTF-8 CSV with ISO timestamps and English column and action
    names; the last month is written as a French Excel export would be (`;`, cp1252,
    DD/MM/YYYY HH:MM:SS, French column and action names). With `language="fr"` every
    month is (`demo --lang fr`): the same events, labelled in French. The directory,
    sites, departments and communities are French in both. Returns a description of what
    was written.
    """
    org = make_organisation(seed=seed, scale=scale)
    write_directory(org, out / "directory.csv")
    table = pa.concat_tables(event_batches(org))
    months = pa.compute.utf8_slice_codeunits(table.column("timestamp"), 0, 7)
    files: list[str] = []
    month_names = sorted(set(months.to_pylist()))
    for k, month in enumerate(month_names):
        part = table.filter(pa.compute.equal(months, month))
        path = out / "events" / f"events-{month}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        if k == len(month_names) - 1 or language == "fr":
            _write_french_csv(part, path)
        else:
            part = part.set_column(0, "timestamp", pc_iso(part.column("timestamp")))
            pacsv.write_csv(part, path)
        files.append(path.name)
    platforms = write_platform_exports(org, table, out / "platforms")
    platforms += write_viva_engage_days(table, employed_emails(org), org.end, out / "platforms")
    return {
        "people": int(org.listed.sum()),
        "events": table.num_rows,
        "files": files,
        "platforms": platforms,
        "org": org,
    }


_FRENCH_TYPES = {
    "login": "connexion",
    "read": "lecture",
    "reaction": "j'aime",
    "post": "publication",
    "comment": "commentaire",
}


def _write_french_csv(table: pa.Table, path: Path) -> None:
    cols = table.to_pydict()
    with open(path, "w", encoding="cp1252", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(
            ["date", "utilisateur", "action", "site", "communauté", "content_id", "auteur"]
        )
        for ts, user, kind, site, space, content, target in zip(
            cols["timestamp"],
            cols["user"],
            cols["event_type"],
            cols["site"],
            cols["space"],
            cols["content_id"],
            cols["target_user"],
            strict=True,
        ):
            d, t = ts.split(" ")
            y, m, day = d.split("-")
            out.writerow(
                [f"{day}/{m}/{y} {t}", user, _FRENCH_TYPES[kind], site, space, content, target]
            )
