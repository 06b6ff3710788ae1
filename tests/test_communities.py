"""Communities per site and overall, on a small organisation with known figures."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from .conftest import write

DIRECTORY = "email,site\n" + "".join(f"u{i}@x.fr,Lyon\n" for i in range(8))
# Qualité: 6 active people, 2 posts (one answered by someone else, one answered only by
# its author), 3 replies. Sécurité: 2 active people (hidden below 5). Activity grows week
# after week in Qualité (rising).
EVENTS = """timestamp,user,event_type,space,content_id
2026-03-02T09:00:00Z,u0@x.fr,post,Qualité,p1
2026-03-03T09:00:00Z,u1@x.fr,comment,Qualité,p1
2026-03-09T09:00:00Z,u2@x.fr,post,Qualité,p2
2026-03-10T09:00:00Z,u2@x.fr,comment,Qualité,p2
2026-03-16T09:00:00Z,u3@x.fr,read,Qualité,p1
2026-03-16T10:00:00Z,u4@x.fr,reaction,Qualité,p1
2026-03-17T09:00:00Z,u5@x.fr,comment,Qualité,p2
2026-03-17T10:00:00Z,u0@x.fr,read,Qualité,p2
2026-03-17T11:00:00Z,u1@x.fr,read,Qualité,p2
2026-03-18T09:00:00Z,u6@x.fr,post,Sécurité,s1
2026-03-18T10:00:00Z,u7@x.fr,read,Sécurité,s1
"""


def test_communities_count_members_posts_and_answers(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("directory", write(tmp_path / "d.csv", DIRECTORY))
    cli("ingest", write(tmp_path / "e.csv", EVENTS))
    args = ("communities", "--as-of", "2026-03-22", "--window", "21", "--json")
    # the definitions, with every count shown
    result = cli(*args, "--min-group-size", "1").json()
    overall = {c["community"]: c for c in result["communities"]}
    quality = overall["Qualité"]
    assert {k: quality[k] for k in ("active_members", "contributors", "posts", "replies")} == {
        "active_members": 6,
        "contributors": 4,
        "posts": 2,
        "replies": 3,
    }
    assert quality["answered_share"] == 1.0  # p1 by u1, p2 by u5 (u2's own reply does not count)
    assert quality["weekly_active"] == [2, 1, 5] and quality["trend"] == "rising"
    (lyon,) = result["sites"]
    assert lyon["most_lively"] == ["Qualité", "Sécurité"] and lyon["least_lively"] == []
    # with k = 5 (docs/privacy.md): Sécurité's 2 active people hide it whole; in Qualité,
    # the 4 contributors, the posts of 2 people and the replies of 3, the share of 2
    # answered posts and the weeks of 2 and 1 active members are hidden
    result = cli(*args).json()
    overall = {c["community"]: c for c in result["communities"]}
    quality = overall["Qualité"]
    assert quality["active_members"] == 6 and quality["weekly_active"] == [None, None, 5]
    for figure in ("contributors", "posts", "replies", "answered_share"):
        assert quality[figure] is None, figure
    assert overall["Sécurité"]["suppressed"] and overall["Sécurité"]["active_members"] is None
    (lyon,) = result["sites"]
    assert lyon["most_lively"] == ["Qualité"] and lyon["least_lively"] == []


def test_communities_in_every_format(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("directory", write(tmp_path / "d.csv", DIRECTORY))
    cli("ingest", write(tmp_path / "e.csv", EVENTS))
    args = ("communities", "--as-of", "2026-03-22", "--window", "21")
    assert "Qualité" in cli(*args).stdout
    assert cli(*args, "--format", "csv").stdout.splitlines()[0].startswith("site,community")
    html = cli(*args, "--format", "html").stdout
    assert 'data-community="Qualité" data-active="6"' in html
    assert 'data-community="Sécurité" data-suppressed="true"' in html


def test_the_overall_figure_does_not_give_a_hidden_site_s_community_back(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """Qualité has 6 active people at Lyon (shown) and 2 at Nantes (hidden below 5): its
    overall figures, minus Lyon's, would give Nantes's hidden ones."""
    nantes = "".join(f"n{i}@x.fr,Nantes\n" for i in range(6))
    cli("directory", write(tmp_path / "d.csv", DIRECTORY + nantes))
    events = EVENTS + (
        "2026-03-18T09:00:00Z,n0@x.fr,post,Qualité,n1\n2026-03-18T10:00:00Z,n1@x.fr,read,Qualité,n1\n"
    )
    cli("ingest", write(tmp_path / "e.csv", events))
    result = cli("communities", "--as-of", "2026-03-22", "--window", "21", "--json").json()
    sites = {s["site"]: {c["community"]: c for c in s["communities"]} for s in result["sites"]}
    assert sites["Lyon"]["Qualité"]["active_members"] == 6
    assert sites["Nantes"]["Qualité"]["suppressed"]
    lyon = sites["Lyon"]["Qualité"]
    overall = {c["community"]: c for c in result["communities"]}["Qualité"]
    assert not overall["suppressed"]  # 8 active people over the sites shown
    # overall minus Lyon would give Nantes's 2 active members and its week of 2
    assert overall["active_members"] is None
    assert overall["weekly_active"][2] is None  # the week Nantes was active
    # no figure is shown both overall and at Lyon (Lyon's 4 contributors are hidden below
    # 5, so the overall 5 gives nothing back: Nantes's count stays 1 to 4)
    for figure in ("active_members", "contributors", "posts", "replies"):
        assert overall[figure] is None or lyon[figure] is None, figure
    table = cli("communities", "--as-of", "2026-03-22", "--window", "21").stdout
    assert "Qualité" in table and "—" in table
    # Nantes's post, 4 days before as_of, must not show through the overall last post
    # (Lyon's was 13 days before): the overall date is over the sites where it is shown
    assert overall["days_since_last_post"] == lyon["days_since_last_post"]
    assert overall["status"] == lyon["status"]
    # a trend built on hidden weekly counts is hidden with them
    assert overall["trend"] is None


def test_a_leaders_status_hidden_with_its_posts_reads_as_a_dash() -> None:
    """`status` is null when the community's posts are hidden: the table says "—", as for
    any hidden figure, not an empty cell a reader takes for a missing value."""
    from rich.console import Console

    from rse_adoption.model import CommunityLeader, CommunityLeaders
    from rse_adoption.report.candidates_report import leaders_table

    leaders = (CommunityLeaders("Qualité", 12, None, CommunityLeader(7, 3), ()),)
    report = SimpleNamespace(community_leaders=leaders, min_group_size=5)
    console = Console(width=100, record=True)
    console.print(leaders_table(report, names=False))  # type: ignore[arg-type]
    row = next(line for line in console.export_text().splitlines() if "Qualité" in line)
    assert row.split("│")[2].strip() == "—"


def test_a_shown_community_s_size_rule_gives_nothing_back(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Lyon's Qualité has 5 active people, Nantes's 1 (hidden). Had the overall 6 been shown
    with Lyon's 5 hidden instead, "shown, so at least 5 at Lyon" would leave exactly 1 at
    Nantes: the overall goes first (an outside review found this of a trial preference)."""
    directory = "email,site\n" + "".join(f"l{i}@x.fr,Lyon\nn{i}@x.fr,Nantes\n" for i in range(5))
    events = "timestamp,user,event_type,space,content_id\n" + "".join(
        f"2026-03-10T0{i}:00:00Z,l{i}@x.fr,post,Qualité,l{i}\n" for i in range(5)
    )
    events += "2026-03-11T09:00:00Z,n0@x.fr,post,Qualité,n0\n"
    cli("directory", write(tmp_path / "d.csv", directory))
    cli("ingest", write(tmp_path / "e.csv", events))
    args = ("communities", "--as-of", "2026-03-14", "--window", "7", "--json")
    result = cli(*args).json()
    overall = {c["community"]: c for c in result["communities"]}["Qualité"]
    sites = {s["site"]: {c["community"]: c for c in s["communities"]} for s in result["sites"]}
    assert sites["Nantes"]["Qualité"]["suppressed"]
    assert sites["Lyon"]["Qualité"]["active_members"] == 5
    assert overall["active_members"] is None
