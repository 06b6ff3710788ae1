"""Whom to invite as ambassadors (`ambassadors --candidates`) and the leaders of
communities (`communities --leaders`), as JSON, CSV, a terminal table and HTML
(docs/report-json.md, "Candidates" and "Community leaders").

Personal data about individuals: a person is their pseudonymous key, and their `user_id`
and `name` appear only when the command was given `--names` (docs/privacy.md)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..model import (
    Candidate,
    CandidateSite,
    CommunityLeader,
    CommunityLeaders,
    Report,
)
from .csv_report import write_csv
from .i18n import ENGLISH, Language
from .phrases import phrase

#: The ranking rule, as the JSON states it (docs/metrics.md, "Candidates").
RULE = (
    "score = (colleagues_answering + departments + drawn_in) x min(1, active_weeks / 4) x "
    "min(1, answers_received / contributions) + 2 x nominations; volume counts nowhere"
)
CAUTION = (
    "personal data: a list of people to invite as volunteers, never an assessment of "
    "anyone (docs/privacy.md)"
)


def candidate_to_dict(c: Candidate, names: bool) -> dict[str, Any]:
    e = c.evidence
    out: dict[str, Any] = {
        "rank": c.rank,
        "person": c.person,
        "active": c.active,
        "score": c.score,
        "evidence": {
            "active_weeks": e.active_weeks,
            "colleagues": e.colleagues,
            "colleagues_answering": e.colleagues_answering,
            "drawn_in": e.drawn_in,
            "departments": e.departments,
            "replies_given": e.replies_given,
            "nominations": e.nominations,
            "contributions": e.contributions,
            "answers_received": e.answers_received,
        },
    }
    if names:
        out["user_id"] = c.user_id
        out["name"] = c.name
    return out


def to_dict(report: Report) -> dict[str, Any]:
    """The `ambassadors --candidates --format json` object."""
    found = report.ambassador_candidates
    assert found is not None, "the --candidates analysis computes them"
    return {
        "as_of": report.as_of.isoformat(),
        "window_days": report.window_days,
        "window_start": report.window_start.isoformat(),
        "min_group_size": report.min_group_size,
        "weeks": found.weeks,
        "rule": RULE,
        "caution": CAUTION,
        "names": found.names,
        "reason": found.reason,
        "nominations": None
        if found.nominations_file is None
        else {
            "file": found.nominations_file,
            "rows": found.nominations_rows,
            "unmatched": found.nominations_unmatched,
        },
        "sites": [
            {
                "site": s.site,
                "suppressed": s.suppressed,
                "headcount": s.headcount,
                "ambassadors": s.ambassadors,
                "active_ambassadors": s.active_ambassadors,
                "target": s.target,
                "to_recruit": s.to_recruit,
                "shortlist_size": s.shortlist_size,
                "eligible": s.eligible,
                "reason": s.reason,
                "candidates": None
                if s.suppressed
                else [candidate_to_dict(c, found.names) for c in s.candidates],
            }
            for s in found.sites
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS = (
    "site",
    "to_recruit",
    "rank",
    "person",
    "active",
    "score",
    "active_weeks",
    "colleagues",
    "colleagues_answering",
    "drawn_in",
    "departments",
    "replies_given",
    "nominations",
    "contributions",
    "answers_received",
)


def csv_table(report: Report) -> tuple[list[str], list[list[object]]]:
    """One row per candidate (ids and names only with --names)."""
    data = to_dict(report)
    columns = list(CSV_COLUMNS) + (["user_id", "name"] if data["names"] else [])
    rows = []
    for s in data["sites"]:
        for c in s["candidates"] or ():
            row = [s["site"], s["to_recruit"], c["rank"], c["person"], c["active"], c["score"]]
            row += [c["evidence"][k] for k in CSV_COLUMNS[6:]]
            if data["names"]:
                row += [c["user_id"], c["name"]]
            rows.append(row)
    return columns, rows


def render_csv(report: Report, dialect: str = "excel") -> str:
    return write_csv(*csv_table(report), dialect)


def _who(c: Candidate | CommunityLeader, names: bool) -> str:
    if names:
        return " — ".join(str(x) for x in (c.name, c.user_id) if x) or str(c.person)
    return str(c.person)


def _gap(s: CandidateSite, tr: Language) -> str:
    """`Lyon: 9 ambassadors, target 13, to recruit 4` (`1 ambassador`, not `1 ambassador(s)`)."""
    return tr.ngettext(
        "%(site)s: %(ambassadors)s ambassador, target %(target)s, to recruit %(more)s",
        "%(site)s: %(ambassadors)s ambassadors, target %(target)s, to recruit %(more)s",
        s.ambassadors or 0,
        site=s.site,
        ambassadors=tr.number(s.ambassadors),
        target=tr.number(s.target),
        more=tr.number(s.to_recruit),
    )


def table(report: Report, tr: Language = ENGLISH) -> Group:
    """Per site: its gap to the target, then its shortlist with the evidence."""
    found = report.ambassador_candidates
    assert found is not None
    parts: list[Any] = [
        Text(
            tr._("Personal data: people to invite as volunteers, never an assessment of anyone."),
            style="bold",
        )
    ]
    for s in found.sites:
        if s.suppressed:
            parts.append(Text(f"{s.site}: < {report.min_group_size}", style="dim"))
            continue
        t = Table(
            title=_gap(s, tr),
            caption=phrase(s.reason, tr) if s.reason else None,
        )
        for i, heading in enumerate(_headings(found.weeks, tr)):
            t.add_column(heading, justify="left" if i == 1 else "right")
        for c in s.candidates:
            e = c.evidence
            who = _who(c, found.names)
            if not c.active:
                who += " " + tr._("(nominated, not active)")
            t.add_row(
                str(c.rank),
                who,
                tr.decimal(c.score, 2),
                tr.number(e.active_weeks),
                tr.number(e.colleagues),
                tr.number(e.colleagues_answering),
                tr.number(e.drawn_in),
                tr.number(e.departments),
                tr.number(e.replies_given),
                "—" if e.nominations is None else tr.number(e.nominations),
            )
        parts.append(t)
    return Group(*parts)


_STYLE = """body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
padding: 0 1rem; color: #1a1a1a; } table { border-collapse: collapse; width: 100%;
margin: .5rem 0 1.5rem; } th, td { padding: .3rem .5rem; border-bottom: 1px solid #ddd;
text-align: left; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #666; } section.invite { border-left: 4px solid #0072B2; padding: 0 .8rem;
margin-bottom: 1.5rem; }"""


def _page(title: str, body: list[str], lang: str) -> str:
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _headings(weeks: int, tr: Language) -> list[str]:
    return [
        tr._("Rank"),
        tr._("Person"),
        tr._("Score"),
        tr._("Weeks active (of %(weeks)s)", weeks=weeks),
        tr._("Colleagues reached"),
        tr._("who answered"),
        tr._("drawn in"),
        tr._("Departments"),
        tr._("Replies given"),
        tr._("Nominations"),
    ]


def _row(c: Candidate, names: bool, tr: Language) -> str:
    e = c.evidence
    who = escape(_who(c, names))
    if not c.active:
        who += " " + escape(tr._("(nominated, not active)"))
    counts = (
        e.active_weeks,
        e.colleagues,
        e.colleagues_answering,
        e.drawn_in,
        e.departments,
        e.replies_given,
    )
    cells = [
        str(c.rank),
        who,
        escape(tr.decimal(c.score, 2)),
        *(escape(tr.number(v)) for v in counts),
        "—" if e.nominations is None else escape(tr.number(e.nominations)),
    ]
    return f'<tr data-rank="{c.rank}">' + "".join(f"<td>{x}</td>" for x in cells) + "</tr>"


def _panel(s: CandidateSite, report: Report, names: bool, weeks: int, tr: Language) -> list[str]:
    """One site's "to invite" panel."""
    panel = [f'<section class="invite" data-site="{escape(s.site)}">', f"<h2>{escape(s.site)}</h2>"]
    if s.suppressed:
        hidden = tr._("fewer than %(min)s people", min=report.min_group_size)
        return [*panel, f'<p class="muted">{escape(hidden)}</p></section>']
    panel.append(f"<p>{escape(_gap(s, tr))}</p>")
    if s.reason:
        panel.append(f'<p class="muted" data-reason="1">{escape(phrase(s.reason, tr))}</p>')
    if s.candidates:
        heads = "".join(f"<th>{escape(h)}</th>" for h in _headings(weeks, tr))
        panel.append(f"<table><thead><tr>{heads}</tr></thead><tbody>")
        panel += [_row(c, names, tr) for c in s.candidates]
        panel.append("</tbody></table>")
    return [*panel, "</section>"]


