"""Microsoft 365 usage reports this tool does not read, recognised by their headers, so that
skipping one names it and the report to export instead (docs/ingest.md lists them all).

Only two Microsoft 365 reports hold per-person activity on an enterprise social network:
Viva Engage activity user detail (`viva_engage`) and Teams user activity user detail
(`teams`). Every other report — totals per day, per team or group, devices, e-mail,
OneDrive, SharePoint, activations, apps, active users — is either not per person or not
about the network; read as if it were, it would look like a broken Viva Engage file.

Header lists come from the Microsoft Graph v1.0 reference pages `reportroot-get<Report>`
(microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/api; the CSV schema of
each page's example) and the files in ../shared/samples/m365. Headers compare as
report_files.header_key does (no case, blanks or punctuation), so the Graph CSV headers, the
admin center's display headers where they spell the same words, and the JSON keys of the
`$format=application/json` variant all match. A report is recognised by a few headers that
only it has, tried in order (more specific first).

It also knows the files `fetch m365 --keep-raw` saves (`kept_raw`): named by the Graph
function, the day asked for and the content's SHA-256 prefix, each is read back by `ingest`
as the one-day period of the day in its name — as the fetcher read it — and not of its
`Report Refresh Date` (the latest date of Microsoft's data, the same for every day fetched
on one date), so that a store rebuilt from them equals the fetched one (docs/m365.md).
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import DataError
from .report_files import header_key, headers_of

_VIVA = 'export "Viva Engage activity user detail" instead'
_TEAMS = 'export "Teams user activity user detail" instead'
_ESN = (
    'not enterprise social network activity; export "Viva Engage activity user detail" or '
    '"Teams user activity user detail" instead'
)


def _keys(*headers: str) -> frozenset[str]:
    return frozenset(header_key(h) for h in headers)


class Report(NamedTuple):
    """A report recognised when its file has every one of `headers` and none of `unless`."""

    headers: frozenset[str]
    name: str
    instead: str
    unless: frozenset[str] = frozenset()


REPORTS: tuple[Report, ...] = (
    # getYammerActivityCounts and getYammerActivityUserCounts (same columns): one row per day
    Report(
        _keys("Report Date", "Liked", "Posted", "Read"),
        "Viva Engage activity counts or activity user counts (organisation totals per day)",
        _VIVA,
    ),
    # getYammerGroupsActivityDetail
    Report(
        _keys("Group Display Name", "Member Count", "Posted Count"),
        "Viva Engage groups activity detail (one row per group)",
        _VIVA,
    ),
    # getYammerDeviceUsageUserDetail
    Report(
        _keys("User Principal Name", "Used Web", "Used iPhone", "Used iPad"),
        "Viva Engage device usage user detail (devices, not activity)",
        _VIVA,
    ),
    # getTeamsUserActivityCounts and getTeamsUserActivityUserCounts: one row per day
    Report(
        _keys("Report Date", "Team Chat Messages", "Private Chat Messages"),
        "Teams user activity counts or user counts (organisation totals per day)",
        _TEAMS,
    ),
    # getTeamsTeamActivityDetail
    Report(
        _keys("Team Name", "Active Users"),
        "Teams team activity detail (one row per team)",
        _TEAMS,
    ),
    # getTeamsDeviceUsageUserDetail
    Report(
        _keys("User Principal Name", "Used Web", "Used iOS", "Used Mac"),
        "Teams device usage user detail (devices, not activity)",
        _TEAMS,
    ),
    # getOffice365GroupsActivityDetail
    Report(
        _keys("Group Display Name", "Exchange Received Email Count", "Yammer Posted Message Count"),
        "Microsoft 365 groups activity detail (one row per group)",
        _ESN,
    ),
    # getEmailActivityUserDetail
    Report(
        _keys("User Principal Name", "Send Count", "Receive Count"),
        "Email activity user detail (e-mail)",
        _ESN,
    ),
    # getEmailAppUsageUserDetail
    Report(
        _keys("User Principal Name", "Outlook For Windows", "Outlook For Web"),
        "Email apps usage user detail (e-mail clients)",
        _ESN,
    ),
    # getMailboxUsageDetail
    Report(
        _keys("User Principal Name", "Item Count", "Prohibit Send Quota (Byte)"),
        "Mailbox usage detail (mailbox storage)",
        _ESN,
    ),
    # getSharePointActivityUserDetail (OneDrive's has the same columns but Visited Page Count)
    Report(
        _keys("User Principal Name", "Viewed Or Edited File Count", "Visited Page Count"),
        "SharePoint activity user detail (files and pages)",
        _ESN,
    ),
    # getOneDriveActivityUserDetail
    Report(
        _keys("User Principal Name", "Viewed Or Edited File Count", "Synced File Count"),
        "OneDrive activity user detail (files)",
        _ESN,
    ),
    # getSharePointSiteUsageDetail (OneDrive's account detail has no Site Id)
    Report(
        _keys("Site Id", "Site URL", "Page View Count"),
        "SharePoint site usage detail (one row per site)",
        _ESN,
    ),
    # getOneDriveUsageAccountDetail
    Report(
        _keys("Site URL", "Owner Principal Name", "Storage Allocated (Byte)"),
        "OneDrive usage account detail (storage per account)",
        _ESN,
    ),
    # getOffice365ActivationsUserDetail
    Report(
        _keys("User Principal Name", "Product Type", "Last Activated Date"),
        "Microsoft 365 activations user detail (installed apps)",
        _ESN,
    ),
    # getM365AppUserDetail (the JSON variant nests the per-app flags under "details")
    Report(
        _keys("User Principal Name", "Last Activation Date", "Last Activity Date"),
        "Microsoft 365 apps usage user detail (apps and platforms used)",
        _ESN,
    ),
    # getOffice365ActiveUserDetail
    Report(
        _keys("User Principal Name", "Has Yammer License", "Yammer Last Activity Date"),
        "Microsoft 365 active users detail (licences and last activity dates per service)",
        _ESN,
    ),
    # Every other counts, user counts and storage report (e-mail, OneDrive, SharePoint,
    # activations, apps, active users, groups, Teams teams and devices...): a Report Date
    # column (one row per day) and no person.
    Report(
        _keys("Report Refresh Date", "Report Date"),
        "a Microsoft 365 usage report of organisation totals per day",
        _ESN,
        unless=_keys("User Principal Name"),
    ),
)


def explain(path: Path) -> str | None:
    """What a recognised Microsoft 365 report that this tool does not read is, and what to
    export instead; None for any other file (or one whose header cannot be read)."""
    if not path.is_file():
        return None
    try:
        keys = {header_key(h) for h in headers_of(path)}
    except (DataError, OSError, UnicodeError):
        return None
    for report in REPORTS:
        if report.headers <= keys and not report.unless & keys:
            return (
                f"{report.name}: no per-person network activity, so no segments; {report.instead}"
            )
    return None


#: The Graph function of each report `fetch m365` pulls, by the format that reads it
#: (fetch/graph.py REPORTS names the same pairs).
KEPT_RAW_FUNCTIONS = {
    "getYammerActivityUserDetail": "viva_engage",
    "getTeamsUserActivityUserDetail": "teams",
}
#: `<function>_<day>_<first 12 hex digits of the SHA-256>.csv`, as `--keep-raw` names them.
KEPT_RAW_NAME = re.compile(
    r"^(?P<function>" + "|".join(KEPT_RAW_FUNCTIONS) + r")_(?P<day>\d{4}-\d{2}-\d{2})"
    r"_(?P<sha>[0-9a-f]{12})\.csv$"
)


class KeptRaw(NamedTuple):
    """A file `fetch m365 --keep-raw` saved: the format that reads it and the day it is."""

    format_name: str
    day: date
    sha_prefix: str


def kept_raw(path: Path) -> KeptRaw | None:
    """What a file saved by `--keep-raw` is, from its name; None for any other file."""
    match = KEPT_RAW_NAME.match(path.name)
    if match is None:
        return None
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        return None
    return KeptRaw(KEPT_RAW_FUNCTIONS[match["function"]], day, match["sha"])


def kept_raw_provenance(path: Path, kept: KeptRaw) -> dict[str, Any]:
    """The ledger provenance of a kept file ingested by hand: the fetcher's keys (report,
    day, refresh date), so that `status` and the next fetch see the day as held."""
    refresh = report_refresh_date(path)
    return {
        "source": "keep-raw",
        "m365_report": kept.format_name,
        "day": kept.day.isoformat(),
        "refresh_date": refresh.isoformat() if refresh else None,
    }


def kept_version_taken(ledger: list[dict[str, Any]], sha: str, provenance: dict[str, Any]) -> bool:
    """Whether the store already took a kept file's day from these very bytes (it then
    holds this version or a newer one: kept files are ingested oldest first)."""
    day = (provenance.get("m365_report"), provenance.get("day"))
    return any(
        (e.get("m365_report"), e.get("day")) == day and e.get("sha256") == sha for e in ledger
    )


def order_kept_raw(files: list[Path]) -> list[Path]:
    """`files` with the kept ones after the others, oldest version of each day first (by
    Report Refresh Date, then by the file's time): a day replaced whole by each version,
    the last one ingested — the newest — is the one the store keeps, as in the fetch."""
    kept = [(f, k) for f in files if (k := kept_raw(f)) is not None]
    if not kept:
        return files
    others = [f for f in files if kept_raw(f) is None]

    def version(item: tuple[Path, KeptRaw]) -> tuple[date, str, date, int]:
        path, k = item
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        return (k.day, k.format_name, report_refresh_date(path) or date.min, stamp)

    return others + [f for f, _ in sorted(kept, key=version)]


def report_refresh_date(path: Path) -> date | None:
    """The `Report Refresh Date` of a report's first row (the latest date of Microsoft's
    data), or None when the file has no row or no such column."""
    from .periods import parse_date

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            first = next(rows, None)
    except (OSError, UnicodeError, csv.Error):
        return None
    if not header or not first:
        return None
    keys = [header_key(h) for h in header]
    if "reportrefreshdate" not in keys or len(first) <= keys.index("reportrefreshdate"):
        return None
    try:
        return parse_date(first[keys.index("reportrefreshdate")])
    except ValueError:
        return None
