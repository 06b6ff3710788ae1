"""The sentences the analyses write into a Report (a forecast's or the ambassador
effect's reason, a note, a community's trend), recognised and said in the rendering's
language.

The analyses return these as English text: renderers compute nothing, and the JSON keeps
them as they are. Each known sentence is one message whose `%(name)s` parts match any
text; a sentence no message matches is shown as the analysis wrote it (and the French
demo's test fails, so that a new sentence gets its translation).
"""

from __future__ import annotations

import functools
import re
from datetime import date

from .i18n import N_, Language

PHRASES: tuple[str, ...] = (
    # metrics/forecast.py
    N_("Bass fit not possible (flat series): linear trend of the last %(weeks)s weeks"),
    N_("Bass fit poor (R² %(r_squared)s < %(minimum)s): linear trend of the last %(weeks)s weeks"),
    N_("%(points)s weekly points; a forecast needs at least %(minimum)s (more history)"),
    # metrics/ambassadors.py
    N_("its first ambassador started outside the weeks with data"),
    N_("fewer than %(weeks)s weeks of data on each side of its first ambassador's start"),
    N_("no site without ambassadors (or not yet with them) to compare with over its weeks"),
    N_("the sites' weekly shares do not vary: no interval can be given"),
    N_("no site has ambassadors with a start date"),
    N_("no estimable site"),
    N_(
        "only %(n)s site with a first ambassador's start, %(weeks)s weeks of data on each "
        "side and a comparison site; a pooled figure needs at least %(minimum)s: the spread "
        "between sites is its uncertainty"
    ),
    N_(
        "only %(n)s sites with a first ambassador's start, %(weeks)s weeks of data on each "
        "side and a comparison site; a pooled figure needs at least %(minimum)s: the spread "
        "between sites is its uncertainty"
    ),
    # metrics/personas.py
    N_(
        "no event of the window names a target person (the export does not say whose "
        "content a reaction or reply answers): nobody can be seen to receive anything"
    ),
    # metrics/context.py (notes)
    N_("as_of %(as_of)s is after the last day with events (%(last_day)s)."),
    N_(
        "Includes per-person activity counts of %(formats)s for the %(days)s days ending "
        "%(end)s (no weekly detail: they count in the window's segments, not in the weekly "
        "series)."
    ),
    N_(
        "Includes per-person activity counts of %(formats)s for each day of the %(days)s "
        "days ending %(end)s: they count in the window's segments and in its weekly detail."
    ),
    N_(
        "Includes per-person activity counts of %(formats)s for each ISO week of the "
        "%(days)s days ending %(end)s: they count in the window's segments and in its weekly "
        "detail."
    ),
    N_(
        "No employee directory is loaded: each site's headcount is the people seen in "
        "its events up to as_of, so people who never used the network are missing."
    ),
    N_(
        "%(people)s people missing from the directory are counted at the location "
        "their Yammer profile (Users.csv) gives."
    ),
    # status.py (warnings)
    N_("the store holds no events: run `rse-adoption ingest`"),
    N_("no activity after %(day)s (%(age)s days ago; exports may have stopped arriving)"),
    N_("%(rows)s rows could not be read and are in quarantine (`rse-adoption quarantine`)"),
    N_(
        "no employee directory is loaded: headcounts come from activity and overstate "
        "every share (`rse-adoption directory FILE`)"
    ),
    N_(
        "the directory was loaded on %(day)s (%(age)s days ago): hires, leavers and moves "
        "since then are not counted"
    ),
    N_("%(site)s: no activity from %(start)s to %(end)s among its %(people)s people"),
    N_(
        "Slack: no message fetched after %(day)s in any of %(channels)s channel(s): is "
        "`rse-adoption fetch slack` still running (and allowed, exit 77)?"
    ),
    N_(
        "%(report)s: nothing fetched after %(day)s: is `rse-adoption fetch m365` still "
        "running (and allowed, exit 77)? Days older than %(horizon)s are lost for good"
    ),
    N_(
        "%(report)s: %(missing)s day(s) missing up to %(day)s (%(days)s): run `rse-adoption "
        "fetch m365` before they leave Microsoft's %(horizon)s-day range"
    ),
    N_(
        "%(files)s file(s) matched no known export format and were not read "
        "(%(names)s): ingest them with --format or --mapping, or remove them "
        "from the exports folder"
    ),
    N_(
        "%(files)s file(s) matched no known export format and were not read "
        "(%(names)s and %(more)s more): ingest them with --format or --mapping, or remove "
        "them from the exports folder"
    ),
    # metrics/communities.py (trends)
    N_("rising"),
    N_("falling"),
    N_("steady"),
)
_DECIMAL = re.compile(r"-?\d+\.\d+")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each phrase as a regular expression: its literal parts as they are, each
    `%(name)s` a named group."""
    compiled = []
    for phrase in PHRASES:
        parts = re.split(r"%\((\w+)\)s", phrase)
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        compiled.append((re.compile(f"^{regex}$"), phrase))
    return tuple(compiled)


def phrase(text: str, tr: Language) -> str:
    """`text`, written by an analysis in English, in `tr`'s language (numbers in the
    language's form); unchanged in English or when no known phrase matches."""
    if tr.english or not text:
        return text
    for pattern, message in _patterns():
        found = pattern.match(text)
        if found:
            values = {name: _number(value, tr) for name, value in found.groupdict().items()}
            return tr._(message, **values)
    return text


def _number(value: str, tr: Language) -> str:
    if _ISO_DAY.fullmatch(value):
        return tr.long_date(date.fromisoformat(value))
    if _DECIMAL.fullmatch(value):
        decimals = len(value.split(".")[1])
        return tr.decimal(float(value), decimals)
    if value.isdigit() and len(value) > 3:
        return tr.number(int(value))
    return value
