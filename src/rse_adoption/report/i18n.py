"""The one place that knows the language of a rendering: the gettext catalogue of the
package (locale/<lang>/LC_MESSAGES/rse_adoption.mo, from its .po; `make messages`), and the
words and numbers every renderer writes for people — messages, dates, numbers, percentages.

A renderer is given a `Language` (`language("fr")`) and asks it for everything a person
reads; machine outputs (JSON, CSV headers and values) never go through it. French numbers
and dates come from Babel's CLDR data, never from the process locale, so a cron run prints
the same bytes on every machine. English keeps each renderer's historical formats (the
`en_*` arguments), so that English output did not change when the catalogue came.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ..messages import N_ as N_  # the one marker, re-exported for the renderers

#: The languages a rendering can be in; the first is the default (docs/operations.md).
LANGUAGES: tuple[str, ...] = ("en", "fr")
DOMAIN = "rse_adoption"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: Babel's locale of each language: plain `en` (CLDR's "Sep", "Oct") and `fr` (France).
BABEL_LOCALES = {"en": "en", "fr": "fr_FR"}


def _babel_locale(code: str) -> str:
    return BABEL_LOCALES[code]


@dataclass(frozen=True)
class Language:
    """One language's messages and formats. `_` and `ngettext` translate, then fill
    `%(name)s` placeholders from keyword arguments (a literal % in a message with
    placeholders is written %%, as in the templates)."""

    code: str
    translations: gettext.NullTranslations

    @property
    def english(self) -> bool:
        return self.code == "en"

    def _(self, message: str, /, **values: object) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form for `n` (French: singular for 0 and 1), `%(num)s` being `n`."""
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def clauses(self, parts: list[str]) -> str:
        """Clauses of one sentence separated by semicolons, as the language writes them
        (French puts a space before it: "a ; b")."""
        return self._("; ").join(parts)

    def number(self, value: int | None, en_group: str | None = None) -> str:
        """A count: French groups thousands with a narrow no-break space (`1 332`);
        English keeps the renderer's habit (`en_group`: its thousands separator, None for
        none). "—" for a hidden figure."""
        if value is None:
            return "—"
        if self.english:
            return str(value) if en_group is None else f"{value:,}".replace(",", en_group)
        from babel.numbers import format_decimal

        return format_decimal(value, locale=_babel_locale(self.code))

    def decimal(self, value: float, decimals: int, *, sign: bool = False) -> str:
        """A number with `decimals` decimals (`0,918`; `+1,5` with `sign`)."""
        text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
        if self.english:
            return text
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        formatted = format_decimal(Decimal(text), format=pattern, locale=_babel_locale(self.code))
        return ("+" if sign and not text.startswith("-") else "") + formatted

    def percent(self, value: float | None, decimals: int = 1, en_space: str = "") -> str:
        """A share (0..1) as a percentage: French `14,1 %` (no-break space, CLDR);
        English `14.1%` or, with `en_space=" "`, `14.1 %`. "—" when hidden."""
        if value is None:
            return "—"
        digits = f"{value * 100:.{decimals}f}"  # the same rounding in every language
        if self.english:
            return f"{digits}{en_space}%"
        from babel import Locale
        from babel.numbers import format_percent

        locale = Locale.parse(_babel_locale(self.code))
        pattern = locale.percent_formats[None].pattern
        if decimals:
            pattern = pattern.replace("0", "0." + "0" * decimals, 1)
        return format_percent(Decimal(digits) / 100, format=pattern, locale=locale)

    def long_date(self, day: date) -> str:
        """`31 October 2026`, `31 octobre 2026` (`1er mai 2026`: French writes the first
        of the month as an ordinal)."""
        if self.code == "fr" and day.day == 1:
            return "1er " + self._format_date(day, "MMMM y")
        return self._format_date(day, "d MMMM y")

    def instant(self, text: str) -> str:
        """A UTC instant given as ISO text (`2026-12-01T07:12:09Z`): as it is in English,
        `1er décembre 2026 à 07:12 UTC` in French."""
        if self.english:
            return text
        from datetime import datetime

        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        day, time = self.long_date(moment.date()), moment.strftime("%H:%M")  # digits only
        return self._("%(day)s at %(time)s UTC", day=day, time=time)

    def month(self, day: date) -> str:
        """A month for a forecast: `Mar 2027` (English, as before), `mars 2027`."""
        return self._format_date(day, "MMM y" if self.english else "LLLL y")

    def day_month(self, day: date) -> str:
        """A chart's tick: `03 Aug`, `3 août`."""
        return self._format_date(day, "dd MMM" if self.english else "d MMM")

    def short_date(self, day: date) -> str:
        """A date in a table's title or a line of text: ISO in English (as before), the
        long form in French."""
        return day.isoformat() if self.english else self.long_date(day)

    def iso_day(self, text: str | None, missing: str = "—") -> str:
        """A day given as YYYY-MM-DD text (JSON-like data): as it is in English, the long
        form in French; `missing` when there is none."""
        if not text:
            return missing
        return text if self.english else self.long_date(date.fromisoformat(text[:10]))

    def _format_date(self, day: date, pattern: str) -> str:
        from babel.dates import format_date

        return format_date(day, pattern, locale=_babel_locale(self.code))


ENGLISH = Language("en", gettext.NullTranslations())


@functools.cache
def language(code: str = "en") -> Language:
    """The Language of `code` (one of LANGUAGES). English is the messages themselves; other
    languages read their compiled catalogue shipped in the package."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r} (known: {', '.join(LANGUAGES)})")
    if code == "en":
        return ENGLISH
    from babel.support import Translations

    translations = Translations.load(str(LOCALE_DIR), [code], DOMAIN)
    if not isinstance(translations, Translations):  # Babel returns NullTranslations
        raise FileNotFoundError(f"{LOCALE_DIR}/{code}/LC_MESSAGES/{DOMAIN}.mo is missing")
    return Language(code, translations)