def render_html(report: Report, tr: Language = ENGLISH) -> str:
    """One "to invite" panel per site; names only when the command had --names."""
    found = report.ambassador_candidates
    assert found is not None
    title = tr._("Whom to invite as ambassadors")
    note = tr._(
        "Personal data: people to invite as volunteers, never an assessment of anyone. "
        "Ranked by reach (distinct colleagues who answered, across departments, "
        'sustained over weeks), never by volume. Definitions: docs/metrics.md, "Candidates".'
    )
    body = [f"<h1>{escape(title)}</h1>", f'<p class="muted">{escape(note)}</p>']
    for s in found.sites:
        body += _panel(s, report, found.names, found.weeks, tr)
    return _page(title, body, tr.code)


# -- community leaders -------------------------------------------------------------------


def leader_to_dict(x: CommunityLeader | None, names: bool) -> dict[str, Any] | None:
    if x is None:
        return None
    out: dict[str, Any] = {
        "person": x.person,
        "repliers": x.repliers,
        "first_day": x.first_day.isoformat() if x.first_day else None,
    }
    if names:
        out["user_id"] = x.user_id
        out["name"] = x.name
    return out


def leaders_to_list(items: tuple[CommunityLeaders, ...], names: bool) -> list[dict[str, Any]]:
    """The `leaders` array of `communities --leaders --format json`."""
    return [
        {
            "community": c.community,
            "active_members": c.active_members,
            "status": c.status,
            "founder": leader_to_dict(c.founder, names),
            "animators": [leader_to_dict(a, names) for a in c.animators],
        }
        for c in items
    ]


