"""Figures outside the disclosure plan's own sums that an outside review found giving
hidden counts back on the demo (docs/privacy.md, "The rule"): each now follows the counts
it is built on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rse_adoption.config import Settings
from rse_adoption.metrics import build_report, candidates, communities
from rse_adoption.report import charts
from rse_adoption.report.communities_report import to_dict as communities_to_dict


@pytest.fixture(scope="module")
def published(demo: dict[str, Path]) -> Any:
    """The demo's report with its candidates and communities, at the default k = 5."""
    return build_report(
        Settings(data_dir=demo["data"]),
        sections=[candidates.section, communities.section],
    )


def test_eligible_candidates_give_no_hidden_contributor_count_back(published: Any) -> None:
    """contributors = eligible + active ambassadors + those leaving: `eligible` is shown
    only when that gives nothing back (Nantes: 2 eligible, no ambassador, contributors
    shown "< 5"; Marseille: 35 − 32 eligible = its 3 active ambassadors, hidden)."""
    k = published.min_group_size
    sites = {g.site: g for g in published.sites}
    assert published.ambassador_candidates is not None
    shown = 0
    for c in published.ambassador_candidates.sites:
        if c.suppressed or c.eligible is None:
            continue
        shown += 1
        contributors = sites[c.site].segments.contributor
        assert contributors is not None, c.site
        assert c.active_ambassadors is not None or not c.ambassadors, c.site
        leaving = contributors - (c.active_ambassadors or 0) - c.eligible
        assert leaving == 0 or leaving >= k, c.site
        assert c.eligible == 0 or c.eligible >= k, c.site
    assert shown  # the large sites keep theirs
    nantes = next(c for c in published.ambassador_candidates.sites if c.site == "Nantes")
    assert nantes.eligible is None


def test_a_community_s_hidden_posts_hide_their_share_and_last_post(published: Any) -> None:
    """108 answered of 163 posts published as 0.6625766871165644 gave the hidden 163
    back; a last post dated one person's post."""
    data = communities_to_dict(published)
    every = list(data["communities"])
    for site in data["sites"]:
        every += site["communities"] or []
    hidden = [c for c in every if not c["suppressed"] and c["posts"] is None]
    assert hidden  # the demo has some
    for c in hidden:
        assert c["answered_share"] is None, c["community"]
        assert c["days_since_last_post"] is None, c["community"]
        assert c["status"] is None, c["community"]


def test_the_pyramid_draws_a_hidden_segment_as_a_dash_not_a_zero(published: Any) -> None:
    totals = published.totals.segments
    hidden = [s for s in ("visitor", "reader", "reactor") if getattr(totals, s) is None]
    assert hidden  # the demo's totals hide some segments for the sites' sake
    figure = charts.pyramid_figure(published)
    labels = [t.get_text() for t in figure.axes[0].texts]
    for segment in hidden:
        label = next(text for text in labels if text.lower().startswith(segment))
        assert label.endswith(": —"), label
