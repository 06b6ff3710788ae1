"""The Jinja environment of every HTML page: the package's templates, autoescaped."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("rse_adoption.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
