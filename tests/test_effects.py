"""Actions and their effect (issue 32): `interventions FILE` loads the change team's actions
atomically, `effects` measures each (and each site's first ambassador) against sites with
no action around it, says "not estimable" with the reason, hides small counts, and the
benchmark's tiny version finds planted effects against the truth of the same organisation
simulated without them (docs/metrics.md, "Actions and their effect")."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from rse_adoption import open_store
from rse_adoption.cli import app
from rse_adoption.demo.scenario import (
    Campaigns,
    expected_action_outcomes,
    generated_sites,
    make_scenario,
    write_scenario,
)
from rse_adoption.errors import DataError
from rse_adoption.report.json_report import report_to_dict, schema

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = date(2026, 5, 1)
SITES = generated_sites(21, 8, headcount=(200, 900))
PLANTED = {SITES[0].name: 12, SITES[3].name: 15}


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "action_effects", ROOT / "benchmarks" / "action_effects.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["action_effects"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 8 generated sites over 30 weeks with strong campaigns at two of them."""
    folder = tmp_path_factory.mktemp("effects")
    scenario = make_scenario(
        SITES, launch=LAUNCH, weeks=30, seed=21, campaigns=Campaigns(PLANTED, lift=3, reach=0.6)
    )
    directory, events = write_scenario(scenario, folder)
    store = open_store(folder / "data", create=True)
    store.load_directory(directory)
    store.ingest([events])
    return folder


