"""The store's state as plain text for people: `status` and `history` without --json (one
line per fact, aligned, so cron mail reads well and scripts can grep it)."""

from __future__ import annotations

from typing import Any

from ..model import TOTALS_NAME
from ..status import Status


def status_text(status: Status) -> str:
    """What the store holds, then one line per warning (or "none")."""
    directory = status.directory
    lines = [
        f"store          {status.data_dir}",
        f"events         {status.rows:,} from {status.first_day or '—'} to {status.last_day or '—'}"
        f" in {status.event_files} data files",
        f"files          {status.files} ingested, last on {status.last_ingest or 'never'}",
        f"quarantined    {status.quarantined:,} rows",
        "directory      "
        + (
            f"{directory['rows']:,} people from {directory['source_file']}, loaded "
            f"{directory['loaded_at']}"
            if directory
            else "none loaded"
        ),
    ]
    lines += [
        f"activity       {p['source_format']} {p['period_days']} days to {p['refresh_date']}: "
        f"{p['rows']:,} people"
        + (f" ({p['concealed_rows']:,} concealed names)" if p["concealed_rows"] else "")
        for p in status.activity_periods
    ]
    lines += [
        f"m365 fetch     {m['report']}: last day {m['last_day']}, "
        f"{len(m['missing_days'])} missing in range"
        for m in status.m365
    ]
    lines += [
        f"slack fetch    #{c['channel']}: last message {c['last_message']}, "
        f"fetched {c['fetched_on']}"
        for c in status.slack
    ]
    lines += [f"warning        {w.message}" for w in status.warnings] or ["warnings       none"]
    return "\n".join(lines) + "\n"


def history_text(rows: list[dict[str, Any]]) -> str:
    """One line per report day and site (`history` rows), totals named by their scope."""
    lines = []
    for r in rows:
        name = r["site"] or ("Total of " + ", ".join(r["scope"]) if r["scope"] else TOTALS_NAME)
        if r["suppressed"]:
            figures = "hidden (below the privacy threshold)"
        else:
            figures = (
                f"{r['contributor_share'] * 100:5.1f} %  {r['status']:<8} "
                f"{r['contributors']}/{r['headcount']} contributors"
            )
        lines.append(f"{r['as_of']}  {r['window_days']:>3} d  {name:<30}  {figures}\n")
    return "".join(lines)
