"""The store's state as plain text for people: `status` and `history` without --json (one
line per fact, aligned, so cron mail reads well and scripts can grep it), and what `demo`
wrote, in English or French (`--lang`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ..model import TOTALS_NAME
from ..status import Status
from .i18n import Language, language
from .phrases import phrase
from .statuses import ALL_SITES, STATUS_LABELS, status_label


def status_text(status: Status, lang: str = "en") -> str:
    """What the store holds, then one line per warning (or "none")."""
    tr = language(lang)

    def line(label: str, text: str) -> str:
        return f"{label:<14} {text}"

    lines = [
        line(tr._("store"), status.data_dir),
        line(
            tr._("events"),
            tr._(
                "%(rows)s from %(first)s to %(last)s in %(files)s data files",
                rows=tr.number(status.rows, ","),
                first=tr.iso_day(status.first_day),
                last=tr.iso_day(status.last_day),
                files=status.event_files,
            ),
        ),
        line(
            tr._("files"),
            tr._(
                "%(files)s ingested, last on %(when)s",
                files=status.files,
                when=tr.instant(status.last_ingest) if status.last_ingest else tr._("never"),
            ),
        ),
        line(tr._("quarantined"), tr._("%(rows)s rows", rows=tr.number(status.quarantined, ","))),
        line(
            tr._("directory"),
            tr._(
                "%(rows)s people from %(file)s, loaded %(when)s",
                rows=tr.number(status.directory["rows"], ","),
                file=status.directory["source_file"],
                when=tr.instant(status.directory["loaded_at"]),
            )
            if status.directory
            else tr._("none loaded"),
        ),
        *_actions(status.interventions, tr, line),
    ]
    lines += [line(tr._("activity"), _period(p, tr)) for p in status.activity_periods]
    lines += [
        line(
            tr._("members"),
            tr._(
                "%(format)s member list of %(day)s: %(rows)s people",
                format=m["source_format"],
                day=tr.iso_day(m["listed_on"]),
                rows=tr.number(m["rows"], ","),
            ),
        )
        for m in status.member_lists
    ]
    lines += _fetched(status, tr)
    lines += [line(tr._("warning"), phrase(w.message, tr)) for w in status.warnings] or [
        line(tr._("warnings"), tr._("none"))
    ]
    return "\n".join(lines) + "\n"


def _line(label: str, text: str) -> str:
    return f"{label:<14} {text}"


def _fetched(status: Status, tr: Language) -> list[str]:
    """One line per source a fetcher keeps up to date: Microsoft 365 reports, Slack
    channels, Slack member analytics."""
    lines: list[str] = []
    lines += [
        _line(
            tr._("m365 fetch"),
            tr._(
                "%(report)s: last day %(day)s, %(missing)s missing in range",
                report=m["report"],
                day=tr.iso_day(m["last_day"]),
                missing=len(m["missing_days"]),
            ),
        )
        for m in status.m365
    ]
    lines += [
        _line(
            tr._("slack fetch"),
            tr._(
                "#%(channel)s: last message %(when)s, fetched %(day)s",
                channel=c["channel"],
                when=tr.instant(c["last_message"]) if c["last_message"] else "—",
                day=tr.iso_day(c["fetched_on"], str(c["fetched_on"])),
            ),
        )
        for c in status.slack
    ]
    lines += [
        _line(
            tr._("slack members"),
            tr._(
                "member analytics: %(first)s to %(last)s, %(missing)s day(s) missing",
                first=tr.iso_day(a["first_day"]),
                last=tr.iso_day(a["last_day"]),
                missing=len(a["missing_days"]),
            ),
        )
        for a in status.slack_analytics
    ]
    if status.viva_engage is not None:
        lines.append(
            _line(
                tr._("engage fetch"),
                tr._(
                    "network export from %(first)s to %(last)s, %(gaps)s gap(s)",
                    first=tr.instant(status.viva_engage["first"]),
                    last=tr.instant(status.viva_engage["last"]),
                    gaps=len(status.viva_engage["gaps"]),
                ),
            )
        )
    return lines


def _actions(
    loaded: dict[str, Any] | None, tr: Language, line: Callable[[str, str], str]
) -> list[str]:
    """The logged actions' line of `status` (none when no list was loaded)."""
    if not loaded:
        return []
    text = tr._(
        "%(rows)s from %(file)s, loaded %(when)s",
        rows=tr.number(loaded["rows"], ","),
        file=loaded["source_file"],
        when=tr.instant(loaded["loaded_at"]),
    )
    return [line(tr._("actions"), text)]


