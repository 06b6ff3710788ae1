"""Movement between segments from one window to the next, on people whose path is known."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .conftest import write

# Two 14-day windows: 2026-03-02..15 (previous) and 2026-03-16..29 (current).
# r0..r5 read before; r0, r1, r2 contribute now, r3..r5 still read. c0..c4 contributed
# before; c0..c2 still do, c3 and c4 do nothing now.
DIRECTORY = "email,site\n" + "".join(
    f"{p}@x.fr,Lyon\n" for p in [*(f"r{i}" for i in range(6)), *(f"c{i}" for i in range(5))]
)
EVENTS = (
    "timestamp,user,event_type\n"
    + "".join(f"2026-03-05T10:00:00Z,r{i}@x.fr,read\n" for i in range(6))
    + "".join(f"2026-03-06T10:00:00Z,c{i}@x.fr,post\n" for i in range(5))
    + "".join(f"2026-03-20T10:00:00Z,r{i}@x.fr,post\n" for i in range(3))
    + "".join(f"2026-03-20T11:00:00Z,r{i}@x.fr,read\n" for i in range(3, 6))
    + "".join(f"2026-03-21T10:00:00Z,c{i}@x.fr,comment\n" for i in range(3))
)


def test_readers_who_became_contributors_and_contributors_lost(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("directory", write(tmp_path / "d.csv", DIRECTORY))
    cli("ingest", write(tmp_path / "e.csv", EVENTS))
    args = ("transitions", "--as-of", "2026-03-29", "--window", "14", "--min-group-size", "3")
    result = cli(*args, "--json").json()
    assert result["previous_window"] == {"start": "2026-03-02", "end": "2026-03-15"}
    (lyon,) = result["sites"]
    # 3 of 6 readers now contribute, but the rate is hidden: the 2 inactive people of today
    # are a small count, so the readers' segment (3) is hidden with it (headcount minus the
    # other segments), then the readers' cell of the readers' column (the column adds up to
    # the segment), then the rate that would give that cell back (3 of 3 + x)
    assert lyon["reader_to_contributor"] is None
    # 3 of 5 kept, 2 lost: the 2 are hidden, and so are the rates that would give them back
    assert lyon["contributor_retained"] is None and lyon["contributor_to_inactive"] is None
    assert lyon["matrix"]["reader"]["contributor"] == 3
    assert lyon["matrix"]["contributor"]["inactive"] is None  # 2 people: below 3, hidden
    assert lyon["matrix"]["visitor"]["contributor"] == 0  # zero reveals no one
    assert lyon["reactor_to_contributor"] is None  # no reactor before
    html = cli(*args, "--format", "html").stdout
    assert 'data-from="reader" data-to="contributor">3<' in html
    assert "reader → contrib." in cli(*args).stdout
    assert cli(*args, "--format", "csv").stdout.startswith("site,suppressed,reader_to_contributor")


def test_the_csv_names_each_column_once(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """A rate and a matrix cell used to share a name (`reader_to_contributor`): pandas then
    renamed one `reader_to_contributor.1` and a spreadsheet's look-up found the first."""
    cli("directory", write(tmp_path / "d.csv", DIRECTORY))
    cli("ingest", write(tmp_path / "e.csv", EVENTS))
    args = ("transitions", "--as-of", "2026-03-29", "--window", "14", "--min-group-size", "3")
    text = cli(*args, "--format", "csv").stdout
    header = next(csv.reader(io.StringIO(text)))
    assert len(header) == len(set(header)) == 2 + 5 + 25 + 1
    lyon = next(r for r in csv.DictReader(io.StringIO(text)) if r["site"] == "Lyon")
    assert lyon["reader_to_contributor"] == ""  # the rate, hidden (see the test above)
    assert lyon["reader_to_contributor_people"] == "3"  # the cell: 3 readers now contribute
    assert lyon["contributor_to_contributor"] == "3"  # cells no rate names keep their name
    assert lyon["withheld"] == "false"
