"""What a newcomer trips on in their first hour (issue 29): nothing silently wrong, clear
messages, the documented exit codes. Each test reproduces one report of that hour."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import write

#: Ten people of Lyon, keyed in the exports by e-mail; the directory knows their ids too.
PEOPLE = [(f"E{i}", f"p{i}@x.fr") for i in range(10)]
DIRECTORY = "employee_id,email,site\n" + "".join(f"{e},{m},Lyon\n" for e, m in PEOPLE)
EVENTS = "timestamp,user,event_type\n" + "".join(
    f"2026-03-0{1 + i % 5}T09:00:00Z,{m},{'post' if i < 3 else 'read'}\n"
    for i, (_, m) in enumerate(PEOPLE)
)


def _store(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", write(tmp_path / "d.csv", DIRECTORY)).exit_code == 0
    assert cli("ingest", write(tmp_path / "e.csv", EVENTS)).exit_code == 0


def test_a_directory_without_the_email_column_is_refused_and_the_good_one_kept(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    _store(tmp_path, cli)
    ids_only = write(
        tmp_path / "ids.csv", "employee_id,site\n" + "".join(f"{e},Lyon\n" for e, _ in PEOPLE)
    )
    refused = cli("directory", ids_only)
    assert refused.exit_code == 65
    assert "lists only 0 of the 10 people" in refused.stderr and "--force" in refused.stderr
    report = cli("report", "--format", "json").json()
    lyon = report["sites"][0]
    assert lyon["headcount"] == 10  # the good directory stayed (its 3 contributors: "< 5")
    assert lyon["segments"]["contributor"] is None and "segments.contributor" in lyon["hidden"]
    assert report["directory_match_share"] == 1.0

    forced = cli("directory", ids_only, "--force", "--json").json()
    assert (forced["stored_people"], forced["matched_people"], forced["match_share"]) == (
        10,
        0,
        0.0,
    )
    table = cli("report").stdout
    assert table.startswith("Warning: the directory lists only 0.0%")  # first, not a footnote
    assert cli("report", "--format", "json").json()["directory_match_share"] == 0.0
    assert cli("report", "--format", "md").stdout.split("\n")[2].startswith("**Warning:")


def test_a_directory_loaded_before_any_export_is_not_judged(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    loaded = cli("directory", write(tmp_path / "d.csv", DIRECTORY), "--json").json()
    assert loaded["stored_people"] is None and loaded["match_share"] is None


def test_skipped_files_are_logged_under_quiet_and_status_warns_until_dealt_with(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    _store(tmp_path, cli)
    exports = tmp_path / "exports"
    odd = write(exports / "survey.csv", "who,what\nme,this\n")
    log = tmp_path / "cron.log"
    quiet = cli("ingest", exports, "--quiet", "--log-file", log)
    assert quiet.exit_code == 65  # every file skipped: exit 65, as documented
    assert "skipped survey.csv" in quiet.stderr
    assert "skipped survey.csv" in log.read_text(encoding="utf-8")
    warnings = {w["code"]: w["message"] for w in cli("status", "--json").json()["warnings"]}
    assert "survey.csv" in warnings["skipped_files"]
    odd.unlink()  # dealt with: removed from the exports folder
    assert "skipped_files" not in {w["code"] for w in cli("status", "--json").json()["warnings"]}


def test_a_skipped_file_ingested_later_no_longer_warns(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _store(tmp_path, cli)
    late = write(tmp_path / "late.csv", "when,who,what\n2026-03-02T10:00:00Z,p1@x.fr,post\n")
    assert cli("ingest", late, "--quiet").exit_code == 65
    assert "skipped_files" in {w["code"] for w in cli("status", "--json").json()["warnings"]}
    mapping = write(
        tmp_path / "m.toml",
        '[columns]\ntimestamp = "when"\nuser = "who"\nevent_type = "what"\n',
    )
    assert cli("ingest", late, "--mapping", mapping, "--quiet").exit_code == 0
    assert "skipped_files" not in {w["code"] for w in cli("status", "--json").json()["warnings"]}


def test_as_of_outside_the_data_says_the_window_holds_no_events(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _store(tmp_path, cli)
    for day in ("2025-01-15", "2027-01-15"):
        result = cli("report", "--as-of", day)
        assert result.exit_code == 65
        assert "holds no events: the store's events run from 2026-03-01 to 2026-03-05" in (
            result.stderr
        )
    assert cli("report", "--as-of", "2026-04-30").exit_code == 0  # overlaps the data


def test_files_that_are_no_export_are_named_for_what_they_are(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "x"
    write(folder / "empty.csv", "")
    (folder / "report.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    write(folder / "history.json", '{"ok": true, "messages": [{"type": "message", "ts": "1.2"}]}')
    write(folder / "dump.json", '[{"type": "message", "user": "U1", "ts": "1700000000.1"}]')
    result = cli("ingest", folder, "--json")
    reasons = {Path(d["path"]).name: d["message"] for d in result.json()["details"]}
    assert reasons["empty.csv"] == "empty.csv: empty file (no header, no rows)"
    assert reasons["report.pdf"].startswith("report.pdf: a PDF, not a CSV export")
    for name in ("history.json", "dump.json"):
        assert "Slack Web API messages" in reasons[name] and "fetch slack" in reasons[name]


def test_a_rerun_says_already_stored_with_plurals_right(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    events = write(tmp_path / "e.csv", EVENTS)
    first = cli("ingest", events)
    assert "1 file: 10 rows added, 0 already stored" in first.stderr
    again = cli("ingest", events)
    assert again.stderr.strip().endswith("1 file, all already stored: nothing added.")
    copy = write(tmp_path / "copy.csv", EVENTS + "\n")  # other bytes, the same events
    assert "0 new, 10 already stored" in cli("ingest", copy).stderr


def test_out_into_a_missing_folder_is_exit_73_and_creates_nothing(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _store(tmp_path, cli)
    missing = tmp_path / "missing-parent" / "x.html"
    result = cli("report", "--format", "html", "--out", missing)
    assert result.exit_code == 73 and "does not exist" in result.stderr
    assert not missing.parent.exists()
    folder = tmp_path / "new" / "reports"
    assert cli("report", "--format", "html", "--out", f"{folder}/").exit_code == 0
    assert (folder / "report.html").is_file()


def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    env = {**os.environ, "RSE_ADOPTION_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rse_adoption.cli",
            "demo",
            "--out",
            str(tmp_path / "d"),
            "--scale",
            "3",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(2.5)  # past the imports, inside the command
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "rse-adoption: interrupted; nothing half-written"


def test_make_demo_installs_the_package_without_the_dev_tools() -> None:
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    demo = next(line for line in makefile.splitlines() if line.startswith("demo:"))
    assert "install" not in demo.split(":", 1)[1].split() and ".demo-installed" in demo
    recipe = makefile.split("$(VENV)/.demo-installed: pyproject.toml", 1)[1].split("\n\n", 1)[0]
    assert "pip install --quiet -e .\n" in recipe + "\n" and "[dev]" not in recipe


def test_the_terminal_report_fits_80_100_and_150_columns(
    demo: dict[str, Path], cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Piped output follows COLUMNS; every column stays whole (nothing cut with "…"); the
    key columns (site, contributors, share, status, forecast) are in the first table."""
    from rich.cells import cell_len

    for lang in ("en", "fr"):
        for width in (80, 100, 150):
            monkeypatch.setenv("COLUMNS", str(width))
            text = cli("report", "--data-dir", demo["data"], "--lang", lang).stdout
            lines = text.splitlines()
            assert max(cell_len(line) for line in lines) <= width, (lang, width)
            assert not any("…" in line for line in lines), (lang, width)
            first = text.split("┗")[0] if "┗" in text else text.split("└")[0]
            share, lyon = ("Share", "14.1%") if lang == "en" else ("Part", "14,1\u00a0%")
            assert share in first and lyon in first and ("tipping" in first or "bascule" in first)
            assert "Dec 2026" in first or "décembre 2026" in first  # Lyon's forecast
            for amb in ("Amb.",):  # moved, never lost
                assert amb in text
    monkeypatch.setenv("COLUMNS", "150")
    wide = cli("report", "--data-dir", demo["data"]).stdout
    assert wide.count("┏") == 1  # at 150 columns, one table holds everything