def _period(p: dict[str, Any], tr: Language) -> str:
    text = tr._(
        "%(format)s %(days)s days to %(day)s: %(rows)s people",
        format=p["source_format"],
        days=p["period_days"],
        day=tr.iso_day(p["refresh_date"]),
        rows=tr.number(p["rows"], ","),
    )
    if p["concealed_rows"]:
        text += tr._(" (%(rows)s concealed names)", rows=tr.number(p["concealed_rows"], ","))
    return text


def history_text(rows: list[dict[str, Any]], lang: str = "en") -> str:
    """One line per report day and site (`history` rows), totals named by their scope."""
    tr = language(lang)
    days = tr._("d")  # the window's unit, after its length
    width = max(8, 1 + max(len(status_label(code, tr)) for code in STATUS_LABELS))
    lines = []
    for r in rows:
        if r["site"]:
            name = r["site"]
        elif r["scope"]:
            name = tr._("Total of %(sites)s", sites=", ".join(r["scope"]))
        else:
            name = tr._(ALL_SITES) if TOTALS_NAME == ALL_SITES else TOTALS_NAME
        if r["suppressed"]:
            figures = tr._("hidden (below the privacy threshold)")
        else:
            share = r["contributor_share"]
            if share is None:  # hidden: fewer than min_group_size contributors
                share_text = f"{'—':>7}"
            else:
                share_text = f"{share * 100:5.1f} %" if tr.english else f"{tr.percent(share):>7}"
            status_cell = f"{status_label(r['status'], tr):<{width}}"
            figures = tr._(
                "%(share)s  %(status)s %(contributors)s/%(headcount)s contributors",
                share=share_text,
                status=status_cell,
                contributors=tr.number(r["contributors"]),
                headcount=tr.number(r["headcount"]),
            )
        day = r["as_of"] if tr.english else date.fromisoformat(r["as_of"]).strftime("%d/%m/%Y")
        lines.append(f"{day}  {r['window_days']:>3} {days}  {name:<30}  {figures}\n")
    return "".join(lines)


def no_history_text(lang: str = "en") -> str:
    return language(lang)._("No history yet: run `rse-adoption report --history`.")


def demo_written_text(
    people: object, events: object, out: object, files: int, platforms: int, lang: str = "en"
) -> str:
    """What `demo` wrote, for people."""
    tr = language(lang)
    return tr._(
        "Wrote %(people)s people and %(events)s events to %(out)s/ (directory.csv, events/ "
        "with %(files)s files, platforms/ with %(platforms)s platform exports).",
        people=people if tr.english else tr.number(int(str(people))),
        events=events if tr.english else tr.number(int(str(events))),
        out=out,
        files=files,
        platforms=platforms,
    )


def demo_loaded_text(data_dir: object, events: int, lang: str = "en") -> str:
    tr = language(lang)
    return tr._(
        "Loaded into %(store)s: %(events)s events.", store=data_dir, events=tr.number(events)
    )


def interventions_loaded_text(summary: Any, lang: str = "en") -> str:
    """What `interventions` loaded."""
    tr = language(lang)
    if summary.actions == 0:
        text = tr._("The file lists no action: the store's list of actions is now empty.")
    else:
        text = tr.ngettext(
            "Actions loaded: %(num)s action, %(every)s at every site.",
            "Actions loaded: %(num)s actions, %(every)s at every site.",
            summary.actions,
            num=tr.number(summary.actions),
            every=tr.number(summary.every_site_actions),
        )
    if summary.duplicates:
        text += " " + tr.ngettext(
            "%(num)s duplicate row ignored (same date, site, kind and label).",
            "%(num)s duplicate rows ignored (same date, site, kind and label).",
            summary.duplicates,
            num=tr.number(summary.duplicates),
        )
    return text


def directory_loaded_text(summary: Any, lang: str = "en") -> str:
    """What `directory` loaded, and the share of the store's recent people it lists."""
    tr = language(lang)
    text = tr._(
        "Directory loaded: %(people)s people, %(sites)s sites, %(ambassadors)s ambassadors "
        "flagged.",
        people=tr.number(summary.people),
        sites=tr.number(summary.sites),
        ambassadors=tr.number(summary.ambassadors),
    )
    if summary.match_share is not None:
        text += " " + tr._(
            "It lists %(matched)s of the %(stored)s people active in the store's last report "
            "window (%(share)s).",
            matched=tr.number(summary.matched_people),
            stored=tr.number(summary.stored_people),
            share=tr.percent(summary.match_share),
        )
    return text
