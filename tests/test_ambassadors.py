"""The ambassador network, on a small organisation whose every figure is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rse_adoption.metrics.ambassadors import difference_in_differences

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


# --- the effect: difference in differences on series with a known answer ------------


def _synthetic(seed: int, lift: float = 0.03) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Three control and three treated sites drifting up alike; the treated gain `lift`
    after their first ambassador's start (weeks 10, 14, 18), plus weekly noise."""
    rng = np.random.default_rng(seed)
    base = 0.05 + 0.001 * np.arange(30)
    shares = {f"control{i}": list(base + rng.normal(0, 0.002, 30)) for i in range(3)}
    starts = {}
    for i, start in enumerate((10, 14, 18)):
        step = np.where(np.arange(30) > start, lift, 0.0)
        shares[f"treated{i}"] = list(base + step + rng.normal(0, 0.002, 30))
        starts[f"treated{i}"] = start
    return shares, starts


def test_difference_in_differences_recovers_a_known_effect() -> None:
    controls = [f"control{i}" for i in range(3)]
    shares, starts = _synthetic(5)
    pooled, per_site = difference_in_differences(shares, list(range(30)), starts, controls)
    assert pooled.estimate_pp is not None and abs(pooled.estimate_pp - 3.0) < 0.5
    assert (pooled.treated_sites, pooled.control_sites, pooled.weeks_before) == (3, 3, 8)
    assert all(abs((e.estimate_pp or 0) - 3.0) < 1.0 for e in per_site.values())
    # over many draws: unbiased, and the 95 % interval covers the truth about 95 % of the time
    estimates, covered = [], 0
    for seed in range(200):
        shares, starts = _synthetic(seed)
        effect, _ = difference_in_differences(shares, list(range(30)), starts, controls)
        assert effect.estimate_pp is not None and effect.ci95_pp is not None
        estimates.append(effect.estimate_pp)
        covered += effect.ci95_pp[0] <= 3.0 <= effect.ci95_pp[1]
    assert abs(float(np.mean(estimates)) - 3.0) < 0.05
    assert 0.88 <= covered / 200 <= 1.0


def test_no_lift_gives_an_interval_around_zero() -> None:
    shares, starts = _synthetic(11, lift=0.0)
    effect, _ = difference_in_differences(
        shares, list(range(30)), starts, [f"control{i}" for i in range(3)]
    )
    assert effect.ci95_pp is not None and effect.ci95_pp[0] <= 0.0 <= effect.ci95_pp[1]


def test_no_effect_is_estimated_without_controls_or_a_before_period() -> None:
    weeks = list(range(20))
    flat = [0.05] * 20
    none, _ = difference_in_differences({"a": flat}, weeks, {"a": 10}, [])
    assert none.estimate_pp is None and "no site without ambassadors" in (none.reason or "")
    early, per_site = difference_in_differences({"a": flat, "b": flat}, weeks, {"a": 2}, ["b"])
    assert early.estimate_pp is None
    assert "fewer than 4 weeks" in (per_site["a"].reason or "")


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


def test_one_treated_and_one_control_site_is_not_an_estimate() -> None:
    """The issue's report: 0.0 points with intervals [0.0, 0.0] from one treated and one
    control site. Two sites cannot give the spread an interval needs: not estimable."""
    weeks = list(range(30))
    flat = [0.05] * 30
    effect, per_site = difference_in_differences({"a": flat, "b": flat}, weeks, {"a": 12}, ["b"])
    assert effect.estimate_pp is None and effect.ci95_pp is None
    assert "at least 3" in (effect.reason or "") and effect.treated_sites == 1
    assert per_site["a"].estimate_pp == 0.0  # the site's own figure is still shown


def test_not_yet_treated_sites_are_compared_with() -> None:
    """Without any site lacking ambassadors, the sites whose ambassadors start later are
    the comparison for those that start earlier."""
    shares, starts = _synthetic(3)
    treated_only = {site: shares[site] for site in starts}
    early = {"treated0": 4, "treated1": 14, "treated2": 25}
    effect, per_site = difference_in_differences(treated_only, list(range(30)), early, [])
    assert per_site["treated0"].estimate_pp is not None  # compared with treated1, treated2
    assert per_site["treated0"].control_sites == 2
    assert per_site["treated2"].estimate_pp is None  # nobody left untreated after it
    assert effect.estimate_pp is None  # two sites: not enough for a pooled figure


@pytest.mark.parametrize("with_effect", [True, False], ids=["true effect", "placebo"])
def test_the_report_recovers_a_generated_effect_or_its_absence(
    tmp_path: Path, with_effect: bool
) -> None:
    """On generated organisations (demo/scenario.py: 14 sites, ambassadors starting on
    staggered weeks in a random 60 % of them, who publish at once and double their
    colleagues' adoption hazard — or, placebo, change nothing), the report's 95 %
    interval holds the true effect (the difference of the two worlds' expected weekly
    shares over the same sites and weeks) in most runs, and is never of zero width.
    benchmarks/ambassador_coverage.py measures the coverage over 40 runs each."""
    from rse_adoption import open_store
    from rse_adoption.demo.scenario import (
        generated_sites,
        make_scenario,
        staggered_starts,
        write_scenario,
    )

    held, truths = 0, []
    for seed in (501, 502, 503, 504):
        specs = generated_sites(seed, 14, headcount=(150, 2000))
        scenario = make_scenario(
            specs,
            weeks=36,
            seed=seed,
            ambassador_weeks=staggered_starts(seed, specs, 36),
            effect=with_effect,
        )
        directory, events = write_scenario(scenario, tmp_path / str(seed))
        store = open_store(tmp_path / str(seed) / "data", create=True)
        store.load_directory(directory)
        store.ingest([events])
        section = store.report().report.ambassadors
        assert section is not None
        effect = section.effect
        assert effect.estimate_pp is not None and effect.ci95_pp is not None, effect.reason
        assert effect.ci95_pp[1] > effect.ci95_pp[0] and effect.treated_sites >= 3
        truth = scenario.effect_target(
            {
                s.site: s.effect.weeks_after
                for s in section.sites
                if s.effect is not None and s.effect.estimate_pp is not None
            }
        )
        assert truth is not None
        truths.append(truth)
        held += effect.ci95_pp[0] <= truth <= effect.ci95_pp[1]
    assert held >= 3, (held, truths)
    if with_effect:
        assert min(truths) > 0.3  # the generated effect is real: about a point of share
    else:
        assert truths == [0.0] * 4
