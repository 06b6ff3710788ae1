"""The ambassador network, on a small organisation whose every figure is known, and the
ambassadors' effect — each site's first ambassador measured as an action of `effects`,
pooled over the sites — on generated organisations whose true effect is known."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from rse_adoption import open_store
from rse_adoption.api import Store
from rse_adoption.demo.scenario import (
    Scenario,
    generated_sites,
    make_scenario,
    staggered_starts,
    write_scenario,
)
from rse_adoption.metrics.did import Prediction, pool, t_quantile

from .conftest import write

# Lyon: 10 people, 2 ambassadors (amb1 contributes, amb2 only reads); Nantes: 5 people,
# no ambassador. Targets at one per 50 employees: 1 each.
DIRECTORY = (
    "email,site,ambassador,ambassador since\n"
    + "amb1@x.fr,Lyon,oui,01/01/2026\n"
    + "amb2@x.fr,Lyon,oui,01/02/2026\n"
    + "".join(f"l{i}@x.fr,Lyon,non,\n" for i in range(8))
    + "".join(f"n{i}@x.fr,Nantes,non,\n" for i in range(5))
)
EVENTS = """timestamp,user,event_type,target_user
2026-03-02T09:00:00Z,amb1@x.fr,post,
2026-03-02T10:00:00Z,amb2@x.fr,read,
2026-03-03T09:00:00Z,l0@x.fr,reaction,amb1@x.fr
2026-03-04T09:00:00Z,l0@x.fr,post,
2026-03-05T09:00:00Z,l1@x.fr,comment,amb1@x.fr
2026-03-05T11:00:00Z,l2@x.fr,post,
2026-03-06T09:00:00Z,l3@x.fr,reaction,l2@x.fr
2026-03-06T10:00:00Z,n0@x.fr,post,
2026-03-07T10:00:00Z,n1@x.fr,reaction,n0@x.fr
"""


def load(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", write(tmp_path / "d.csv", DIRECTORY)).exit_code == 0
    assert cli("ingest", write(tmp_path / "e.csv", EVENTS)).exit_code == 0


def test_ambassadors_json_lists_one_object_per_site(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    load(tmp_path, cli)
    sites = cli("ambassadors", "--format", "json", "--min-group-size", "2").json()
    lyon, nantes = sites
    assert {
        k: lyon[k] for k in ("site", "headcount", "ambassadors", "ambassadors_per_100", "target")
    } == {
        "site": "Lyon",
        "headcount": 10,
        "ambassadors": 2,
        "ambassadors_per_100": 20.0,
        "target": 1,
    }
    # amb2 only reads: 1 active ambassador of 2, a count below k = 2: hidden
    assert lyon["active_ambassadors"] is None
    # l0 reacted to amb1, l1 replied to amb1; l3 reacted to l2 (not an ambassador)
    assert lyon["reached_colleagues"] == 2
    # new contributors: amb1, l0, l1, l2; l0 and l1 met amb1's content before posting
    assert (lyon["new_contributors"], lyon["new_contributors_after_ambassador"]) == (4, 2)
    assert lyon["effect"]["estimate_pp"] is None and lyon["effect"]["caution"]
    assert (nantes["ambassadors"], nantes["meets_target"], nantes["active_ambassadors"]) == (
        0,
        False,
        None,
    )


def test_active_ambassadors_are_hidden_below_the_privacy_threshold(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    load(tmp_path, cli)
    lyon = cli("ambassadors", "--json")  # min group size 5: two ambassadors are too few
    assert lyon.json()[0]["active_ambassadors"] is None
    assert lyon.json()[0]["ambassadors"] == 2  # who is an ambassador is public; activity not


def test_every_output_has_the_ambassador_section(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    load(tmp_path, cli)
    report = cli("report", "--json", "--min-group-size", "2").json()
    section = report["ambassadors"]
    assert section["sites_without_ambassador"] == ["Nantes"]
    assert section["per_employees"] == 50 and section["total_ambassadors"] == 2
    table = cli("ambassadors", "--min-group-size", "2").stdout
    assert "none ⚠" in table and "Lyon" in table
    assert "Sites without an ambassador: Nantes." in cli("report", "--min-group-size", "2").stdout
    html = cli("ambassadors", "--format", "html", "--min-group-size", "2").stdout
    assert 'id="ambassadors"' in html and "Colleagues reached" in html
    csv_text = cli("ambassadors", "--format", "csv", "--min-group-size", "2").stdout
    assert csv_text.splitlines()[0].startswith("site,suppressed,headcount,ambassadors")


def test_the_target_is_configurable(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    load(tmp_path, cli)
    config = write(tmp_path / "rse-adoption.toml", "[ambassadors]\nper_employees = 4\n")
    sites = cli("ambassadors", "--json", "--config", config, "--min-group-size", "2").json()
    assert [s["target"] for s in sites] == [3, 2]  # ceil(10/4), ceil(5/4)


def test_ambassador_json_is_valid_against_the_report_schema(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    from rse_adoption.report.json_report import schema

    load(tmp_path, cli)
    report = cli("report", "--json", "--min-group-size", "2").json()
    jsonschema.validate(report, schema())
    json.dumps(report)


NAMED = (
    "email,nom,site,ambassadeur\n"
    "amb1@x.fr,Alice Martin,Lyon,oui\n"
    "amb2@x.fr,Bruno Petit,Lyon,oui\n"
    + "".join(f"l{i}@x.fr,Personne {i},Lyon,non\n" for i in range(8))
)


def test_names_are_stored_only_when_asked(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("directory", write(tmp_path / "d.csv", NAMED))
    cli("ingest", write(tmp_path / "e.csv", EVENTS))
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert b"Alice Martin" not in stored  # not kept by default
    refused = cli("ambassadors", "--names")
    assert refused.exit_code == 65 and "--keep-names" in refused.stderr
    assert cli("directory", tmp_path / "d.csv", "--keep-names").exit_code == 0
    sites = cli("ambassadors", "--names", "--json", "--min-group-size", "2").json()
    assert sites[0]["names"] == ["Alice Martin", "Bruno Petit"]
    assert "Alice Martin" in cli("ambassadors", "--names", "--min-group-size", "2").stdout
    # no other output ever shows a name
    for args in (("report", "--json"), ("ambassadors", "--json"), ("report", "--format", "html")):
        assert "Alice Martin" not in cli(*args, "--min-group-size", "2").stdout
    # forget removes the name with the person's directory row
    cli("forget", "amb1@x.fr")
    assert cli("ambassadors", "--names", "--json", "--min-group-size", "2").json()[0]["names"] == [
        "Bruno Petit"
    ]


def test_the_organisation_s_active_ambassadors_do_not_give_a_hidden_site_s_back(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """Lyon's 2 ambassadors are too few to say which contribute (threshold 3), Paris's 3
    are not: the total over both sites minus Paris's would give Lyon's hidden count."""
    paris = "".join(f"pamb{i}@x.fr,Paris,oui,01/01/2026\n" for i in range(3)) + "".join(
        f"p{i}@x.fr,Paris,non,\n" for i in range(5)
    )
    assert cli("directory", write(tmp_path / "d.csv", DIRECTORY + paris)).exit_code == 0
    events = EVENTS + "".join(f"2026-03-0{2 + i}T09:00:00Z,pamb{i}@x.fr,post,\n" for i in range(3))
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    report = cli("report", "--json", "--min-group-size", "3").json()["ambassadors"]
    by_site = {s["site"]: s for s in report["sites"]}
    assert by_site["Lyon"]["active_ambassadors"] is None  # 2 ambassadors: fewer than 3
    assert by_site["Paris"]["active_ambassadors"] == 3
    assert report["total_ambassadors"] == 5
    assert report["active_ambassadors_in_sites_shown"] is None  # 4 − 3 would give Lyon's 1


# --- the effect: the per-action estimator on the first ambassadors' arrivals ----------

LAUNCH = date(2026, 5, 1)


def _generated(folder: Path, seed: int, with_effect: bool = True) -> tuple[Scenario, Store]:
    """14 generated sites over 36 weeks (demo/scenario.py), ambassadors starting on
    staggered weeks in a random 60 % of them, who publish at once and double their
    colleagues' adoption hazard — or, `with_effect=False`, change nothing."""
    specs = generated_sites(seed, 14, headcount=(150, 2000))
    scenario = make_scenario(
        specs,
        launch=LAUNCH,
        weeks=36,
        seed=seed,
        ambassador_weeks=staggered_starts(seed, specs, 36),
        effect=with_effect,
    )
    directory, events = write_scenario(scenario, folder)
    store = open_store(folder / "data", create=True)
    store.load_directory(directory)
    store.ingest([events])
    return scenario, store


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, Store]:
    return _generated(tmp_path_factory.mktemp("ambassadors"), 501)


