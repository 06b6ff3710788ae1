"""The library face (api.py): its results equal the commands' JSON and CSV, its arguments are
validated as the flags are, and the examples of docs/api.md run as written."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import rse_adoption as rse
from rse_adoption.errors import ConfigError, DataError, NoInputError
from rse_adoption.report.csv_report import safe_cell

DOCS = Path(__file__).resolve().parents[1] / "docs"
AS_OF = "2026-10-31"


def _without_time(data: dict[str, Any]) -> dict[str, Any]:
    """A report's JSON without the moment it was generated (differs between two runs)."""
    return {k: v for k, v in data.items() if k != "generated_at"}


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def store(tmp_path: Path, demo) -> rse.Store:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    shutil.copytree(demo["data"], data)
    return rse.open_store(data)


def test_report_to_dict_is_the_command_s_json(store: rse.Store, cli) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    for sites, args in (((), ()), (("Lyon", "Nantes"), ("--site", "lyon", "--site", "Nantes"))):
        result = store.report(sites=sites, as_of=date(2026, 10, 31), window_days=60)
        shown = cli(
            "report", "--data-dir", store.settings.data_dir, "--as-of", AS_OF, "--window", "60",
            "--format", "json", *args,
        )  # fmt: skip
        assert shown.exit_code == 0, shown.stderr
        assert _without_time(result.to_dict()) == _without_time(shown.json())
        assert result.sites == result.report.sites  # the model's attributes, read through


def test_report_to_pandas_is_the_csv_without_its_total_row(store: rse.Store, cli) -> None:  # type: ignore[no-untyped-def]
    frame = store.report().to_pandas()
    rows = _csv_rows(cli("report", "--data-dir", store.settings.data_dir, "--format", "csv").stdout)
    assert list(frame.columns) == rows[0]
    assert rows[-1][0] == "TOTAL" and len(frame) == len(rows) - 2
    for values, row in zip(frame.itertuples(index=False), rows[1:-1], strict=True):
        typed = [
            None
            if pd.isna(v)
            else v.date().isoformat()  # a day (datetime64 here, ISO in the CSV)
            if isinstance(v, pd.Timestamp)
            else getattr(v, "item", lambda v=v: v)()
            for v in values
        ]
        assert [safe_cell(v) for v in typed] == row
    lyon = frame.set_index("site").loc["Lyon"]
    assert lyon["contributor"] > 0 and 0 < lyon["contributor_share"] < 1  # numbers, not text
    assert str(frame["headcount"].dtype) == "Int64"  # integers, though a hidden site has none


