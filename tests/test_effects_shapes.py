"""The benchmark of the actions' effect on other shapes of data
(benchmarks/action_effects_shapes.py) builds the shapes it says it builds, and its truth is
that of the organisation simulated again without the campaigns."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np

from rse_adoption.demo.scenario import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def _benchmark() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # it reads action_effects' summary
    spec = importlib.util.spec_from_file_location(
        "action_effects_shapes", ROOT / "benchmarks" / "action_effects_shapes.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["action_effects_shapes"] = module
    spec.loader.exec_module(module)
    return module


def test_each_shape_plants_its_campaigns_where_it_says() -> None:
    bench = _benchmark()
    shapes = bench.SHAPES
    for seed in range(7000, 7010):
        unequal = shapes["unequal"].sites(seed)
        planted = shapes["unequal"].planted(seed, unequal)
        assert all(s.headcount <= 300 for s in unequal if s.name in planted)
        crowded = shapes["crowded"].planted(seed, shapes["crowded"].sites(seed))
        assert set(crowded.values()) <= {24, 25}
        late = shapes["late"].planted(seed, shapes["late"].sites(seed))
        assert set(late.values()) <= {28, 29} and shapes["late"].weeks_after == 4
    assert min(s.headcount for s in unequal) < 100 < 2000 < max(s.headcount for s in unequal)


def test_a_saturated_site_has_adopted_before_its_campaigns_before_weeks() -> None:
    shape = _benchmark().SHAPES["saturated"]
    specs = shape.sites(7001)
    planted = shape.planted(7001, specs)
    org = make_scenario(specs, launch=shape.launch, weeks=shape.weeks, seed=7001).org
    for k, spec in enumerate(specs):
        if spec.name in planted:
            adopted = org.adopt_day[(org.site_index == k) & (org.adopt_day < 10**6)]
            assert (adopted < 7 * 6).mean() > 0.75 and planted[spec.name] - 8 >= 6


def test_the_seasonal_dips_halve_every_sites_activity_on_their_days_only() -> None:
    bench = _benchmark()
    shape = bench.SHAPES["seasonal"]
    org = make_scenario(shape.sites(7002), launch=shape.launch, weeks=shape.weeks, seed=7002).org
    dipped = bench.with_dips(org, shape.dips)
    ratio = dipped.activity_factor / org.activity_factor
    summer = (date(2026, 7, 27) - shape.launch).days, (date(2026, 8, 30) - shape.launch).days
    christmas = (date(2026, 12, 21) - shape.launch).days, (date(2027, 1, 3) - shape.launch).days
    in_dip = np.zeros(org.days, dtype=bool)
    for first, last in (summer, christmas):
        in_dip[first : last + 1] = True
    assert np.allclose(ratio[:, in_dip], 0.5) and np.allclose(ratio[:, ~in_dip], 1.0)
    assert in_dip.sum() == 35 + 14


def test_null_campaigns_have_a_true_effect_of_zero_and_strong_ones_a_positive_one(
    tmp_path: Path,
) -> None:
    bench = _benchmark()
    shape = bench.SHAPES["seasonal"]
    null = bench.one_run(shape, 7003, False, tmp_path, 0.0, 0.0)
    assert null and all(r["truth_new"] == 0.0 and r["truth_share"] == 0.0 for r in null)
    strong = bench.one_run(shape, 7003, True, tmp_path, 3.0, 0.6)
    assert [r["site"] for r in strong] == [r["site"] for r in null]
    assert all(r["truth_new"] > 0 for r in strong)
