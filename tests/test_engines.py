"""The same metrics on DuckDB and on Spark: every number of the report is the same.

Spark runs in local mode and needs PySpark (the `spark` extra) and a Java runtime; without
them these tests skip, unless RSE_ADOPTION_REQUIRE_SPARK is set (`make test` sets it and
installs both), where a missing piece fails instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rse_adoption.cli import app
from rse_adoption.config import Settings
from rse_adoption.metrics import (
    ambassadors,
    build_report,
    communities,
    personas,
    transitions,
)
from rse_adoption.report import json_report

from .conftest import write


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("sqlglot") is None:
        return "PySpark or sqlglot is not installed (pip install 'rse-adoption[spark]')"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "no Java runtime (JAVA_HOME or java on PATH)"
    return None


_MISSING = _spark_missing()
if _MISSING and os.environ.get("RSE_ADOPTION_REQUIRE_SPARK"):
    raise RuntimeError(f"RSE_ADOPTION_REQUIRE_SPARK is set but {_MISSING}")
needs_spark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

EVERYTHING = {
    "sections": [
        ambassadors.section,
        communities.section,
        transitions.section,
        personas.section,
    ]
}


def _numbers(text: str) -> dict[str, Any]:
    """A JSON report without the one field that differs between two runs."""
    report: dict[str, Any] = json.loads(text)
    report.pop("generated_at", None)
    return report


def _both_engines(settings: Settings, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every field of the report (the JSON holds the main report; communities,
    transitions, personas and the ambassadors' reach are fields of the same object)."""
    duck = build_report(replace(settings, engine="duckdb"), generated_at="-", **options)
    spark = build_report(replace(settings, engine="spark"), generated_at="-", **options)
    assert _numbers(json_report.render(spark)) == _numbers(json_report.render(duck))
    return asdict(duck), asdict(spark)


@needs_spark
def test_spark_gives_the_demo_report_of_duckdb_with_every_figure(demo: dict[str, Path]) -> None:
    duck, spark = _both_engines(Settings(data_dir=demo["data"]), **EVERYTHING)
    assert spark == duck
    # the comparison covers every section: none of them is empty on the demo
    assert duck["totals"]["segments"]["contributor"] > 0
    assert duck["totals"]["forecast"] and duck["ambassadors"]["sites"]
    assert duck["communities"] and duck["transitions"] and duck["personas"]
    assert any(s["reached_colleagues"] for s in duck["ambassadors"]["sites"])
    # the peers' figures (issue 20) are compared too, and present on the demo
    assert duck["totals"]["conversations"]["answered_share"] > 0.3
    assert duck["totals"]["concentration"]["gini"] > 0 and duck["totals"]["previous"]
    assert any(s["new_contributors"] for s in duck["sites"])
    assert any(v for row in duck["interactions"]["matrix"].values() for v in row.values())
    assert any(
        c["conversations"] and c["days_since_last_post"] is not None for c in duck["communities"]
    )
    assert duck["community_survival"]


