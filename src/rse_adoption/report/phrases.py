"""How a renderer says a sentence an analysis wrote into a Report (a note, a reason, a
warning): a `messages.Message` says itself through the catalogue in the rendering's
language; any other text (a site's or a community's name) is written as it is.

There is no table of English sentences to recognise any more: every sentence an analysis
writes is a Message with a code and typed parameters (messages.py), and
tests/test_french.py fails when one has no French translation.
"""

from __future__ import annotations

from ..messages import say
from .i18n import Language


def phrase(text: str, tr: Language) -> str:
    """`text` in `tr`'s language (see the module's docstring)."""
    return say(text, tr)
