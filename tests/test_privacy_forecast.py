"""A forecast is fitted on a site's weekly contributor shares: when those contributors are
hidden, the forecast would give them back (a flat line's intercept × headcount is the
count), so it is withheld with them (docs/privacy.md, "The rule")."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from rse_adoption.config import Settings
from rse_adoption.directory import load_directory
from rse_adoption.ingest.pipeline import ingest_paths
from rse_adoption.metrics import build_report
from rse_adoption.report.json_report import report_to_dict

from .conftest import write

AS_OF = date(2026, 6, 28)  # a Sunday: 20 whole weeks of posts before it


def _store(tmp_path: Path) -> Path:
    """Two sites of 30 people each: at Grand, 10 people post every week; at Petit, 2."""
    directory = ["email,site"]
    events = ["timestamp,user,event_type"]
    for site, posting in (("Grand", 10), ("Petit", 2)):
        for i in range(30):
            email = f"{site.lower()}{i}@x.fr"
            directory.append(f"{email},{site}")
            for week in range(20):
                day = AS_OF - timedelta(days=7 * week + 2)
                kind = "post" if i < posting else "login"
                events.append(f"{day.isoformat()}T10:00:00Z,{email},{kind}")
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    load_directory(write(tmp_path / "d.csv", "\n".join(directory) + "\n"), settings)
    ingest_paths([write(tmp_path / "e.csv", "\n".join(events) + "\n")], settings)
    return data


def test_a_site_with_hidden_contributors_has_no_forecast(tmp_path: Path) -> None:
    data = _store(tmp_path)
    report = report_to_dict(
        build_report(Settings(data_dir=data, min_group_size=5, window_days=90), as_of=AS_OF)
    )
    petit = next(s for s in report["sites"] if s["site"] == "Petit")
    assert petit["segments"]["contributor"] is None  # 2 contributors: "< 5"
    assert petit["forecast"] is None
    assert "forecast" in petit["hidden"]
    groups = [*report["sites"], report["totals"]]
    for g in groups:  # hidden for another's sake (Grand = totals − Petit) alike
        if g["segments"]["contributor"] is None:
            assert g["forecast"] is None
    assert any(g["forecast"] is not None for g in groups)  # the others keep theirs
    # with every count shown, the same forecast gives the count back: 2 of 30 each week
    shown = report_to_dict(
        build_report(Settings(data_dir=data, min_group_size=1, window_days=90), as_of=AS_OF)
    )
    petit_shown = next(s for s in shown["sites"] if s["site"] == "Petit")
    parameters = petit_shown["forecast"]["parameters"]
    if petit_shown["forecast"]["method"] == "linear":
        assert round(parameters["intercept"] * 30) == 2


def test_an_unknown_status_says_fewer_than_k_only_when_that_is_why() -> None:
    from rse_adoption.model import GroupFigures, Segments
    from rse_adoption.report.i18n import ENGLISH
    from rse_adoption.report.statuses import group_status_label

    hidden = Segments(inactive=None, visitor=None, reader=None, reactor=None, contributor=None)
    small = GroupFigures(
        "Nantes", False, 87, None, hidden, None, "unknown", None, 0,
        fewer_than_k=("segments.contributor",),
    )  # fmt: skip
    assert group_status_label(small, ENGLISH, 5) == "unknown (fewer than 5 contributors)"
    # hidden so that another site's small count cannot be recomputed: it may be 40
    complement = GroupFigures("Lyon", False, 616, None, hidden, None, "unknown", None, 9)
    assert group_status_label(complement, ENGLISH, 5) == "unknown (contributors hidden)"
