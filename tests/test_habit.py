"""Habitual versus occasional contributors, and the 12-week usage segments."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from rse_adoption.metrics.habit import usage_segments

from .conftest import write

AS_OF = date(2026, 3, 29)  # a Sunday: the last of the 12 weeks ends here


def weekly_posts(user: str, weeks_ago: list[int]) -> str:
    """One post on the Monday of each of these weeks (0 = as_of's week)."""
    monday = AS_OF - timedelta(days=AS_OF.weekday())
    return "".join(
        f"{(monday - timedelta(weeks=w)).isoformat()}T10:00:00Z,{user},post\n" for w in weeks_ago
    )


def test_nine_of_the_last_twelve_weeks_make_a_habit(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    directory = "email,site\n" + "".join(f"u{i}@x.fr,Lyon\n" for i in range(6))
    events = (
        "timestamp,user,event_type\n"
        + weekly_posts("u0@x.fr", list(range(9)))  # 9 of 12: habitual
        + weekly_posts("u1@x.fr", list(range(8)))  # 8 of 12: occasional
        + weekly_posts("u2@x.fr", [0, 1, 2, 3, 4, 5, 6, 7, 11])  # 9, with a gap: habitual
        + weekly_posts("u3@x.fr", [0])  # one post: occasional
        + weekly_posts("u4@x.fr", list(range(12, 24)))  # a habit that ended: not a contributor
    )
    cli("directory", write(tmp_path / "d.csv", directory))
    cli("ingest", write(tmp_path / "e.csv", events))
    args = ("--as-of", AS_OF.isoformat(), "--window", "84", "--json", "--min-group-size", "1")
    report = cli("report", *args).json()
    lyon = report["sites"][0]
    assert lyon["segments"]["contributor"] == 4
    assert (lyon["habitual_contributors"], lyon["occasional_contributors"]) == (2, 2)
    assert report["totals"]["habitual_contributors"] == 2


def test_usage_segments_follow_the_vivainsights_12_week_rules() -> None:
    rows = []
    for week in range(12):
        rows.append(("power", week, 20))  # every week, 20 a week
        rows.append(("habitual", week, 0 if week in (0, 5, 7) else 2))  # 9 of 12 weeks
        rows.append(("novice", week, 3 if week % 2 else 0))  # 6 of 12, mean 1.5
        rows.append(("low", week, 1 if week == 11 else 0))  # mean 1/12
        rows.append(("none", week, 0))
    con = duckdb.connect()
    con.register("panel", pd.DataFrame(rows, columns=["person", "week", "value"]))
    result = usage_segments(con, "panel").df()
    last = result[result["week"] == 11].set_index("person")["segment"].to_dict()
    assert last == {
        "power": "Power User",
        "habitual": "Habitual User",
        "novice": "Novice User",
        "low": "Low User",
        "none": "Non-user",
    }
    # early weeks use what there is (vivainsights' min_periods=1): one week of 20 is not
    # yet a habit
    first = result[result["week"] == 0].set_index("person")["segment"].to_dict()
    assert first["power"] == "Novice User"
