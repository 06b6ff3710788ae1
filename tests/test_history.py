"""`report --history` keeps per-site figures that outlive the raw events; `history` reads
them back, the latest run of a day winning."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from .conftest import write


def test_history_outlives_pruned_events(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    shutil.copytree(demo["data"], data)
    reports = {}
    for as_of in ("2026-09-30", "2026-10-31", "2026-10-31"):
        result = cli(
            "report", "--data-dir", data, "--as-of", as_of, "--format", "json", "--history"
        )
        assert result.exit_code == 0, result.stderr
        reports[as_of] = result.json()
    rows = cli("history", "--data-dir", data, "--json").json()["history"]
    sites = reports["2026-10-31"]["sites"]
    assert len(rows) == 2 * (len(sites) + 1)  # the same day twice counts once
    for as_of, report in reports.items():
        by_site = {r["site"]: r for r in rows if r["as_of"] == as_of}
        for site in report["sites"]:
            row = by_site[site["site"]]
            assert row["suppressed"] == site["suppressed"]
            assert row["headcount"] == site["headcount"]
            assert row["contributor_share"] == site["contributor_share"]
            assert row["contributors"] == (
                None if site["suppressed"] else site["segments"]["contributor"]
            )
        assert by_site[None]["headcount"] == report["totals"]["headcount"]

    assert cli("prune", "--data-dir", data, "--keep-days", "1").exit_code == 0
    assert (
        cli("report", "--data-dir", data, "--as-of", "2026-10-31", "--format", "json").json()[
            "totals"
        ]["segments"]["contributor"]
        == 0
    )  # raw events are gone...
    kept = cli("history", "--data-dir", data, "--json", "--site", "lyon").json()["history"]
    assert [(r["as_of"], r["site"]) for r in kept] == [
        ("2026-09-30", "Lyon"),
        ("2026-10-31", "Lyon"),
    ]  # ...the figures stay
    text = cli("history", "--data-dir", data).stdout
    assert "Genève" in text and "hidden" in text and "tipped" in text


def test_no_history_yet(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli(
            "ingest",
            write(
                tmp_path / "e.csv", "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
            ),
        ).exit_code
        == 0
    )
    result = cli("history", "--json")
    assert result.exit_code == 0 and result.json() == {"history": []}


def test_a_report_of_one_site_never_replaces_the_organisation_s_totals(
    tmp_path: Path, cli, demo
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    shutil.copytree(demo["data"], data)
    day = ("--data-dir", data, "--as-of", "2026-10-31", "--format", "json", "--history")
    whole = cli("report", *day).json()
    lyon = cli("report", *day, "--site", "Lyon").json()
    # totals are the organisation's whatever --site asks (docs/privacy.md): subsets of
    # sites cannot be differenced
    assert lyon["totals"] == whole["totals"]

    rows = cli("history", "--data-dir", data, "--json").json()["history"]
    totals = [r for r in rows if r["site"] is None]
    assert {r["headcount"] for r in totals} == {whole["totals"]["headcount"]}
    assert None in [r["scope"] for r in totals]
    assert len(rows) == len(whole["sites"]) + 1  # Lyon's row once, the latest run's

    scoped = cli("history", "--data-dir", data, "--json", "--site", "lyon").json()["history"]
    assert [(r["site"], r["headcount"], r["scope"]) for r in scoped] == [
        ("Lyon", lyon["sites"][0]["headcount"], None),
        (None, lyon["totals"]["headcount"], ["Lyon"]),
    ]
    assert "Total of Lyon" in cli("history", "--data-dir", data, "--site", "Lyon").stdout


def test_history_files_written_before_scope_read_as_whole_organisation(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rse_adoption import store
    from rse_adoption.history import HISTORY_SCHEMA

    data = tmp_path / "data"
    events = "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n"
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    old_schema = pa.schema([f for f in HISTORY_SCHEMA if f.name != "scope"])
    row = {
        "as_of": date(2026, 3, 2),
        "window_days": 90,
        "site": None,
        "suppressed": False,
        "headcount": 7,
        "active_users": 7,
        "contributors": 7,
        "contributor_share": 1.0,
        "status": "tipped",
        "ambassadors": 0,
        "generated_at": "2026-03-03T00:00:00Z",
    }
    with store.writing(data) as tx:
        target = tx.new_data_path("history")
        pq.write_table(pa.Table.from_pylist([row], schema=old_schema), target)
        manifest = tx.manifest.copy()
        manifest.history_files.append(
            {"path": tx.relative(target), "as_of": "2026-03-02", "window_days": 90, "rows": 1}
        )
        tx.commit(manifest)
    rows = cli("history", "--json").json()["history"]
    assert [(r["site"], r["headcount"], r["scope"]) for r in rows] == [(None, 7, None)]