def test_a_site_s_effect_is_its_first_ambassador_s_action_in_effects(
    organisation: tuple[Scenario, Store],
) -> None:
    """Each site's `effect` is the contributor share's estimate of its first ambassador's
    arrival as `effects` measures it: the same figure, 80 % interval and comparison sites,
    over the same 8 weeks; the 95 % interval comes from the same variance."""
    _, store = organisation
    report = store.report().report
    assert report.ambassadors is not None
    arrivals = {a.site: a for a in report.interventions if a.kind == "ambassador"}
    measured = [
        s for s in report.ambassadors.sites if s.effect and s.effect.estimate_pp is not None
    ]
    assert len(measured) >= 3
    for site in measured:
        effect, action = site.effect, arrivals[site.site]
        assert effect is not None and action.contributor_share is not None
        share = action.contributor_share
        assert effect.estimate_pp == share.estimate
        assert effect.ci80_pp == pytest.approx((share.low, share.high), abs=0.011)
        assert (effect.treated_sites, effect.control_sites) == (1, len(action.comparison_sites))
        assert effect.weeks_before == effect.weeks_after == action.weeks_after == 8
        # same centre, wider by Student's t 0.975 / 0.90 for the comparison sites' df
        assert effect.ci95_pp is not None and effect.ci80_pp is not None
        ratio = t_quantile(effect.control_sites - 1, 0.95) / t_quantile(
            effect.control_sites - 1, 0.8
        )
        half80 = (effect.ci80_pp[1] - effect.ci80_pp[0]) / 2
        half95 = (effect.ci95_pp[1] - effect.ci95_pp[0]) / 2
        assert half95 == pytest.approx(ratio * half80, abs=0.02)
        assert (effect.ci95_pp[0] + effect.ci95_pp[1]) / 2 == pytest.approx(
            effect.estimate_pp, abs=0.011
        )


