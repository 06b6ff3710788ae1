"""The HTML page and the PNG charts: same numbers as the JSON report, self-contained,
escaped, privacy kept, readable with 40 long site names, and really rendered by a browser."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread
from matplotlib.transforms import Bbox

from rse_adoption.model import GroupFigures, Report, Segments, WeekPoint
from rse_adoption.report import charts
from rse_adoption.report.html_report import render

from .browser import A4_WIDTH, chromium, overflow, screenshot
from .conftest import write


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def report_files(cli, demo: dict[str, Path], out: Path, *args: str) -> tuple[dict, Path]:  # type: ignore[no-untyped-def]
    data = demo["data"]
    as_json = cli("report", "--data-dir", data, "--format", "json", *args)
    assert as_json.exit_code == 0, as_json.stderr
    page = cli("report", "--data-dir", data, "--format", "html", "--out", out, *args)
    assert page.exit_code == 0, page.stderr
    assert page.stdout.strip() == str(out.resolve())  # the path alone, for scripts
    return as_json.json(), out


def assert_not_blank(png: Path, min_colours: int = 8) -> np.ndarray:
    pixels = imread(png)[..., :3]
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours, f"{png.name} has {len(colours)} colours"
    assert (pixels < 0.9).any(axis=-1).mean() > 0.02, f"{png.name} is nearly all white"
    return pixels


def test_overview_numbers_equal_the_json_report(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    expected, page = report_files(cli, demo, tmp_path / "report.html")
    soup = soup_of(page)
    for section in ("summary", "overview", "segments", "trends", "definitions"):
        assert soup.find(id=section), section
    rows = {tr["data-site"]: tr for tr in soup.select("#overview tr.site")}
    assert set(rows) == {s["site"] for s in expected["sites"]}
    for site in expected["sites"]:
        row = rows[site["site"]]
        if site["suppressed"]:
            assert "fewer than 5 people" in row.get_text()
            assert not any(ch.isdigit() for ch in row.get_text().replace("5 people", ""))
            continue
        assert int(row["data-headcount"]) == site["headcount"]
        if site["segments"]["contributor"] is None:  # hidden: "< 5" and the share's bound
            assert row["data-contributors"] == "" and row["data-share"] == ""
            assert "< 5" in row.get_text()
        else:
            assert int(row["data-contributors"]) == site["segments"]["contributor"]
            assert float(row["data-share"]) == pytest.approx(site["contributor_share"])
        assert int(row["data-ambassadors"]) == site["ambassadors"]
        assert row["data-status"] == site["status"]
        assert site["status"] in row.get_text()  # the word, not only a colour
    shares = [float(r["data-share"]) for r in rows.values() if r.get("data-share")]
    assert shares == sorted(shares, reverse=True)  # sorted by progress
    totals = soup.select_one("#overview tr.totals")
    assert int(totals["data-headcount"]) == expected["totals"]["headcount"]
    if expected["totals"]["segments"]["contributor"] is not None:
        assert int(totals["data-contributors"]) == expected["totals"]["segments"]["contributor"]
    shown = [s for s in expected["sites"] if not s["suppressed"]]
    assert len(soup.select("#trends .grid figure")) == len(shown)
    no_ambassador = [s["site"] for s in shown if s["ambassadors"] == 0]
    assert (
        soup.select_one("#summary .finding.ambassadors .big").get_text(strip=True)
        == f"{len(no_ambassador)}"
    )


def test_the_page_is_self_contained(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    _, page = report_files(cli, demo, tmp_path / "report.html")
    soup = soup_of(page)
    assert soup.find_all("script") == [] and soup.find_all("link") == []
    images = soup.find_all("img")
    assert images and all(img["src"].startswith("data:image/png;base64,") for img in images)
    assert all(img.get("alt") for img in images)
    assert "http://" not in page.read_text() and "https://" not in page.read_text()


def test_site_page_states_its_definitions_in_words(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    expected, page = report_files(cli, demo, tmp_path / "lyon.html", "--site", "lyon")
    lyon = expected["sites"][0]
    soup = soup_of(page)
    assert "Lyon" in soup.title.get_text()
    section = soup.select_one("section.site-page")
    assert section["data-site"] == "Lyon"
    words = section.p.get_text()
    headcount = f"{lyon['headcount']:,}".replace(",", "\u202f")
    assert "people of Lyon employed on" in words and headcount in words
    assert "90 days" in words and "Headcount source: the employee directory" in words
    people = {
        tr["data-segment"]: int(tr["data-people"]) for tr in section.select("tr[data-segment]")
    }
    assert people == lyon["segments"]


def test_a_folder_as_out_gets_report_html(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "www"
    folder.mkdir()
    result = cli("report", "--data-dir", demo["data"], "--format", "html", "--out", folder)
    assert result.exit_code == 0 and (folder / "report.html").exists()


def test_site_names_are_escaped_and_small_sites_reveal_nothing(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    evil = "<script>alert(1)</script>"
    people = [(f"p{i}@x.fr", evil if i < 6 else "Tiny & <b>Co</b>") for i in range(9)]
    directory = "email,site\n" + "".join(f'{p},"{s}"\n' for p, s in people)
    events = "timestamp,user,event_type\n" + "".join(
        f"2026-03-0{1 + i % 5}T09:00:00Z,{p},{'post' if i % 2 else 'read'}\n"
        for i, (p, _) in enumerate(people)
    )
    assert cli("directory", write(tmp_path / "d.csv", directory)).exit_code == 0
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    out = tmp_path / "r.html"
    assert cli("report", "--format", "html", "--out", out).exit_code == 0
    soup = soup_of(out)
    assert soup.find_all("script") == [] and soup.find_all("b") == []
    text = out.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    tiny = soup.select_one('#overview tr.site[data-site="Tiny & <b>Co</b>"]')
    assert tiny is not None and "fewer than 5 people" in tiny.get_text()
    assert tiny.get("data-headcount") is None


def test_png_charts_are_written_and_not_blank(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    expected = cli("report", "--data-dir", demo["data"], "--format", "json").json()
    out = tmp_path / "charts"
    result = cli("report", "--data-dir", demo["data"], "--format", "png", "--out", out)
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.glob("*.png"))
    shown = [s for s in expected["sites"] if not s["suppressed"]]
    assert {"progress.png", "segments.png", "pyramid.png", "trend-all-sites.png"} <= set(names)
    assert "trend-saint-etienne.png" in names
    assert len(names) == 4 + len(shown)
    assert sorted(Path(line).name for line in result.stdout.split()) == names
    for name in names:
        pixels = assert_not_blank(out / name)
        height, width = pixels.shape[:2]
        assert 500 <= width <= 1200 and 300 <= height <= 3000, (name, width, height)


def test_png_needs_an_out_folder(cli, demo) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "--data-dir", demo["data"], "--format", "png")
    assert result.exit_code == 2 and "--out" in result.stderr


def forty_sites() -> Report:
    """40 sites with long French names, accents and a spread of shares."""
    weeks = [date(2026, 8, 3) + timedelta(weeks=w) for w in range(13)]
    sites = []
    for i in range(40):
        headcount = 40 + 37 * i
        contributors = (i * 7) % max(headcount // 5, 1)
        segs = Segments(
            inactive=headcount // 3,
            visitor=headcount // 10,
            reader=headcount - headcount // 3 - headcount // 10 - contributors - 3,
            reactor=3,
            contributor=contributors,
        )
        share = contributors / headcount
        sites.append(
            GroupFigures(
                site=f"Établissement régional de Saint-Rémy-lès-Chevreuse n°{i:02d}",
                suppressed=False,
                headcount=headcount,
                active_users=headcount - segs.inactive,
                segments=segs,
                contributor_share=share,
                status="tipped" if share >= 0.15 else "tipping" if share >= 0.10 else "below",
                progress=share / 0.15,
                ambassadors=i % 3,
                series=tuple(
                    WeekPoint(w, contributors // 2, headcount // 2, contributors) for w in weeks
                ),
            )
        )
    total = replace(sites[0], site=None, headcount=sum(s.headcount or 0 for s in sites))
    return Report(
        as_of=date(2026, 10, 31),
        window_days=90,
        window_start=date(2026, 8, 3),
        tipping_low=0.10,
        tipping_high=0.15,
        min_group_size=5,
        headcount_source="directory",
        unlisted_active_users=0,
        sites=tuple(sites),
        totals=total,
        data_first_day=date(2025, 11, 1),
        data_last_day=date(2026, 10, 31),
        generated_at="2026-11-29T00:00:00Z",
    )


@pytest.mark.parametrize("figure", [charts.progress_figure, charts.segments_figure])
def test_forty_long_site_names_do_not_overlap(figure) -> None:  # type: ignore[no-untyped-def]
    fig = figure(forty_sites())
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) == 40
    for upper, lower in zip(labels, labels[1:], strict=False):
        assert not upper.overlaps(lower), "site labels overlap"
    figure_box = Bbox([[0, 0], [fig.bbox.width, fig.bbox.height]])
    assert all(figure_box.contains(b.x0, b.y0) and b.x0 >= 0 for b in labels)  # not cut off
    assert all("…" in t.get_text() for t in ax.get_yticklabels())  # long names shortened


def test_forty_sites_page_renders(tmp_path: Path) -> None:
    page = tmp_path / "forty.html"
    page.write_text(render(forty_sites()), encoding="utf-8")
    soup = soup_of(page)
    assert len(soup.select("#overview tr.site")) == 40
    assert "Saint-Rémy-lès-Chevreuse n°39" in soup.get_text()


@pytest.mark.skipif(
    chromium() is None and not os.environ.get("RSE_ADOPTION_REQUIRE_CHROMIUM"),
    reason="Chromium is not installed (`make test` installs it)",
)
def test_headless_chromium_renders_the_page(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    assert chromium(), "RSE_ADOPTION_REQUIRE_CHROMIUM is set but chromium is missing"
    _, page = report_files(cli, demo, tmp_path / "report.html")
    shot = screenshot(page, tmp_path / "shot.png", 1280, 1600)
    pixels = assert_not_blank(shot, min_colours=50)
    assert pixels.shape[:2] == (1600, 1280)
    orange = np.array([0xE6, 0x9F, 0x00]) / 255  # contributor bars and "tipping" status
    assert (np.abs(pixels - orange).sum(axis=-1) < 0.08).sum() > 200


def test_chart_files_stay_in_the_chosen_folder(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    hostile = ["../../escape", "/etc/passwd", "..", "C:\\Windows\\win.ini"]
    people = [(f"p{i}@x.fr", hostile[i % 4]) for i in range(20)]
    directory = "email,site\n" + "".join(f'{p},"{s}"\n' for p, s in people)
    events = "timestamp,user,event_type\n" + "".join(
        f"2026-03-02T09:00:00Z,{p},post\n" for p, _ in people
    )
    assert cli("directory", write(tmp_path / "d.csv", directory)).exit_code == 0
    assert cli("ingest", write(tmp_path / "e.csv", events)).exit_code == 0
    out = tmp_path / "deep" / "charts"
    result = cli("report", "--format", "png", "--out", out)
    assert result.exit_code == 0, result.stderr
    written = [Path(line) for line in result.stdout.split()]
    assert len(written) == 4 + 4 and all(p.parent == out.resolve() for p in written)
    assert sorted(p.name for p in (tmp_path / "deep").rglob("*.png")) == sorted(
        p.name for p in written
    )


def test_dollar_signs_in_site_names_are_not_read_as_mathematics() -> None:
    """Matplotlib renders `$EU$` in italics as maths: a label must show the name as typed."""
    from matplotlib import cbook

    report = forty_sites()
    named = replace(report, sites=(replace(report.sites[0], site="Sales $EU$ desk"),))
    fig = charts.progress_figure(named)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    label = fig.axes[0].get_yticklabels()[0]
    assert label.get_text() == r"Sales \$EU\$ desk"  # shows as "Sales $EU$ desk"
    assert not cbook.is_math_text(label.get_text())


def test_no_chart_text_is_cut_in_either_language(demo) -> None:  # type: ignore[no-untyped-def]
    """Every title, label, legend and annotation of every chart lies inside its figure (a
    French title is a third longer: "…zone de bascule 258–387 pe" was cut, issue 29)."""
    from rse_adoption.api import open_store
    from rse_adoption.report.i18n import language

    report = open_store(demo["data"]).report().report
    for lang in ("en", "fr"):
        tr = language(lang)
        figures = [
            charts.progress_figure(report, tr),
            charts.segments_figure(report, tr),
            charts.pyramid_figure(report, tr),
            charts.trend_figure(report.totals, report, compact=False, tr=tr),
            *(charts.trend_figure(g, report, tr=tr) for g in report.sites if not g.suppressed),
        ]
        for fig in figures:
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            frame = fig.bbox
            renderer = canvas.get_renderer()
            texts = [t for t in (fig._suptitle,) if t is not None]
            for ax in fig.axes:
                texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
                texts += [ax.xaxis.label, ax.yaxis.label]
                legend = ax.get_legend()
                texts += legend.get_texts() if legend else []
            for text in texts:
                if not text.get_visible() or not text.get_text().strip():
                    continue
                box = text.get_window_extent(renderer)
                inside = (
                    box.x0 >= frame.x0 - 1
                    and box.x1 <= frame.x1 + 1
                    and box.y0 >= frame.y0 - 1
                    and box.y1 <= frame.y1 + 1
                )
                assert inside, (lang, text.get_text())


@pytest.mark.skipif(
    chromium() is None and not os.environ.get("RSE_ADOPTION_REQUIRE_CHROMIUM"),
    reason="Chromium is not installed (`make test` installs it)",
)
def test_pages_fit_a_1280_window_and_an_a4_page(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    """Nothing of the demo's pages, English and French, sticks out of a 1280-pixel window
    or, with the print rules, of an A4 page (the peers' table of fifteen columns did)."""
    pages = []
    for lang in ("en", "fr"):
        for command, extra in (
            ("report", []),
            ("report", ["--site", "Lyon", "--site", "Nantes"]),
            ("communities", []),
            ("ambassadors", []),
            ("interactions", []),
        ):
            page = tmp_path / f"{command}-{lang}-{len(extra)}.html"
            args = [command, "--data-dir", demo["data"], "--format", "html", "--lang", lang]
            assert cli(*args, *extra, "--out", page).exit_code == 0
            pages.append(page)
    for page in pages:
        assert overflow(page, 1280) == [], page.name
        assert overflow(page, A4_WIDTH, print_rules=True) == [], page.name
    screenshot(pages[1], tmp_path / "shot.png", 1280, 1600)  # and it is drawn


def test_a_site_page_draws_its_trend_once(tmp_path: Path, cli, demo) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "lyon.html"
    args = ["report", "--data-dir", demo["data"], "--format", "html", "--site", "Lyon"]
    assert cli(*args, "--out", page).exit_code == 0
    trends = [
        img for img in soup_of(page).select("img") if "Weekly contributors" in img.get("alt", "")
    ]
    assert len(trends) == 1  # was three: the totals' (= Lyon), the small multiple, the page's
