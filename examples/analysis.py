"""Adoption site by site in a notebook: the demo organisation through rse-adoption's Python
API, pandas and matplotlib.

Run it whole (`python examples/analysis.py [FOLDER]`: the example organisation, its store,
two charts and a CSV go to FOLDER, a new temporary folder by default), or cell by cell
(`# %%` cells, as VS Code and Jupyter open them). With your own store, replace cell 1 by
`store = rse.open_store("rse-data")`. Every figure is defined in docs/metrics.md.
"""

# %% 1. An example organisation, loaded into a scratch store
import math
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, not windows: the script also runs under cron and in tests
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import rse_adoption as rse  # noqa: E402
from rse_adoption.demo import write_demo  # noqa: E402

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rse-analysis-"))
exports = out / "exports"
write_demo(exports)
store = rse.open_store(out / "rse-data", create=True)
store.load_directory(exports / "directory.csv")
ingested = store.ingest([exports / "events"])
print(f"{ingested.rows_ingested:,} events ingested into {store.settings.data_dir}")

# %% 2. Where each site stands: one row per site, the CSV report's columns
report = store.report()
sites = report.to_pandas()
print(f"\nWindow {report.window_start} → {report.as_of} ({report.window_days} days)")
print(
    sites[["site", "headcount", "contributor", "contributor_share", "status"]].to_string(
        index=False
    )
)

# %% 3. How far each site is from tipping, in people to convert
# a count of 1 to 4 people is hidden (null, docs/privacy.md): those sites are left out here
shown = sites[~sites["suppressed"] & sites["contributor"].notna()].copy()
shown["contributors_needed"] = [
    max(0, math.ceil(report.tipping_high * headcount) - contributors)
    for headcount, contributors in zip(shown["headcount"], shown["contributor"], strict=True)
]
closest = shown[shown["status"] != "tipped"].sort_values("contributors_needed")
print("\nPeople to convert before each site tips:")
print(closest[["site", "contributor", "contributors_needed"]].to_string(index=False))

# %% 4. Contributors since the window began, per site, against the tipping band
# The report's contributor share counts everyone who posted or commented in the window, so
# its weekly curve is `contributors_to_date` (not one week's contributors) over headcount:
# it ends on the share the report shows (docs/metrics.md, "Weekly trend").
weekly = pd.DataFrame(
    [
        (g.site, point.week_start, point.contributors_to_date / g.headcount)
        for g in report.sites
        if not g.suppressed and g.headcount and g.series
        for point in g.series
        if point.contributors_to_date is not None  # hidden below 5 people
    ],
    columns=["site", "week", "contributor_share"],
).pivot(index="week", columns="site", values="contributor_share")
fig, ax = plt.subplots(figsize=(9, 4.5))
weekly.plot(ax=ax, linewidth=1.5)
ax.axhspan(report.tipping_low, report.tipping_high, color="tab:green", alpha=0.12)
ax.set_ylabel("contributors since the window began / headcount")
ax.set_title("Contributor share by site through the window (band: the tipping point)")
ax.legend(fontsize=7, ncols=2)
fig.tight_layout()
fig.savefig(out / "contributor-share-through-the-window.png", dpi=120)

# %% 5. Since the previous window: which sites moved
# The report's own `change_points` (this window's share against the previous window's):
# it is hidden where the privacy rule hides it, which differencing two reports by hand
# would get around (docs/privacy.md).
moved = shown[["site", "previous_contributor_share", "contributor_share", "change_points"]]
moved = moved.dropna(subset=["change_points"])
print("\nChange of the contributor share since the previous window (points):")
print(moved.round(3).to_string(index=False))

# %% 6. Ambassadors: coverage against the target, and their sites' contributor share
ambassadors = store.ambassadors().to_pandas()
coverage = ambassadors[~ambassadors["suppressed"]].merge(
    shown[["site", "contributor_share"]], on="site"
)
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(coverage["ambassadors_per_100"], coverage["contributor_share"] * 100)
for _, row in coverage.iterrows():
    ax.annotate(
        row["site"], (row["ambassadors_per_100"], row["contributor_share"] * 100), fontsize=7
    )
ax.set_xlabel("ambassadors per 100 employees")
ax.set_ylabel("contributor share, %")
ax.set_title("Ambassador coverage and participation (an association, not proof)")
fig.tight_layout()
fig.savefig(out / "ambassadors-and-participation.png", dpi=120)

moved.to_csv(out / "change-since-previous-window.csv", index=False)
print(f"\nCharts and change-since-previous-window.csv written to {out}")