@needs_spark
def test_spark_gives_the_same_figures_from_every_export_format(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    """Directory, Yammer profile locations, Viva Engage, Teams and Slack activity periods
    that match the window, a Slack export, a mapped CSV and a site alias, in one store."""
    platforms = demo["exports"] / "platforms"
    data = tmp_path / "data"
    runner = CliRunner()
    for args in (
        ["directory", demo["exports"] / "directory.csv"],
        ["ingest", platforms / "yammer", platforms / "teams", platforms / "slack/slack-export.zip"],
        ["ingest", platforms / "viva_engage" / "getYammerActivityUserDetail_D90.csv"],
        [
            "ingest",
            platforms / "slack" / "member-analytics_2026-08-03_2026-10-31.csv",
            "--period-end",
            "2026-10-31",
            "--period-days",
            "90",
        ],
        [
            "ingest",
            platforms / "talkspirit" / "activite.csv",
            "--mapping",
            platforms / "talkspirit" / "map.toml",
        ],
    ):
        result = runner.invoke(app, [*map(str, args), "--data-dir", str(data), "--quiet"])
        assert result.exit_code == 0, result.stderr
    settings = Settings(data_dir=data, site_aliases=(("Lyon", "Lyon Part-Dieu"),))
    duck, spark = _both_engines(settings, **EVERYTHING)
    assert spark == duck
    assert duck["activity_periods"] and "Lyon Part-Dieu" in {s["site"] for s in duck["sites"]}


@needs_spark
def test_spark_gives_the_same_figures_at_day_grain(demo: dict[str, Path], tmp_path: Path) -> None:
    """A store of one-day Viva Engage periods (the demo's 28 daily files, the last day's
    Teams and a D30 beside them): segments, weekly series, habit, forecast and transitions
    from period rows (metrics/grain.py), on both engines."""
    platforms = demo["exports"] / "platforms"
    data = tmp_path / "data"
    runner = CliRunner()
    for args in (
        ["directory", demo["exports"] / "directory.csv"],
        ["ingest", platforms / "viva_engage" / "daily"],
        ["ingest", platforms / "viva_engage" / "getYammerActivityUserDetail_D30.csv"],
    ):
        result = runner.invoke(app, [*map(str, args), "--data-dir", str(data), "--quiet"])
        assert result.exit_code == 0, result.stderr
    settings = Settings(data_dir=data, window_days=28)
    duck, spark = _both_engines(settings, as_of=date(2026, 10, 31), **EVERYTHING)
    assert spark == duck
    assert duck["activity_grain"] == "day"
    assert duck["totals"]["series"] and duck["totals"]["series"][-1]["contributors"] > 0
    assert duck["totals"]["segments"]["contributor"] > 0 and duck["transitions"]


@needs_spark
def test_report_engine_spark_prints_the_json_of_the_default_engine(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    """Without a directory (headcount from the Slack member list), through the CLI, with
    --site."""
    data = tmp_path / "data"
    runner = CliRunner()
    slack = demo["exports"] / "platforms" / "slack" / "slack-export.zip"
    assert runner.invoke(app, ["ingest", str(slack), "--data-dir", str(data), "-q"]).exit_code == 0
    outputs = {}
    for engine in ("duckdb", "spark"):
        result = runner.invoke(
            app,
            ["report", "--json", "--data-dir", str(data), "--engine", engine],
            env={"RSE_ADOPTION_CONFIG": ""},
        )
        assert result.exit_code == 0, result.stderr
        outputs[engine] = _numbers(result.stdout)
    assert outputs["spark"] == outputs["duckdb"]
    assert outputs["duckdb"]["headcount_source"] == "members"
    site = outputs["duckdb"]["sites"][0]["site"]
    rows = {}
    for engine in ("duckdb", "spark"):
        result = runner.invoke(
            app,
            ["ambassadors", "--json", "--data-dir", str(data), "--engine", engine, "--site", site],
        )
        assert result.exit_code == 0, result.stderr
        rows[engine] = json.loads(result.stdout)
    assert rows["spark"] == rows["duckdb"]
    assert {row["site"] for row in rows["duckdb"]} == {site}


@needs_spark
def test_spark_connect_gives_the_same_json(demo: dict[str, Path]) -> None:
    """SPARK_REMOTE chooses Spark Connect; `local` starts a Connect server in the command's
    own process (a real sc://host:port works the same way, as a thin gRPC client)."""
    command = [sys.executable, "-m", "rse_adoption.cli", "report", "--json"]
    command += ["--data-dir", str(demo["data"]), "--engine", "spark"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSE_ADOPTION_")}
    connect = subprocess.run(
        command, env={**env, "SPARK_REMOTE": "local"}, capture_output=True, text=True, check=False
    )
    assert connect.returncode == 0, connect.stderr[-2000:]
    duck = CliRunner().invoke(app, ["report", "--json", "--data-dir", str(demo["data"])])
    assert _numbers(connect.stdout) == _numbers(duck.stdout)


def test_engine_spark_without_pyspark_says_what_to_install(
    demo: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark fails
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    monkeypatch.delitem(sys.modules, "rse_adoption.metrics.spark", raising=False)
    import rse_adoption.metrics as metrics

    monkeypatch.delattr(metrics, "spark", raising=False)
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--engine", "spark"]
    )
    assert result.exit_code == 78
    assert "pip install 'rse-adoption[spark]'" in result.stderr


def test_an_unknown_engine_in_the_configuration_names_the_line(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    config = write(tmp_path / "rse-adoption.toml", '[engine]\nname = "presto"\n')
    result = CliRunner().invoke(
        app, ["report", "--data-dir", str(demo["data"]), "--config", str(config)]
    )
    assert result.exit_code == 78
    assert "engine must be one of duckdb, spark, got 'presto'" in result.stderr
    assert f"{config}:2" in result.stderr
    flag = CliRunner().invoke(app, ["report", "--data-dir", str(demo["data"]), "--engine", "x"])
    assert flag.exit_code == 2


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=needs_spark)])
def test_a_damaged_store_file_is_one_line_naming_it_and_exit_74(
    demo: dict[str, Path], tmp_path: Path, engine: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo["data"], data)
    damaged = sorted((data / "events").rglob("*.parquet"))[-1]
    damaged.write_bytes(damaged.read_bytes()[:1000])
    result = CliRunner().invoke(app, ["report", "--data-dir", str(data), "--engine", engine])
    assert result.exit_code == 74
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("rse-adoption: error: ") and damaged.name in message


@needs_spark
def test_an_unreachable_spark_connect_server_is_a_configuration_error_at_once(
    demo: dict[str, Path],
) -> None:
    """PySpark's client would retry for minutes: under cron, a hang."""
    result = CliRunner().invoke(
        app,
        ["report", "--data-dir", str(demo["data"]), "--engine", "spark"],
        env={"SPARK_REMOTE": "sc://127.0.0.1:1"},
    )
    assert result.exit_code == 78
    assert "cannot reach Spark Connect at 127.0.0.1:1" in result.stderr


@needs_spark
def test_the_store_recipe_of_the_docs_reads_every_event_once_with_its_month(
    demo: dict[str, Path],
) -> None:
    """docs/store.md: a data team's Spark job over the manifest's files."""
    from rse_adoption.metrics.spark import session

    root = demo["data"]
    manifest = json.loads((root / "manifest.json").read_text())
    spark = session()  # the engine's local session (shared by the tests of this process)
    events = spark.read.option("basePath", f"{root}/events").parquet(
        *[f"{root}/{f['path']}" for f in manifest["event_files"]]
    )
    per_month = {row["month"]: row["count"] for row in events.groupBy("month").count().collect()}
    expected: dict[str, int] = {}
    for f in manifest["event_files"]:
        expected[f["month"]] = expected.get(f["month"], 0) + f["rows"]
    assert per_month == expected
