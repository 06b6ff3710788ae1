"""The Jinja environment of every HTML page: the package's templates, autoescaped, with
the i18n extension holding the catalogue of the page's language (report/i18n.py): a
template's `_()` and `ngettext()` are the renderers' own, `%(name)s` filled from keywords."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape

from .i18n import language


@functools.cache
def environment(lang: str = "en") -> Environment:
    env = Environment(
        loader=PackageLoader("rse_adoption.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(language(lang).translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = lang
    return env
