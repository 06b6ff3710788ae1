"""Sentences the analyses write (messages.py, issue 29): a code, a catalogue template and
typed parameters, said in each renderer's language — never English prose that a renderer
must recognise."""

from __future__ import annotations

import ast
import json
import pickle
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from rse_adoption.api import open_store
from rse_adoption.messages import Message, Share, plural_message, say
from rse_adoption.report.i18n import language

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rse_adoption"
FRENCH = language("fr")


def test_a_message_is_its_english_text_for_json_and_csv() -> None:
    note = Message(
        "window.after_last_day",
        "as_of %(as_of)s is after the last day with events (%(last_day)s).",
        as_of=date(2026, 11, 2),
        last_day=date(2026, 10, 31),
    )
    assert note == "as_of 2026-11-02 is after the last day with events (2026-10-31)."
    assert json.loads(json.dumps([note])) == [str(note)]
    copy = pickle.loads(pickle.dumps(note))
    assert (copy, copy.code, copy.params) == (note, note.code, note.params)


def test_each_parameter_is_written_the_language_s_way() -> None:
    note = Message(
        "window.after_last_day",
        "as_of %(as_of)s is after the last day with events (%(last_day)s).",
        as_of=date(2026, 11, 2),
        last_day=date(2026, 10, 31),
    )
    assert say(note, FRENCH) == (
        "la date de fin 2 novembre 2026 est après le dernier jour avec des événements "
        "(31 octobre 2026)."
    )
    assert say(note, language("en")) == str(note)
    assert say("Lyon", FRENCH) == "Lyon"  # plain text (a name) is written as it is
    assert Message("t", "%(n)s", n=Share(0.1412)).render(FRENCH) == "14,1\u00a0%"
    assert Message("t", "%(n)s", n=Decimal("0.50")).render(FRENCH) == "0,50"
    assert Message("t", "%(n)s", n=12345).render(FRENCH) == FRENCH.number(12345)


def test_plurals_follow_the_count_in_both_languages() -> None:
    def rows(n: int) -> Message:
        return plural_message(
            "status.quarantine",
            "%(num)s row could not be read and is in quarantine (`rse-adoption quarantine`)",
            "%(num)s rows could not be read and are in quarantine (`rse-adoption quarantine`)",
            n,
        )

    assert rows(1).startswith("1 row could not be read and is")
    assert rows(2).startswith("2 rows could not be read and are")
    assert say(rows(1), FRENCH).startswith("1 ligne n'a pas pu être lue")
    assert say(rows(3), FRENCH).startswith("3 lignes n'ont pas pu être lues")


def test_one_code_one_template() -> None:
    """A code names one sentence: two templates under one code would be two codes."""
    templates: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"Message", "plural_message"}
                and len(node.args) >= 2
                and all(isinstance(a, ast.Constant) for a in node.args[:2])
            ):
                code, template = node.args[0].value, node.args[1].value  # type: ignore[attr-defined]
                templates.setdefault(code, set()).add(template)
    assert len(templates) > 30
    assert {c: t for c, t in templates.items() if len(t) > 1} == {}
    assert all(re.fullmatch(r"[a-z_0-9]+(\.[a-z_0-9]+)+", code) for code in templates)


def test_the_notes_of_a_french_report_are_french(demo: dict[str, Path]) -> None:
    """The notes that used to escape the renderers' phrase list (movement's, the
    interactions' reason) come out in French."""
    from rse_adoption.report import markdown

    report = open_store(demo["data"]).report(as_of=date(2026, 6, 14)).report
    assert any(
        isinstance(n, Message) and n.code == "movement.partial_history" for n in report.notes
    )
    page = markdown.render(report, FRENCH)
    assert "The stored events begin" not in page
    assert "Les événements stockés commencent après le premier jour" in page