def test_a_site_whose_arrival_cannot_be_measured_says_why(
    organisation: tuple[Scenario, Store],
) -> None:
    _, store = organisation
    report = store.report().report
    assert report.ambassadors is not None
    arrivals = {a.site: a for a in report.interventions if a.kind == "ambassador"}
    unmeasured = [s for s in report.ambassadors.sites if s.effect and s.effect.estimate_pp is None]
    assert unmeasured  # some start too late for 8 whole weeks after their start
    for site in unmeasured:
        assert site.effect is not None
        assert site.effect.reason == arrivals[site.site].reason
        assert site.effect.ci80_pp is None and site.effect.ci95_pp is None


def test_the_pooled_figure_is_the_mean_of_the_sites_estimates(
    organisation: tuple[Scenario, Store],
) -> None:
    _, store = organisation
    section = store.report().report.ambassadors
    assert section is not None
    estimates = [
        s.effect.estimate_pp
        for s in section.sites
        if s.effect is not None and s.effect.estimate_pp is not None
    ]
    pooled = section.effect
    assert pooled.treated_sites == len(estimates) >= 3
    assert pooled.estimate_pp == pytest.approx(sum(estimates) / len(estimates), abs=0.01)
    assert pooled.ci80_pp is not None and pooled.ci95_pp is not None
    assert pooled.ci95_pp[0] < pooled.ci80_pp[0] < pooled.estimate_pp < pooled.ci80_pp[1]
    # the mean of several sites is known better than a typical one of them
    widths = [
        s.effect.ci80_pp[1] - s.effect.ci80_pp[0]
        for s in section.sites
        if s.effect and s.effect.ci80_pp
    ]
    assert pooled.ci80_pp[1] - pooled.ci80_pp[0] < sum(widths) / len(widths)


def test_pooling_three_sites_takes_their_spread_or_their_own_uncertainty() -> None:
    """Three sites estimated at +1, +2 and +3 points, each known to ±0.5 points (standard
    error): their spread (variance 1) beats their own variance (0.25), so the mean's
    variance is 1 / 3; the 80 % interval uses Student's t with 2 degrees of freedom."""
    sites = [Prediction(x / 100, 0.16e-4, 0.09e-4, 5) for x in (1, 2, 3)]
    pooled = pool(sites)
    assert pooled.estimate == pytest.approx(0.02) and pooled.df == 2
    se = (1 / 3) ** 0.5 / 100
    assert pooled.interval(0.8) == pytest.approx((0.02 - 1.886 * se, 0.02 + 1.886 * se))
    assert pooled.interval(0.95) == pytest.approx((0.02 - 4.303 * se, 0.02 + 4.303 * se))
    # identical estimates: their own uncertainty, not a zero spread, gives the width
    same = pool([Prediction(0.02, 0.16e-4, 0.09e-4, 5)] * 3)
    assert same.own + same.shared == pytest.approx(0.25e-4 / 3)