@pytest.mark.parametrize("section", ["ambassadors", "communities", "transitions", "personas"])
def test_each_section_equals_its_command(store: rse.Store, cli, section: str) -> None:  # type: ignore[no-untyped-def]
    result = getattr(store, section)()
    data_dir = store.settings.data_dir
    shown = cli(section, "--data-dir", data_dir, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert result.to_dict() == shown.json()
    rows = _csv_rows(cli(section, "--data-dir", data_dir, "--format", "csv").stdout)
    frame = result.to_pandas()
    assert list(frame.columns) == rows[0] and len(frame) == len(rows) - 1


def test_store_maintenance_equals_the_commands(store: rse.Store, cli) -> None:  # type: ignore[no-untyped-def]
    data_dir = store.settings.data_dir
    store.report(history=True)
    assert store.history().to_dict() == cli("history", "--data-dir", data_dir, "--json").json()
    frame = store.history(sites=["Lyon"]).to_pandas()
    assert list(frame["site"]) == ["Lyon"]  # no report of Lyon alone recorded its totals
    status = store.status().to_dict()
    assert status == cli("status", "--data-dir", data_dir, "--json").json()
    assert (
        store.prune(keep_days=30, dry_run=True).to_dict()
        == cli("prune", "--data-dir", data_dir, "--keep-days", "30", "--dry-run", "--json").json()
    )
    who = "p000003@demo.example"
    assert (
        store.forget([who], dry_run=True).to_dict()
        == cli("forget", who, "--data-dir", data_dir, "--dry-run", "--json").json()
    )
    assert store.quarantine() == cli("quarantine", "--data-dir", data_dir, "--json").json()


def test_ingest_and_directory_count_as_the_commands_print(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    library = rse.open_store(tmp_path / "library", create=True)
    loaded = library.load_directory(demo["exports"] / "directory.csv")
    ingested = library.ingest([demo["exports"] / "events"])
    command = tmp_path / "command"
    shown_directory = cli("directory", demo["exports"] / "directory.csv", "--data-dir", command)
    assert shown_directory.exit_code == 0
    shown = cli("ingest", demo["exports"] / "events", "--data-dir", command, "--json")
    assert ingested.to_dict() == shown.json()
    as_json = cli(
        "directory", demo["exports"] / "directory.csv", "--data-dir", command, "--json"
    ).json()
    loaded = library.load_directory(demo["exports"] / "directory.csv")  # now matched to events
    assert loaded.match_share is not None and loaded.match_share > 0.95
    assert {k: v for k, v in loaded.to_dict().items() if k != "loaded_at"} == {
        k: v for k, v in as_json.items() if k != "loaded_at"
    }


def test_a_missing_store_is_not_created_without_create(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no store here"):
        rse.open_store(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
    assert rse.open_store(tmp_path / "new", create=True).settings.data_dir.is_dir()
    with pytest.raises(NoInputError):  # reading commands check too, whoever built the Store
        rse.Store(tmp_path / "typo").report()
    assert not (tmp_path / "typo").exists()


def test_arguments_are_validated_as_flags_are(store: rse.Store) -> None:
    with pytest.raises(ConfigError, match=r"window must be at least 1 day, got 0") as bad:
        store.report(window_days=0)
    assert bad.value.exit_code == 2 and "window_days from argument" in str(bad.value)
    with pytest.raises(ConfigError, match="engine must be one of duckdb, spark"):
        store.report(engine="oracle")
    with pytest.raises(TypeError, match="unknown settings: window"):
        rse.open_store(store.settings.data_dir, window=30)
    with pytest.raises(DataError, match="unknown site 'Lyonn'; closest known sites: Lyon"):
        store.report(sites=["Lyonn"])


def test_the_examples_of_docs_api_md_run(tmp_path: Path, demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    shutil.copytree(demo["exports"], tmp_path / "exports")
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("RSE_ADOPTION_")]:
        monkeypatch.delenv(name)
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, str(DOCS / "api.md"), "exec"), namespace)  # noqa: S102
    assert namespace["report"].to_dict()["sites"][0]["site"] == "Lyon"


def test_every_result_frame_is_typed_the_same_way(demo) -> None:  # type: ignore[no-untyped-def]
    """Days are datetime64, counts Int64, shares Float64 in every result (issue 29: dates
    were strings in `report` and datetimes in `history`, counts float64 in `history`,
    `top_1_percent_share` object); hidden rows stay, marked; dir() shows the fields."""
    store = rse.open_store(demo["data"])
    report = store.report()
    sites = report.to_pandas()
    assert str(sites["as_of"].dtype).startswith("datetime64")
    assert str(sites["forecast_high_expected"].dtype).startswith("datetime64")
    for count in ("headcount", "contributor", "new_contributors", "threads"):
        assert str(sites[count].dtype) == "Int64", count
    for share in ("contributor_share", "top_1_percent_share", "gini", "change_points"):
        assert str(sites[share].dtype) == "Float64", share
    assert str(sites["suppressed"].dtype) == "boolean" and sites["suppressed"].any()
    assert sites.loc[sites["suppressed"], "headcount"].isna().all()  # hidden, not dropped
    assert {"sites", "totals", "as_of", "to_pandas"} <= set(dir(report))
    history = store.history().to_pandas()  # no history in this store: typed all the same
    assert str(history["as_of"].dtype).startswith("datetime64")
    assert str(history["headcount"].dtype) == "Int64"
    assert str(history["contributor_share"].dtype) == "Float64"
    backtest = store.forecast_backtest()
    cases = backtest.to_pandas()
    assert str(cases["cut"].dtype).startswith("datetime64")
    assert str(cases["covered"].dtype) == "boolean" and str(cases["error_days"].dtype) == "Int64"
    assert "summary" in dir(backtest)
    effect = store.ambassadors().to_pandas()["effect_estimate_pp"]
    assert str(effect.dtype) == "Float64"