def _actions(folder: Path, text: str, name: str = "actions.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _day(week: int) -> str:
    return (LAUNCH + timedelta(weeks=week)).isoformat()


def test_actions_load_with_french_headers_every_site_and_replace_the_previous_list(
    organisation: Path,
) -> None:
    store = open_store(organisation / "data")
    path = _actions(
        organisation,
        f"date;site;type;libellé\n{_day(12)};site 01;Webinaire;Lancement\n"
        f"{_day(9)};*;campagne;Affiches\n{_day(10)};;formation;Tous\n",
    )
    summary = store.load_interventions(path)
    assert (summary.actions, summary.every_site_actions) == (3, 2)
    assert store.status().interventions is not None
    assert store.status().interventions["rows"] == 3  # `status` says what is loaded
    assert summary.kinds == ("campagne", "formation", "webinaire")
    listed = store.effects().report.interventions
    assert [(a.site, a.kind, a.label) for a in listed if a.source == "file"] == [
        ("*", "campagne", "Affiches"),
        ("*", "formation", "Tous"),
        ("Site 01", "webinaire", "Lancement"),  # the site's name as the store knows it
    ]
    # a valid load replaces the list; a refused one keeps it
    store.load_interventions(_actions(organisation, f"date,site,kind\n{_day(12)},*,webinar\n"))
    assert len([a for a in store.effects().report.interventions if a.source == "file"]) == 1


def test_an_unknown_site_is_refused_naming_the_closest_known_one(organisation: Path) -> None:
    store = open_store(organisation / "data")
    store.load_interventions(_actions(organisation, f"date,site,kind\n{_day(12)},*,webinar\n"))
    bad = _actions(organisation, f"date,site,kind,label\n{_day(12)},Site 1O,webinar,x\n", "bad.csv")
    result = CliRunner().invoke(
        app, ["interventions", str(bad), "--data-dir", str(organisation / "data")]
    )
    assert result.exit_code == 65
    assert "bad.csv:2: unknown site 'Site 1O'" in result.stderr
    assert "Site 01" in result.stderr.split("closest known sites:")[1]
    with pytest.raises(DataError, match="no date"):
        store.load_interventions(_actions(organisation, "date,site,kind\n,*,webinar\n", "b.csv"))
    assert [a.kind for a in store.effects().report.interventions] == ["webinar"]


def test_a_strong_campaign_is_found_and_its_interval_holds_the_truth(organisation: Path) -> None:
    store = open_store(organisation / "data")
    store.load_interventions(
        _actions(
            organisation,
            "date,site,kind,label\n"
            + "".join(f"{_day(w)},{s},campaign,push\n" for s, w in PLANTED.items()),
        )
    )
    scenario = make_scenario(
        SITES, launch=LAUNCH, weeks=30, seed=21, campaigns=Campaigns(PLANTED, lift=3, reach=0.6)
    )
    without = make_scenario(SITES, launch=LAUNCH, weeks=30, seed=21)
    found = store.effects().report.interventions
    assert len(found) == 2
    for action in found:
        assert action.new_contributors is not None and action.contributor_share is not None
        truth = (
            expected_action_outcomes(scenario.org, action.site, action.date, 8)[0]
            - expected_action_outcomes(without.org, action.site, action.date, 8)[0]
        )
        assert truth > 10
        assert action.new_contributors.low <= truth <= action.new_contributors.high
        assert action.verdict == "increase"
        assert action.level == 0.8 and action.weeks_after == 8
        assert len(action.comparison_sites) == 6  # the sites without a campaign
        assert action.site not in action.comparison_sites
        assert action.pre_trend is not None and action.pre_trend.passed is not None


def test_not_estimable_says_why(organisation: Path) -> None:
    store = open_store(organisation / "data")
    store.load_interventions(
        _actions(
            organisation,
            "date,site,kind,label\n"
            f"{_day(12)},*,newsletter,all\n"  # every site: nothing to compare with
            f"{_day(12)},Site 02,webinar,a\n{_day(14)},Site 02,training,b\n"  # overlap
            f"{_day(3)},Site 05,webinar,early\n"  # too little data before
            f"{_day(28)},Site 06,webinar,late\n",  # too little data after
        )
    )
    result = store.effects()
    reasons = {(a.site, a.kind): a.reason for a in result.report.interventions}
    assert all(a.verdict == "not estimable" for a in result.report.interventions)
    assert "every site" in reasons[("*", "newsletter")]
    assert (
        "another action at the same site in the 16 weeks before it or the 8 weeks after"
        in (reasons[("Site 02", "webinar")])
    )
    assert "another action" in reasons[("Site 02", "training")]
    assert "too little data before" in reasons[("Site 05", "webinar")]
    assert "too little data after" in reasons[("Site 06", "webinar")]
    # a shorter measure makes the late one estimable (its one week's counts are small:
    # shown here with no privacy threshold)
    shorter = store.effects(weeks_after=1, min_group_size=1).report.interventions
    late = [a for a in shorter if a.site == "Site 06"]
    assert late[0].verdict in ("increase", "decrease", "no clear effect")
    # comparisons exclude sites with actions of their own: three sites left is the floor
    only = store.effects(sites=["Site 02"]).report.interventions
    assert {a.site for a in only} == {"*", "Site 02"}


def test_too_few_comparison_sites_and_privacy(organisation: Path) -> None:
    store = open_store(organisation / "data")
    rows = "".join(f"{_day(12)},{s.name},webinar,w\n" for s in SITES[:6])
    store.load_interventions(_actions(organisation, "date,site,kind,label\n" + rows))
    first = store.effects().report.interventions[0]
    assert first.verdict == "not estimable"
    assert first.reason is not None and "too few comparison sites: 2 sites" in first.reason
    assert first.comparison_sites == (SITES[6].name, SITES[7].name)
    # a site below the privacy threshold gets no estimate
    store.load_interventions(_actions(organisation, f"date,site,kind\n{_day(12)},Site 01,x\n"))
    small = store.effects(min_group_size=10_000).report.interventions[0]
    assert small.verdict == "not estimable" and small.new_contributors is None
    assert "privacy threshold" in (small.reason or "")


def test_small_counts_in_the_evidence_are_hidden(organisation: Path) -> None:
    store = open_store(organisation / "data")
    store.load_interventions(_actions(organisation, f"date,site,kind\n{_day(12)},Site 01,x\n"))
    shown = store.effects(min_group_size=5).report.interventions[0].new_contributors
    assert shown is not None and shown.before is not None and shown.after is not None
    big = int(max(shown.before, shown.after)) + 1
    hidden = store.effects(min_group_size=big).report.interventions
    # a count hidden, the outcome is withheld whole: its estimate would give the count back
    assert hidden[0].new_contributors is None and hidden[0].verdict == "not estimable"


def test_cli_json_equals_the_library_and_the_report_carries_interventions(
    organisation: Path,
) -> None:
    data = str(organisation / "data")
    store = open_store(data)
    store.load_interventions(
        _actions(organisation, f"date,site,kind,label\n{_day(12)},Site 01,webinar,Lancement\n")
    )
    result = CliRunner().invoke(app, ["effects", "--data-dir", data, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == store.effects().to_dict()
    frame = store.effects().to_pandas()
    assert list(frame["verdict"]) == [json.loads(result.stdout)["interventions"][0]["verdict"]]
    document = report_to_dict(store.report().report)
    # interventions came with schema 1.8
    assert tuple(int(n) for n in document["schema_version"].split(".")) >= (1, 8)
    assert [a["label"] for a in document["interventions"]] == ["Lancement"]
    import jsonschema

    jsonschema.validate(document, schema())
    for fmt in ("table", "csv", "html"):
        shown = CliRunner().invoke(app, ["effects", "--data-dir", data, "--format", fmt])
        assert shown.exit_code == 0 and "Site 01" in shown.stdout
    french = CliRunner().invoke(app, ["effects", "--data-dir", data, "--lang", "fr"])
    assert "Actions et leur effet" in french.stdout


def test_the_benchmark_runs_at_toy_size() -> None:
    bench = _benchmark()
    result = bench.run(runs=2, sites=8, weeks=30, first_seed=3000)
    assert set(result["table"]) == {"no effect", "moderate effect", "strong effect"}
    for row in result["actions"]["no effect"]:
        assert row["truth_new"] == 0.0  # the world with null campaigns is the world without
    strong = [r for r in result["actions"]["strong effect"] if r["new"] is not None]
    assert strong and all(r["truth_new"] > 0 for r in strong)


def test_the_trend_charts_mark_each_action_with_a_short_label(organisation: Path) -> None:
    from rse_adoption.report.charts import action_markers
    from rse_adoption.report.html_report import render
    from rse_adoption.report.i18n import ENGLISH

    store = open_store(organisation / "data")
    store.load_interventions(
        _actions(
            organisation,
            f"date,site,kind,label\n{_day(26)},Site 01,webinar,Launch of the new intranet\n"
            f"{_day(27)},*,newsletter,News\n{_day(27)},Site 02,webinar,Elsewhere\n",
        )
    )
    report = store.report(window_days=56).report
    site = next(g for g in report.sites if g.site == "Site 01")
    assert [text for _, text in action_markers(site, report, ENGLISH)] == [
        "Launch of the…",
        "News",
    ]
    assert [text for _, text in action_markers(report.totals, report, ENGLISH)] == ["News"]
    page = render(report)
    assert 'id="effects"' in page and "Actions and their effect" in page
    assert "Launch of the new intranet" in page


def test_the_interventions_command_prints_its_summary_and_exits_66_on_a_missing_file(
    organisation: Path,
) -> None:
    data = str(organisation / "data")
    path = _actions(organisation, f"date,site,kind,label\n{_day(12)},Site 03,training,T\n")
    result = CliRunner().invoke(app, ["interventions", str(path), "--data-dir", data, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) | {"loaded_at": None} == {
        "file": "actions.csv",
        "actions": 1,
        "every_site_actions": 0,
        "kinds": ["training"],
        "loaded_at": None,
        "duplicates": 0,
    }
    missing = CliRunner().invoke(
        app, ["interventions", str(organisation / "nope.csv"), "--data-dir", data]
    )
    assert missing.exit_code == 66


def test_ambassadors_arrivals_are_actions_and_count_once_when_also_logged(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    shutil.copytree(demo["data"], tmp_path / "data")
    store = open_store(tmp_path / "data")
    arrivals = store.effects().interventions
    assert arrivals and {a.kind for a in arrivals} == {"ambassador"}
    assert {a.source for a in arrivals} == {"directory"}
    lyon = next(a for a in arrivals if a.site == "Lyon")
    logged = lyon.date + timedelta(days=2)
    store.load_interventions(
        _actions(tmp_path, f"date,site,kind,label\n{logged},Lyon,ambassador,Our first\n")
    )
    now = [a for a in store.effects().interventions if a.site == "Lyon"]
    assert [(a.date, a.label, a.source) for a in now] == [(logged, "Our first", "file")]


def _attack(effects: dict[str, Any], headcount: dict[str, int]) -> dict[tuple[str, str], int]:
    """An algebraic attacker on the published JSON: (site, date) -> a hidden count of new
    contributors recomputed from estimate = after − before − headcount × comparison change
    (a comparison change also taken from another action of the same date and comparisons),
    or from the integer bounds (both hidden, so both in 1..k−1, and their difference known)."""
    k = effects["min_group_size"]
    rows = effects["interventions"]
    changes = {
        (r["date"], tuple(r["comparison_sites"])): r["new_contributors"]["comparison_change"]
        for r in rows
        if r["new_contributors"] and r["new_contributors"]["comparison_change"] is not None
    }
    found: dict[tuple[str, str], int] = {}
    for r in rows:
        o = r["new_contributors"]
        if o is None or (o["before"] is not None and o["after"] is not None):
            continue
        change = changes.get((r["date"], tuple(r["comparison_sites"])))
        if o["estimate"] is None or change is None:
            continue
        difference = round(o["estimate"] + change / 100 * headcount[r["site"]])  # after − before
        if o["before"] is not None:
            found[(r["site"], r["date"])] = o["before"] + difference
        elif o["after"] is not None:
            found[(r["site"], r["date"])] = o["after"] - difference
        elif abs(difference) == k - 2:  # 1 and k − 1
            found[(r["site"], r["date"])] = 1 if difference > 0 else k - 1
    return found


def test_no_hidden_count_comes_back_from_the_published_estimates(organisation: Path) -> None:
    """Issue 32 review: a site's before (shown) plus its estimate and comparison change and
    the headcount the report publishes gave its hidden after back; so did an action of the
    same week elsewhere, whose comparison change is the same."""
    store = open_store(organisation / "data")
    rows = "".join(f"{_day(12)},{s.name},webinar,w\n" for s in SITES[:2])
    store.load_interventions(_actions(organisation, "date,site,kind,label\n" + rows))
    free = store.effects(min_group_size=1).to_dict()["interventions"]
    counts = sorted(
        v for r in free for v in (r["new_contributors"]["before"], r["new_contributors"]["after"])
    )
    k = int(counts[1]) + 1  # hides the smallest count or two, not all
    published = store.effects(min_group_size=k).to_dict()
    headcount = {g.site: g.headcount for g in store.report(min_group_size=k).report.sites}
    assert _attack(published, headcount) == {}
    assert any(
        r["verdict"] == "not estimable" and "privacy threshold" in (r["reason"] or "")
        for r in published["interventions"]
    )
    for r in published["interventions"]:
        for outcome in (r["new_contributors"], r["contributor_share_pp"]):
            assert outcome is None or None not in (outcome["before"], outcome["after"])


def test_a_site_is_named_through_the_site_aliases_as_reports_name_it(organisation: Path) -> None:
    """With `"Site 01" = "Site 01 Centre"` in [site_aliases], reports show Site 01 Centre:
    the actions' file may name either, and the action is stored and measured under it."""
    store = open_store(organisation / "data", site_aliases=(("Site 01", "Site 01 Centre"),))
    for name in ("Site 01 Centre", "site 01"):
        store.load_interventions(
            _actions(organisation, f"date,site,kind,label\n{_day(12)},{name},webinar,w\n")
        )
        (action,) = [a for a in store.effects().report.interventions if a.source == "file"]
        assert action.site == "Site 01 Centre"
        assert "privacy threshold" not in (action.reason or "")
        assert action.new_contributors is not None


def test_an_exact_duplicate_row_is_dropped_and_said(organisation: Path) -> None:
    data = str(organisation / "data")
    path = _actions(
        organisation,
        f"date,site,kind,label\n{_day(12)},Site 01,webinar,w\n{_day(12)},site 01,webinar,w\n",
    )
    result = CliRunner().invoke(app, ["interventions", str(path), "--data-dir", data])
    assert result.exit_code == 0, result.output
    assert "Actions loaded: 1 action, 0 at every site." in result.stderr
    assert "1 duplicate row ignored (same date, site, kind and label)." in result.stderr
    (action,) = [a for a in open_store(data).effects().report.interventions if a.source == "file"]
    assert action.verdict != "not estimable"  # not two actions overlapping each other


def test_type_and_action_columns_a_missing_site_column_and_a_header_only_file(
    organisation: Path,
) -> None:
    data = str(organisation / "data")
    store = open_store(data)
    store.load_interventions(
        _actions(organisation, f"date;site;type;action\n{_day(12)};Site 01;webinaire;Lancement\n")
    )
    (action,) = [a for a in store.effects().report.interventions if a.source == "file"]
    assert (action.kind, action.label) == ("webinaire", "Lancement")
    no_site = _actions(organisation, f"date,kind,label\n{_day(12)},webinar,w\n", "nosite.csv")
    result = CliRunner().invoke(app, ["interventions", str(no_site), "--data-dir", data])
    assert result.exit_code == 65
    assert "nosite.csv:1: interventions header lacks site" in result.stderr
    empty = _actions(organisation, "date,site,kind,label\n", "empty.csv")
    result = CliRunner().invoke(app, ["interventions", str(empty), "--data-dir", data])
    assert result.exit_code == 0, result.output
    assert "The file lists no action: the store's list of actions is now empty." in result.stderr
    assert [a for a in store.effects().report.interventions if a.source == "file"] == []


def test_the_checks_and_the_weeks_header_are_french(organisation: Path) -> None:
    """`placebo: passed` and "over 1 weeks" were English (f-strings the extractor skips)
    and a plural without its singular in `--lang fr`."""
    data = str(organisation / "data")
    open_store(data).load_interventions(
        _actions(organisation, f"date,site,kind,label\n{_day(12)},Site 01,webinar,w\n")
    )
    options = ["--data-dir", data, "--weeks-after", "1", "--min-group-size", "1"]
    page = CliRunner().invoke(app, ["effects", *options, "--lang", "fr", "--format", "html"])
    assert page.exit_code == 0, page.output
    assert "nouveaux contributeurs sur 1 semaine [" in page.stdout
    assert "placebo : " in page.stdout  # French sets a space before the colon
    for english in ("not made", "passed", "failed", "1 weeks", "1 semaines"):
        assert english not in page.stdout
    assert any(word in page.stdout for word in ("non fait", "réussi", "échoué"))


def test_action_labels_with_dollars_are_drawn_as_written(organisation: Path) -> None:
    """`Q&A $_^$ live` crashed `report --format html` (matplotlib's mathtext), and
    `50$ ou 100$` came out as math: the labels are drawn as plain text."""
    from rse_adoption.report.charts import trend_figure

    data = organisation / "data"
    open_store(data).load_interventions(
        _actions(
            organisation,
            f"date,site,kind,label\n{_day(26)},Site 01,webinar,Q&A $_^$ live\n"
            f"{_day(27)},*,campaign,50$ ou 100$\n",
        )
    )
    out = organisation / "dollars.html"
    args = ["report", "--data-dir", str(data), "--format", "html", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--window", "56"])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    report = open_store(data).report(window_days=56).report
    site = next(g for g in report.sites if g.site == "Site 01")
    figure = trend_figure(site, report)
    drawn = {t.get_text().strip(): t for t in figure.axes[0].texts}
    assert {"Q&A $_^$ live", "50$ ou 100$"} <= set(drawn)
    assert not any(drawn[label].get_parse_math() for label in ("Q&A $_^$ live", "50$ ou 100$"))
