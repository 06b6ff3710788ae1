"""Sentences for people that analyses write into their results (a report's notes, a reason,
a status warning): a stable code, the catalogue's English template and typed parameters,
so that each renderer says them in its own language through the gettext catalogue.

A `Message` is a `str` whose value is its English text: JSON and CSV, which never change
language, write it as they always have, and `message.code` / `message.params` are there
for scripts and tests. A renderer calls `say(text, tr)`. Templates are marked for
extraction (`make messages`: keywords `Message:2` and `plural_message:2,3`), and
tests/test_french.py fails when a template in the code has no French translation.

Parameters are typed, and each language writes them its own way: `int` (a count: French
groups thousands), `date` (ISO in English, `31 octobre 2026` in French), `Decimal` (its
own number of decimals), `Share` (a 0..1 share as a percentage), a list of dates, a
nested `Message`, or `str` (a name: written as it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from .report.i18n import Language


def N_(message: str) -> str:
    """Marks `message` for extraction into the catalogue; translated where it is shown."""
    return message


@dataclass(frozen=True)
class Share:
    """A share (0..1) shown as a percentage with `decimals` decimals."""

    value: float
    decimals: int = 1


Param = Union[int, str, date, Decimal, Share, tuple[date, ...], "Message"]  # noqa: UP007


class Message(str):
    """A sentence with a `code`, its English `template` (`%(name)s` placeholders), typed
    `params`, and for a plural the `plural` template and the count `n` choosing the form."""

    code: str
    template: str
    plural: str | None
    n: int | None
    params: dict[str, Param]

    def __new__(cls, code: str, template: str, /, **params: Param) -> Message:
        return _make(cls, code, template, None, None, params)

    def __reduce__(self) -> tuple[object, ...]:  # pickled (worker processes) as it was made
        return (_rebuild, (self.code, self.template, self.plural, self.n, self.params))

    def render(self, tr: Language) -> str:
        """This sentence in `tr`'s language."""
        if tr.english:
            return str(self)
        values = {name: _localised(value, tr) for name, value in self.params.items()}
        if self.plural is not None and self.n is not None:
            return tr.ngettext(self.template, self.plural, self.n, **values)
        return tr._(self.template, **values)


def plural_message(
    code: str, singular: str, plural: str, count: int, /, **params: Param
) -> Message:
    """A Message whose form depends on `count` (`%(num)s` in the templates)."""
    return _make(Message, code, singular, plural, count, params)


def _make(
    cls: type[Message],
    code: str,
    template: str,
    plural: str | None,
    count: int | None,
    params: dict[str, Param],
) -> Message:
    english = {name: _english(value) for name, value in params.items()}
    chosen = template if plural is None or count == 1 else plural
    if count is not None:
        english["num"] = str(count)
    text = chosen % english if english or "%(" in chosen else chosen
    made = str.__new__(cls, text)
    made.code, made.template, made.plural, made.n = code, template, plural, count
    made.params = dict(params)
    return made


def _rebuild(
    code: str, template: str, plural: str | None, count: int | None, params: dict[str, Param]
) -> Message:
    return _make(Message, code, template, plural, count, params)


def _english(value: Param) -> str:
    if isinstance(value, Share):
        return f"{value.value * 100:.{value.decimals}f}%"
    if isinstance(value, tuple):
        return ", ".join(day.isoformat() for day in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _localised(value: Param, tr: Language) -> str:
    if isinstance(value, Message):
        return value.render(tr)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return tr.number(value)
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return tr.decimal(float(value), decimals)
    if isinstance(value, Share):
        return tr.percent(value.value, value.decimals)
    if isinstance(value, tuple):
        return ", ".join(tr.long_date(day) for day in value)
    if isinstance(value, date):
        return tr.long_date(value)
    return value


def say(text: str | None, tr: Language) -> str:
    """`text` (a Message, or plain text such as a site's name) in `tr`'s language; plain
    text is written as it is."""
    if text is None:
        return ""
    if isinstance(text, Message):
        return text.render(tr)
    return text


#: What a Microsoft 365 admin does so that reports name people again (every message about
#: concealed names ends with it).
CONCEALED_NAMES_FIX = Message(
    "concealed_names.fix",
    'To report by site, a Microsoft 365 admin turns off "Display concealed user, group, '
    'and site names in all reports" (admin center > Settings > Org settings > Reports; '
    "Graph: admin/reportSettings displayConcealedNames = false), then exports the reports "
    "again.",
)
