"""Complementary disclosure: no published figure, alone or with the others of the same
output, gives back a count the privacy threshold hides (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

from .conftest import write
from .test_transitions import DIRECTORY as TRANSITIONS_DIRECTORY
from .test_transitions import EVENTS as TRANSITIONS_EVENTS


def test_a_transition_rate_does_not_give_back_a_hidden_cell(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # 5 contributors before: 3 still contribute, 2 did nothing now (hidden below 3). A rate
    # 0.4 of contributors then, or 0.6 kept, gives the hidden 2 back.
    cli("directory", write(tmp_path / "d.csv", TRANSITIONS_DIRECTORY))
    cli("ingest", write(tmp_path / "e.csv", TRANSITIONS_EVENTS))
    args = ("transitions", "--as-of", "2026-03-29", "--window", "14", "--min-group-size", "3")
    (lyon,) = cli(*args, "--json").json()["sites"]
    assert lyon["matrix"]["contributor"]["inactive"] is None
    assert lyon["contributor_to_inactive"] is None
    assert lyon["contributor_retained"] is None
    # the readers' row has no hidden cell: its rate stays
    assert lyon["reader_to_contributor"] == 0.5
    csv_text = cli(*args, "--format", "csv").stdout
    assert "0.400000" not in csv_text and "0.600000" not in csv_text