def test_fewer_than_three_measured_sites_give_no_pooled_figure(tmp_path: Path) -> None:
    """One site's arrival measured and the others too late or too early: its own figure
    is shown, the pooled one is not estimable, with the reason."""
    specs = generated_sites(77, 8, headcount=(300, 900))
    starts = {specs[0].name: 14, specs[1].name: 29, specs[2].name: 1}
    scenario = make_scenario(specs, launch=LAUNCH, weeks=32, seed=77, ambassador_weeks=starts)
    directory, events = write_scenario(scenario, tmp_path)
    store = open_store(tmp_path / "data", create=True)
    store.load_directory(directory)
    store.ingest([events])
    section = store.report().report.ambassadors
    assert section is not None
    by_site = {s.site: s.effect for s in section.sites}
    assert by_site[specs[0].name] is not None and by_site[specs[0].name].estimate_pp is not None
    assert by_site[specs[1].name] is not None and by_site[specs[1].name].estimate_pp is None
    assert by_site[specs[2].name] is not None and by_site[specs[2].name].estimate_pp is None
    pooled = section.effect
    assert pooled.estimate_pp is None and pooled.ci80_pp is None and pooled.ci95_pp is None
    assert pooled.treated_sites == 1
    assert pooled.reason == (
        "only 1 site's first ambassador has an estimable effect; a pooled figure needs at "
        "least 3: the spread between sites is its uncertainty"
    )


def test_a_site_with_a_logged_action_around_an_arrival_is_not_compared_with(
    organisation: tuple[Scenario, Store], tmp_path: Path
) -> None:
    """A campaign logged at one of a site's comparison sites in the weeks compared takes
    that site out of its comparisons (its change is not the change without an action)."""
    import shutil

    shutil.copytree(organisation[1].settings.data_dir, tmp_path / "data")
    store = open_store(tmp_path / "data")
    section = store.report().report.ambassadors
    assert section is not None
    site = next(s for s in section.sites if s.effect and s.effect.estimate_pp is not None)
    arrival = next(a for a in store.effects().interventions if a.site == site.site)
    busy = arrival.comparison_sites[0]
    actions = tmp_path / "actions.csv"
    actions.write_text(f"date,site,kind\n{arrival.date + timedelta(weeks=1)},{busy},campaign\n")
    store.load_interventions(actions)
    now = store.report().report.ambassadors
    assert now is not None
    effect = next(s.effect for s in now.sites if s.site == site.site)
    assert effect is not None and site.effect is not None
    assert effect.control_sites == site.effect.control_sites - 1
    assert effect.estimate_pp != site.effect.estimate_pp


@pytest.mark.parametrize("with_effect", [True, False], ids=["true effect", "placebo"])
def test_the_report_recovers_a_generated_effect_or_its_absence(
    tmp_path: Path, with_effect: bool
) -> None:
    """On four generated organisations of each kind, the pooled 95 % interval holds the
    truth — the mean over the measured sites of their expected change in contributor
    share with ambassadors minus without (the same organisation simulated without their
    effect, Scenario.share_effect) — in at least three, and is never of zero width.
    benchmarks/ambassador_coverage.py measures the coverage over 40 runs each."""
    held, truths = 0, []
    for seed in (501, 502, 503, 504):
        scenario, store = _generated(tmp_path / str(seed), seed, with_effect)
        section = store.report().report.ambassadors
        assert section is not None
        effect = section.effect
        assert effect.estimate_pp is not None and effect.ci95_pp is not None, effect.reason
        assert effect.ci95_pp[1] > effect.ci95_pp[0] and effect.treated_sites >= 3
        measured = [s for s in section.sites if s.effect and s.effect.estimate_pp is not None]
        truth = sum(scenario.share_effect(s.site, 8) for s in measured) / len(measured)
        truths.append(truth)
        held += effect.ci95_pp[0] <= truth <= effect.ci95_pp[1]
    assert held >= 3, (held, truths)
    if with_effect:
        assert min(truths) > 0.3  # the generated effect is real: points of share
    else:
        assert truths == [0.0] * 4
