"""End to end through the CLI on the demo organisation, checked against figures computed
independently here in plain Python from the exported CSV files."""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from rse_adoption.cli import app
from rse_adoption.config import Settings
from rse_adoption.metrics import build_report
from rse_adoption.report.json_report import report_to_dict, schema

FRENCH_TYPES = {
    "connexion": "login",
    "lecture": "read",
    "j'aime": "reaction",
    "publication": "post",
    "commentaire": "comment",
}
RANK = {"login": 1, "read": 2, "reaction": 3, "post": 4, "comment": 4}
SEGMENT_OF_RANK = {0: "inactive", 1: "visitor", 2: "reader", 3: "reactor", 4: "contributor"}


def independent_segments(exports: Path, as_of: date, window_days: int) -> dict[str, dict[str, int]]:
    """Per-site segment counts computed from the CSV files, without the library."""
    start = as_of - timedelta(days=window_days - 1)
    people: dict[str, str] = {}
    with open(exports / "directory.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            hire = (
                datetime.strptime(row["date d'entrée"], "%d/%m/%Y").date()
                if row["date d'entrée"]
                else None
            )
            leave = (
                datetime.strptime(row["date de sortie"], "%d/%m/%Y").date()
                if row["date de sortie"]
                else None
            )
            if (hire is None or hire <= as_of) and (leave is None or leave > as_of):
                people[row["courriel"].lower()] = row["site"]
    rank: dict[str, int] = defaultdict(int)
    for path in sorted((exports / "events").glob("*.csv")):
        french = path.read_bytes().startswith(b"date;")
        with open(path, encoding="cp1252" if french else "utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter=";" if french else ","):
                if french:
                    day = datetime.strptime(row["date"], "%d/%m/%Y %H:%M:%S").date()
                    kind, user = FRENCH_TYPES[row["action"]], row["utilisateur"]
                else:
                    day = date.fromisoformat(row["timestamp"][:10])
                    kind, user = row["event_type"], row["user"]
                if start <= day <= as_of:
                    rank[user.lower()] = max(rank[user.lower()], RANK[kind])
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(SEGMENT_OF_RANK.values(), 0)
    )
    for person, site in people.items():
        counts[site][SEGMENT_OF_RANK[rank.get(person, 0)]] += 1
    return counts