TEAMS_HEADER = (
    "Report Refresh Date,User Principal Name,Last Activity Date,Is Deleted,Deleted Date,"
    "Assigned Products,Team Chat Message Count,Private Chat Message Count,Call Count,"
    "Meeting Count,Has Other Action,Report Period\n"
)


def test_a_person_listed_again_with_other_counts_is_quarantined_not_guessed(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """A sanitised Teams report put one person key on many rows with different counts;
    the first row was kept and the others called duplicates. Now: conflicting rows are
    quarantined with the reason, exact repeats stay duplicates, the others are stored."""
    rows = (
        "2026-03-31,user@contoso.com,2026-03-30,False,,TEAMS,12,0,0,0,No,30\n"
        "2026-03-31,user@contoso.com,2026-03-29,False,,TEAMS,0,3,0,0,No,30\n"
        "2026-03-31,user@contoso.com,2026-03-28,False,,TEAMS,5,0,1,0,No,30\n"
        "2026-03-31,ann@x.fr,2026-03-29,False,,TEAMS,2,0,0,0,No,30\n"
        "2026-03-31,ann@x.fr,2026-03-29,False,,TEAMS,2,0,0,0,No,30\n"  # the same row again
        "2026-03-31,bob@x.fr,2026-03-29,False,,TEAMS,0,1,0,0,No,30\n"
    )
    result = cli("ingest", write(tmp_path / "teams.csv", TEAMS_HEADER + rows), "--json").json()
    detail = result["details"][0]
    assert (detail["rows_ingested"], detail["duplicates"], detail["quarantined"]) == (2, 1, 3)
    assert "different counts" in detail["message"]
    reasons = [r["reason"] for r in cli("quarantine", "--json").json()]
    assert len(reasons) == 3 and all("listed on 3 rows" in r for r in reasons)


def test_a_period_file_without_its_refresh_date_says_so(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    header = TEAMS_HEADER.replace("Report Refresh Date,", "")
    rows = "ann@x.fr,2026-03-29,False,,TEAMS,2,0,0,0,No,30\n"
    result = cli("ingest", write(tmp_path / "teams.csv", header + rows), "--format", "teams")
    assert result.exit_code == 65
    assert "no 'Report Refresh Date' column" in result.stderr and "--period-end" in result.stderr


def test_the_demo_folder_ingests_whole_and_says_what_the_other_files_are(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """`rse-adoption ingest exports/` on the demo's folder: every export read (Slack member
    analytics take their period from their file name), the directory and the mapping file
    named for what they are and not kept as files to deal with; exit 0."""
    exports = tmp_path / "exports"
    assert cli("demo", "--out", exports).exit_code == 0
    result = cli("ingest", exports, "--json")
    assert result.exit_code == 0, result.stderr
    by_name = {Path(d["path"]).name: d for d in result.json()["details"]}
    analytics = next(d for n, d in by_name.items() if n.startswith("member-analytics_"))
    assert analytics["status"] == "ingested"
    assert "employee directory" in by_name["directory.csv"]["message"]
    assert "a mapping file" in by_name["map.toml"]["message"]
    assert "--mapping" in by_name["activite.csv"]["message"]  # the mapping beside it
    skipped = [f["path"] for f in cli("status", "--json").json()["skipped_files"]]
    assert [Path(p).name for p in skipped] == ["activite.csv"]  # the one export not read


SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the shared samples are not beside the project ({SAMPLES})"
)
def test_an_export_without_threads_gives_unknown_answers_not_zero(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """A 2016 Slack export (threads did not exist) said "answered 0 %": whether a post
    was answered is unknown there, so the figures are null with a note (issue 29)."""
    cli("ingest", SAMPLES / "slack" / "slack-export-viewer-testarchive.zip")
    report = cli("report", "--format", "json", "--min-group-size", "1").json()
    talk = report["totals"]["conversations"]
    assert talk["threads"] > 0
    assert (talk["answered_share"], talk["unanswered_over_7_days"]) == (None, None)
    assert any(note.startswith("No reply of the window names the post") for note in report["notes"])
    french = cli("report", "--format", "md", "--min-group-size", "1", "--lang", "fr").stdout
    assert "Aucune réponse de la fenêtre ne désigne" in french


def test_a_site_s_figures_do_not_depend_on_the_other_sites_selected(demo, cli) -> None:  # type: ignore[no-untyped-def]
    """`report --site Lyon` said "toward other sites 0.0 %" (counted within the selection)
    and its "newly active" changed with the other sites chosen; now a site's row is the
    whole report's, and its interactions' row keeps a column for every site."""

    def sites(*chosen: str) -> dict[str, dict[str, object]]:
        args = [a for site in chosen for a in ("--site", site)]
        report = cli("report", "--data-dir", demo["data"], "--format", "json", *args).json()
        return {s["site"]: s for s in report["sites"]}

    whole = sites()
    for chosen in (("Lyon",), ("Lyon", "Marseille"), ("Lyon", "Nantes", "Lille")):
        for name, figures in sites(*chosen).items():
            assert figures == whole[name], (chosen, name)
    alone = cli("report", "--data-dir", demo["data"], "--format", "json", "--site", "Lyon").json()
    assert set(alone["interactions"]["matrix"]["Lyon"]) >= {"Paris La Défense", "Marseille"}
    assert alone["interactions"]["matrix"]["Lyon"]["Paris La Défense"] > 0


SECTIONS = [
    ("transitions",),
    ("personas",),
    ("interactions",),
    ("ambassadors",),
    ("ambassadors", "--candidates"),
    ("communities",),
    ("communities", "--leaders"),
]


@pytest.mark.parametrize("command", SECTIONS, ids=" ".join)
def test_section_tables_keep_names_keys_and_figures_whole_at_80_to_120_columns(
    command: tuple[str, ...], demo: dict[str, Path], cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """At 80 columns `transitions` lost its site column (rows of shares and no site),
    `ambassadors` cut its headers to `C…`, `interactions` its sites to `Borde…`,
    `communities` wrapped a sparkline over two lines; at any width `ambassadors
    --candidates` cut each person's key to `382611465…`. Now a table too wide for the
    terminal narrows its headers between words and moves its last columns to a table
    under it, the names repeated: no line wider than the terminal, nothing cut, every
    site's name and every person's key whole."""
    from rich.cells import cell_len

    from rse_adoption.report.terminal import sparkline

    data = ("--data-dir", demo["data"])
    report = cli("report", *data, "--format", "json").json()
    sites = [s["site"] for s in report["sites"] if not s["suppressed"]]
    found = cli(*command, *data, "--format", "json").json()
    found = found if isinstance(found, dict) else {}
    keys = [str(c["person"]) for s in found.get("sites", ()) for c in s.get("candidates") or ()]
    sparks = [
        sparkline(c["weekly_active"])
        for c in found.get("communities") or ()
        if not c["suppressed"] and c.get("weekly_active")
    ]
    for lang, width in (("en", 80), ("en", 100), ("en", 120), ("fr", 80)):
        monkeypatch.setenv("COLUMNS", str(width))
        text = cli(*command, *data, "--lang", lang).stdout
        lines = text.splitlines()
        assert max(cell_len(line) for line in lines) <= width, (lang, width)
        assert "…" not in text, (lang, width)
        if len(command) == 1 and command[0] != "communities":  # a row per site
            for site in sites:
                assert any(f"│ {site} " in line for line in lines), (lang, width, site)
        for key in keys:
            assert key in text, (lang, width, key)
        for spark in sparks:
            assert spark.strip() in text, (lang, width, spark)


def test_history_of_a_site_before_any_recorded_report_says_there_is_none_yet(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """`history --site Lyon` before any `report --history` said "unknown site 'Lyon';
    closest known sites: " (nothing after the colon) and exited 65; it is the empty
    history, as `history` alone says. A misspelt site is still refused once there is one."""
    _store(tmp_path, cli)
    early = cli("history", "--site", "Lyon")
    assert early.exit_code == 0 and "No history yet" in early.stderr
    assert cli("history", "--site", "Lyon", "--json").json() == {"history": []}
    assert cli("report", "--history", "--min-group-size", "1", "--quiet").exit_code == 0
    assert cli("history", "--site", "Lyon", "--json").json()["history"]
    misspelt = cli("history", "--site", "Lyonn")
    assert misspelt.exit_code == 65
    assert "unknown site 'Lyonn'; closest known sites: Lyon" in misspelt.stderr


def test_a_window_longer_than_the_data_says_which_days_its_figures_cover(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """`report --window 400` on five days of events was titled "(400 days)" with nothing
    to say its figures cover five; the terminal and Markdown now say so (exit 0: the
    figures are right for the days there are)."""
    _store(tmp_path, cli)
    sentence = (
        "The 90-day window starts on 2025-12-06, before the store's first event: its "
        "figures cover only 2026-03-01 to 2026-03-05."
    )
    table = cli("report", "--window", "90", "--min-group-size", "1")
    assert table.exit_code == 0
    assert sentence in " ".join(table.stdout.split())  # wrapped at the terminal's width
    assert sentence in cli("report", "--window", "90", "--format", "md").stdout
    french = cli("report", "--window", "90", "--format", "md", "--lang", "fr").stdout
    assert "ses chiffres ne couvrent que du 1er mars 2026 au 5 mars 2026" in french
    assert "before the store's first event" not in cli("report", "--window", "3").stdout


def test_ingest_of_an_empty_folder_is_one_line_and_exit_66(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """`ingest exports/` on an empty (or the wrong) folder said "0 files: 0 rows added…"
    and exited 0: under cron, a night that read nothing looked done."""
    empty = tmp_path / "exports"
    empty.mkdir()
    result = cli("ingest", empty)
    assert result.exit_code == 66
    assert (
        result.stderr.strip() == f"rse-adoption: error: {empty}: no file to ingest (empty folder)"
    )
    assert cli("ingest", empty, "--json").json()["files"] == 0  # the JSON still printed
    write(empty / "e.csv", EVENTS)
    assert cli("ingest", empty).exit_code == 0
    assert cli("ingest", empty).exit_code == 0  # all already stored: still a success


def test_the_candidates_heading_says_ambassador_or_ambassadors(demo: dict[str, Path], cli) -> None:  # type: ignore[no-untyped-def]
    """Each site's shortlist was headed `Bordeaux: 1 ambassador(s)`; now the count
    chooses the form, in English and French, on the terminal and the HTML page."""
    data = ("--data-dir", demo["data"], "--candidates")
    text = cli("ambassadors", *data).stdout
    assert "Bordeaux: 1 ambassador, target 1" in text and "Lyon: 9 ambassadors," in text
    assert "(s)" not in text
    french = cli("ambassadors", *data, "--lang", "fr", "--format", "html").stdout
    assert "Bordeaux : 1 ambassadeur, objectif 1" in french and "(s)" not in french


def test_the_markdown_report_explains_its_hidden_figures_under_the_sites_table(
    demo: dict[str, Path], cli
) -> None:  # type: ignore[no-untyped-def]
    """The Markdown report showed "&lt; 5" and "—" with no legend and ended with "Sites
    with fewer than 5 people are not shown" above a table that shows Genève's row. Now
    the legend follows the sites' table, as the terminal's caption does."""
    for lang, legend in (
        ("en", "< 5: fewer than 5 people; —: hidden so that such a count cannot be recomputed"),
        ("fr", "< 5 : moins de 5 personnes ; — : masqué pour qu'un tel nombre ne puisse"),
    ):
        text = cli("report", "--data-dir", demo["data"], "--format", "md", "--lang", lang).stdout
        lines = text.splitlines()
        last_row = next(i for i, line in enumerate(lines) if line.startswith("| **"))  # totals
        assert lines[last_row + 1] == "" and legend in lines[last_row + 2], lang
        assert "are not shown" not in text


def test_the_backtest_text_is_aligned_wrapped_and_says_when_nothing_can_be_judged(
    demo: dict[str, Path], cli, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """On the demo's six months, `forecast --backtest` said "the ~80 % range held the
    crossing in — (0/0)", its sentences ran to 214 columns whatever the terminal, and the
    `unr.reached` column pushed `inverted` three columns off its header."""
    monkeypatch.setenv("COLUMNS", "80")
    text = cli("forecast", "--backtest", "--data-dir", demo["data"]).stdout
    summary, table = text.split("\n\nsite", 1)
    assert "the data can judge none of them yet" in " ".join(summary.split())
    assert "(0/0)" not in summary
    assert max(len(line) for line in summary.splitlines()) <= 80
    rows = ("site" + table).splitlines()
    assert len({len(row.rsplit("  ", 1)[0]) for row in rows}) == 1  # every column aligned
    assert any(row.startswith("Paris La Défense ") for row in rows)


def test_the_html_overview_explains_its_hidden_figures(demo: dict[str, Path], cli) -> None:  # type: ignore[no-untyped-def]
    """The HTML overview showed Bordeaux as "< 5" contributors and "—" with no word on
    what they mean (the legend of "—" came two sections later, for other figures)."""
    for lang, legend in (
        ("en", "&lt; 5: fewer than 5 people; —: hidden so that such a count cannot be"),
        ("fr", "&lt; 5 : moins de 5 personnes ; — : masqué pour qu'un tel nombre"),
    ):
        page = cli("report", "--data-dir", demo["data"], "--format", "html", "--lang", lang)
        overview = page.stdout.split("</table>", 1)[1].split("</section>", 1)[0]
        assert legend in overview, lang


def test_a_hidden_share_s_bar_says_so_to_a_screen_reader(demo: dict[str, Path], cli) -> None:  # type: ignore[no-untyped-def]
    """The progress bar's label read "— of headcount" for a hidden share; it now gives the
    bound where there is one ("< 9.4 %") and says the share is hidden where there is not."""
    page = cli("report", "--data-dir", demo["data"], "--format", "html").stdout
    labels = {
        row.split('"', 1)[0]: row.split('aria-label="', 1)[1].split('"', 1)[0]
        for row in page.split('<tr class="site" data-site="')[1:]
    }
    assert not any(label.startswith("—") for label in labels.values()), labels
    assert labels["Bordeaux"].startswith("&lt; 9.4") and "of headcount" in labels["Bordeaux"]
    assert labels["Lyon"].startswith("14.1")
