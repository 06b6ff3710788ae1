"""rse-adoption.toml: discovery, precedence (defaults < file < environment < flags), sources
shown by `config show`, errors naming file, line and key (exit 78), and site aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from rse_adoption.config import effective_settings
from rse_adoption.errors import ConfigError

from .conftest import write

CONFIG = """# nightly job
data_dir = "store"
timezone = "Europe/Paris"

[report]
window_days = 30
min_group_size = 10

[tipping_point]
low = 0.08
high = 0.12

[site_aliases]
"Paris - La Défense" = "Paris La Défense"
"""


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = write(tmp_path / "etc" / "rse-adoption.toml", CONFIG)
    settings, sources = effective_settings(
        config=config,
        environ={"RSE_ADOPTION_WINDOW_DAYS": "60"},
        flags={"min_group_size": 3, "data_dir": None},
    )
    assert settings.timezone == "Europe/Paris" and sources["timezone"] == f"{config}:3"
    assert settings.data_dir == tmp_path / "etc" / "store"  # relative to the file
    assert settings.window_days == 60 and sources["window_days"] == "env RSE_ADOPTION_WINDOW_DAYS"
    assert settings.min_group_size == 3 and sources["min_group_size"] == "flag"
    assert (settings.tipping_low, settings.tipping_high) == (0.08, 0.12)
    assert sources["tipping_high"] == f"{config}:11"
    assert settings.site_aliases == (("Paris - La Défense", "Paris La Défense"),)
    assert sources["site_aliases"] == f"{config}:13"


def test_found_in_the_current_folder_or_named_by_the_environment(tmp_path: Path) -> None:
    write(tmp_path / "rse-adoption.toml", 'timezone = "Europe/Paris"\n')
    elsewhere = write(tmp_path / "other.toml", 'timezone = "America/Montreal"\n')
    assert effective_settings(environ={}, cwd=tmp_path)[0].timezone == "Europe/Paris"
    named = effective_settings(environ={"RSE_ADOPTION_CONFIG": str(elsewhere)}, cwd=tmp_path)
    assert named[0].timezone == "America/Montreal"
    assert effective_settings(environ={}, cwd=tmp_path / "..")[1]["timezone"] == "default"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[report]\nwindow_days = 30\nwindow = 7\n",
            r"x\.toml:3: unknown setting 'report\.window'",
        ),
        (
            '\n[report]\nwindow_days = "30"\n',
            r"x\.toml:3: report\.window_days must be an integer, got '30'",
        ),
        ("timezone = Europe/Paris\n", r"x\.toml: invalid TOML: .*line 1"),
        ("[tipping_point]\nlow = 0.2\nhigh = 0.1\n", r"low <= high.*x\.toml:2.*x\.toml:3"),
        (
            'timezone = "Mars/Olympus"\n',
            r"unknown time zone 'Mars/Olympus' \(timezone from .*x\.toml:1\)",
        ),
        ("[site_aliases]\nLyon = 3\n", r"x\.toml:2: \[site_aliases\] maps names to names"),
    ],
)
def test_an_invalid_file_names_the_line_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        effective_settings(config=write(tmp_path / "x.toml", text), environ={})
    assert error.value.exit_code == 78


def test_cli_exit_78_and_config_show(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    bad = write(tmp_path / "bad.toml", "[report]\nwindows = 3\n")
    result = cli("report", "--config", bad)
    assert result.exit_code == 78
    assert result.stderr.strip() == (
        f"rse-adoption: error: {bad}:2: unknown setting 'report.windows' (known: data_dir, "
        "timezone, report.window_days, report.min_group_size, report.language, "
        "tipping_point.low, "
        "tipping_point.high, retention.keep_days, ambassadors.per_employees, communities.quiet_days, forecast.lookback_weeks, forecast.launch_date, ingest.mapping, "
        "engine.name, engine.spark_master, m365.tenant_id, m365.client_id, "
        "m365.client_certificate, m365.client_certificate_thumbprint, m365.graph_url, "
        "m365.authority_url, slack.api_url, slack.lookback_days, slack.analytics_days, "
        "viva_engage.tenant_id, "
        "viva_engage.client_id, viva_engage.api_url, viva_engage.token_cache, site_aliases)"
    )
    assert cli("config", "show", "--config", tmp_path / "missing.toml").exit_code == 78
    good = write(tmp_path / "good.toml", CONFIG)
    shown = cli("config", "show", "--config", good, "--json").json()["settings"]
    by_name = {row["setting"]: row for row in shown}
    assert by_name["window_days"] == {
        "setting": "window_days",
        "key": "report.window_days",  # as the file writes it
        "value": 30,
        "source": f"{good}:6",
    }
    assert by_name["tipping_low"]["key"] == "tipping_point.low"
    table = cli("config", "show", "--config", good).stdout
    assert "report.window_days" in table and "tipping_low" not in table
    assert by_name["data_dir"]["source"] == "env RSE_ADOPTION_DATA_DIR"  # set by the fixture
    assert by_name["site_aliases"]["value"] == {"Paris - La Défense": "Paris La Défense"}


def test_site_aliases_count_one_site_written_two_ways(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    people = [
        (f"p{i}@x.fr", "Paris - La Défense" if i % 2 else "Paris  La Défense") for i in range(8)
    ]
    directory = "email,site\n" + "".join(f"{p},{s}\n" for p, s in people)
    assert cli("directory", write(tmp_path / "d.csv", directory)).exit_code == 0
    events = "timestamp,user,event_type\n2026-03-02T09:00:00Z,p1@x.fr,post\n"
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    plain = cli("report", "--format", "json").json()
    assert sorted(s["site"] for s in plain["sites"]) == ["Paris - La Défense", "Paris La Défense"]
    assert all(s["suppressed"] for s in plain["sites"])  # four people each: hidden
    config = write(
        tmp_path / "rse.toml", CONFIG.replace("min_group_size = 10", "min_group_size = 5")
    )
    merged = cli("report", "--format", "json", "--config", config, "--window", "90").json()
    assert [(s["site"], s["headcount"]) for s in merged["sites"]] == [("Paris La Défense", 8)]


def test_two_alias_spellings_of_one_name_count_each_person_once(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Aliases are compared after collapsing blanks: "Lyon  Est" and "Lyon Est" are one
    alias, and the people of that site must not be counted twice."""
    directory = "email,site\n" + "".join(f"p{i}@x.fr,Lyon Est\n" for i in range(6))
    assert cli("directory", write(tmp_path / "d.csv", directory)).exit_code == 0
    events = "timestamp,user,event_type\n2026-03-02T09:00:00Z,p1@x.fr,post\n"
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    config = write(
        tmp_path / "rse.toml", '[site_aliases]\n"Lyon  Est" = "Lyon"\n"Lyon Est" = "Lyon"\n'
    )
    report = cli("report", "--format", "json", "--config", config).json()
    assert [(s["site"], s["headcount"]) for s in report["sites"]] == [("Lyon", 6)]


def test_slack_settings_and_the_token_never_read_from_a_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        '[slack]\napi_url = "https://slack-gov.com/api/"\nlookback_days = 7\n',
    )
    settings, sources = effective_settings(config=path, environ={})
    assert (settings.slack_api_url, settings.slack_lookback_days) == (
        "https://slack-gov.com/api/",
        7,
    )
    from_env, _ = effective_settings(
        config=path, environ={"RSE_ADOPTION_SLACK_LOOKBACK_DAYS": "45"}
    )
    assert from_env.slack_lookback_days == 45
    secret = write(tmp_path / "s.toml", '[slack]\ntoken = "xoxb-never-shown"\n')
    with pytest.raises(ConfigError) as refused:
        effective_settings(config=secret, environ={})
    assert "RSE_ADOPTION_SLACK_TOKEN" in str(refused.value)
    assert "xoxb-never-shown" not in str(refused.value)
    clear = write(tmp_path / "h.toml", '[slack]\napi_url = "http://slack.example/api/"\n')
    with pytest.raises(ConfigError, match="https://"):
        effective_settings(config=clear, environ={})