def test_json_report_matches_independent_computation(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    expected = independent_segments(demo["exports"], date.fromisoformat(report["as_of"]), 90)
    assert report["as_of"] == "2026-10-31"
    assert [s["site"] for s in report["sites"]] == sorted(expected)
    for site in report["sites"]:
        counts = expected[site["site"]]
        headcount = sum(counts.values())
        if headcount < 5:
            assert site["suppressed"] and site["headcount"] is None and site["segments"] is None
            continue
        assert site["headcount"] == headcount
        for segment, true in counts.items():
            shown = site["segments"][segment]
            if 0 < true < 5:  # fewer than k people: hidden, and said so
                assert shown is None and f"segments.{segment}" in site["fewer_than_k"]
            elif shown is None:  # hidden so that a small one cannot be recomputed
                assert f"segments.{segment}" in site["hidden"], (site["site"], segment)
            else:
                assert shown == true, (site["site"], segment)
        if site["contributor_share"] is not None:
            assert site["contributor_share"] == pytest.approx(counts["contributor"] / headcount)
        else:  # the bound it is certain to respect, the one its status was decided on:
            # (k − 1) / headcount to the next 0.1 % (k / headcount read as if in the band)
            assert counts["contributor"] / headcount < site["contributor_share_below"]
            assert site["contributor_share_below"] <= 4 / headcount + 0.001
    # totals are the organisation's: every site of at least k people
    visible = [expected[s["site"]] for s in report["sites"] if not s["suppressed"]]
    assert report["totals"]["headcount"] == sum(sum(c.values()) for c in visible)


def test_demo_has_every_status_and_a_suppressed_site(demo: dict[str, Path]) -> None:
    report = build_report(Settings(data_dir=demo["data"]))
    statuses = {s.status for s in report.sites}
    assert {"below", "tipping", "tipped"} <= statuses
    assert any(s.suppressed for s in report.sites)
    assert report.unlisted_active_users > 0


def test_json_validates_against_the_documented_schema(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--format", "json"]
    )
    jsonschema.validate(json.loads(result.stdout), schema())


def test_cli_json_equals_library_result(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--format", "json", "--window", "30"]
    )
    cli_json = json.loads(result.stdout)
    library = report_to_dict(build_report(Settings(data_dir=demo["data"], window_days=30)))
    cli_json.pop("generated_at")
    library.pop("generated_at")
    assert cli_json == library


def test_site_filter_and_detail_block(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["report", "--data-dir", str(demo["data"]), "--site", "lyon"])
    assert result.exit_code == 0
    assert "Lyon" in result.stdout and "weekly contributors" in result.stdout
    assert "Marseille" not in result.stdout


def test_unknown_site_exits_65_with_closest_names(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--site", "Marseile"]
    )
    assert result.exit_code == 65
    assert "closest known sites: Marseille" in result.stderr
    assert result.stdout == ""


def test_csv_has_a_row_per_site_and_a_total(demo: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["site"] for r in rows][-1] == "TOTAL"
    geneve = next(r for r in rows if r["site"] == "Genève")
    assert (
        geneve["suppressed"] == "true" and geneve["headcount"] == "" and geneve["contributor"] == ""
    )


def test_markdown_summary(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["report", "--data-dir", str(demo["data"]), "--format", "md"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# ESN adoption by site — 2026-10-31")
    assert "| Genève | fewer than 5 people |" in result.stdout


def test_weekly_series_in_json(demo: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--format", "json", "--site", "Lyon"]
    )
    lyon = json.loads(result.stdout)["sites"][0]
    weeks = [p["week_start"] for p in lyon["series"]]
    assert weeks[0] == "2026-08-03" and weeks[-1] == "2026-10-26" and len(weeks) == 13
    assert all(date.fromisoformat(w).weekday() == 0 for w in weeks)
    assert all(p["contributors"] <= p["active_users"] <= lyon["headcount"] for p in lyon["series"])
    to_date = [p["contributors_to_date"] for p in lyon["series"]]
    assert to_date == sorted(to_date) and to_date[-1] == lyon["segments"]["contributor"]
    assert all(p["contributors"] <= c for p, c in zip(lyon["series"], to_date, strict=True))


def test_csv_neutralises_spreadsheet_formulas(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    directory = tmp_path / "dir.csv"
    directory.write_text(
        "email,site\n" + "".join(f'p{i}@x.fr,=HYPERLINK("http://evil")\n' for i in range(5)),
        encoding="utf-8",
    )
    events = tmp_path / "e.csv"
    events.write_text(
        "timestamp,user,event_type\n2026-03-02T09:00:00Z,p1@x.fr,post\n", encoding="utf-8"
    )
    assert runner.invoke(app, ["directory", str(directory), "--data-dir", data]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(events), "--data-dir", data]).exit_code == 0
    result = runner.invoke(app, ["report", "--data-dir", data, "--format", "csv"])
    row = next(csv.DictReader(result.stdout.splitlines()))
    assert row["site"] == '\'=HYPERLINK("http://evil")'
    # 1 contributor of 5 people: fewer than k, hidden (an empty cell)
    assert row["contributor"] == "" and row["headcount"] == "5"


def test_demo_can_load_itself_into_a_store(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    result = runner.invoke(
        app, ["demo", "--out", str(tmp_path / "x"), "--data-dir", data, "--scale", "0.1"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(
        runner.invoke(app, ["report", "--data-dir", data, "--format", "json"]).stdout
    )
    assert report["headcount_source"] == "directory" and report["totals"]["headcount"] > 0


def test_every_command_speaks_json_and_can_be_quiet(tmp_path: Path, demo: dict[str, Path]) -> None:
    """Scripts get one JSON object from --json; --quiet prints nothing but errors."""
    runner = CliRunner()
    data = str(demo["data"])
    commands = [
        ["report", "--data-dir", data],
        ["status", "--data-dir", data],
        ["quarantine", "--data-dir", data],
        ["history", "--data-dir", data],
        ["config", "show", "--data-dir", data],
        ["demo", "--out", str(tmp_path / "d")],
        ["prune", "--data-dir", str(tmp_path / "copy"), "--dry-run"],
        ["forget", "nobody@x.fr", "--data-dir", str(tmp_path / "copy"), "--dry-run"],
    ]
    shutil.copytree(demo["data"], tmp_path / "copy")
    for command in commands:
        as_json = runner.invoke(app, [*command, "--json"])
        assert as_json.exit_code == 0, (command, as_json.stderr)
        json.loads(as_json.stdout)
        quiet = runner.invoke(app, [*command, "--quiet"])
        assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == "", command


def test_the_json_report_command_loads_no_pyarrow(demo: dict[str, Path]) -> None:
    """A report reads the store through DuckDB only: importing pyarrow (about 0.08 s of a
    short report's start-up) would be time spent for nothing (docs/benchmarks.md)."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from rse_adoption.cli import main\n"
        f"sys.argv = ['rse-adoption', 'report', '--data-dir', {str(demo['data'])!r}, "
        "'--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\n"
        "print(code, 'pyarrow' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stderr.split()[-2:] == ["0", "False"], done.stderr
    assert json.loads(done.stdout)["sites"]