def names_shown(items: tuple[CommunityLeaders, ...]) -> bool:
    """Whether the leaders carry ids or names (the command had --names)."""
    return any(
        x is not None and (x.user_id is not None or x.name is not None)
        for c in items
        for x in (c.founder, *c.animators)
    )


LEADER_COLUMNS = (
    "community",
    "status",
    "active_members",
    "role",
    "rank",
    "person",
    "repliers",
    "first_day",
)


def leaders_csv(report: Report, names: bool) -> tuple[list[str], list[list[object]]]:
    """One row per founder or animator."""
    rows = []
    for c in leaders_to_list(report.community_leaders or (), names):
        people = [("founder", 1, c["founder"])] if c["founder"] else []
        people += [("animator", i + 1, a) for i, a in enumerate(c["animators"])]
        for role, rank, x in people:
            row = [c["community"], c["status"], c["active_members"], role, rank]
            row += [x["person"], x["repliers"], x["first_day"]]
            if names:
                row += [x["user_id"], x["name"]]
            rows.append(row)
    return list(LEADER_COLUMNS) + (["user_id", "name"] if names else []), rows


def _status(status: str | None, tr: Language) -> str:
    """A community's lifecycle status in the reader's language; "—" when hidden (its
    posts are, or none is in the data: docs/report-json.md)."""
    if status == "quiet":
        return tr._("quiet")
    if status == "active":
        return tr._("active")
    return status or "—"


def leaders_table(report: Report, names: bool, tr: Language = ENGLISH) -> Table:
    t = Table(
        title=tr._("Community leaders: founders and animators, to encourage and recognise"),
        caption=tr._(
            "Communities with at least %(min)s active members. Animators: whose posts drew "
            "replies from the most distinct members.",
            min=report.min_group_size,
        ),
    )
    for name in (tr._("Community"), tr._("Status"), tr._("Founder"), tr._("Animators")):
        t.add_column(name)
    for c in report.community_leaders or ():
        t.add_row(
            c.community,
            _status(c.status, tr),
            _who(c.founder, names) if c.founder else "—",
            ", ".join(f"{_who(a, names)} ({tr.number(a.repliers)})" for a in c.animators) or "—",
        )
    return t


def leaders_html(report: Report, names: bool, tr: Language = ENGLISH) -> str:
    rows = []
    for c in report.community_leaders or ():
        founder = escape(_who(c.founder, names)) if c.founder else "—"
        animators = ", ".join(
            f"{escape(_who(a, names))} ({escape(tr.number(a.repliers))})" for a in c.animators
        )
        rows.append(
            f'<tr data-community="{escape(c.community)}"><td>{escape(c.community)}</td>'
            f"<td>{escape(_status(c.status, tr))}</td><td>{founder}</td><td>{animators or '—'}</td></tr>"
        )
    heads = "".join(
        f"<th>{escape(h)}</th>"
        for h in (tr._("Community"), tr._("Status"), tr._("Founder"), tr._("Animators"))
    )
    return (
        '<section id="leaders"><h2>'
        + escape(tr._("Community leaders: founders and animators, to encourage and recognise"))
        + f"</h2><table><thead><tr>{heads}</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>"
    )
