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

from ..messages import Message
from .i18n import N_, Language

PHRASES: tuple[str, ...] = (
    # metrics/forecast.py (the last sentences written as English text: every other
    # analysis writes a messages.Message, which says itself in each language)
    N_("Bass fit not possible (flat series): linear trend of the last %(weeks)s weeks"),
    N_("Bass fit poor (R² %(r_squared)s < %(minimum)s): linear trend of the last %(weeks)s weeks"),
    N_("%(points)s weekly points; a forecast needs at least %(minimum)s (more history)"),
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
    """`text`, written by an analysis, in `tr`'s language: a Message through the catalogue
    (messages.py); older English text through the known phrases (numbers in the language's
    form); unchanged in English or when no known phrase matches."""
    if isinstance(text, Message):
        return text.render(tr)
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
