"""Reports in French (issue 17): the catalogue is complete and compiled, a French page and
terminal output of the demo show no English label, French numbers and dates come from
Babel, charts carry French labels, and machine outputs (JSON, CSV headers and values,
exit codes) never change with the language."""

from __future__ import annotations

import csv
import gettext
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from matplotlib.figure import Figure
from matplotlib.text import Text

from rse_adoption import config
from rse_adoption.api import open_store
from rse_adoption.report import charts, i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rse_adoption"
PO = PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "rse_adoption.po"
MO = PO.with_suffix(".mo")
#: The same extraction as `make messages` (babel.cfg): Python and the HTML templates.
METHODS = [
    ("**.py", "python"),
    ("report/templates/**.j2", "jinja2"),
]
OPTIONS = {
    "report/templates/**.j2": {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": "true",
        "lstrip_blocks": "true",
    }
}
#: Words of the English pages that no French page may show, besides the catalogue's.
ENGLISH_WORDS = (
    "tipping band",
    "tipping point",
    "tipped",
    "below",
    "Headcount",
    "Contributors",
    "Ambassadors",
    "people",
    "Window",
    "expected",
    "hidden",
    "reached",
    "not at the current pace",
    "later",
    "Share",
    "weeks",
    "days",
    "January|February|March|April|June|July|August|September|October|November|December",
    r"\bJan\b|\bFeb\b|\bMar\b|\bApr\b|\bJun\b|\bJul\b|\bAug\b|\bSep\b|\bOct\b|\bNov\b|\bDec\b",
)
FRENCH_MONTHS = (
    "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
)


#: The Makefile's `-k` options: the analyses' sentences (messages.py) are extracted too.
KEYWORDS = {**DEFAULT_KEYWORDS, "Message": (2,), "plural_message": (2, 3)}


def _extracted() -> dict[str | tuple[str, ...], int]:
    found: dict[str | tuple[str, ...], int] = {}
    for _filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        found[message if isinstance(message, str) else tuple(message)] = lineno
    return found


def _catalogue() -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    with PO.open("rb") as f:
        catalog = read_po(f)
    return {(m.id if isinstance(m.id, str) else tuple(m.id)): m.string for m in catalog if m.id}


def test_every_message_has_its_french_translation() -> None:
    extracted = _extracted()
    catalogue = _catalogue()
    assert len(extracted) > 200  # the extraction does find the renderers' messages
    assert "Interactions: %(reason)s." in extracted  # and the analyses' (Message)
    assert any(isinstance(m, tuple) and m[0].startswith("%(num)s row could") for m in extracted)
    missing = [m for m in extracted if m not in catalogue]
    untranslated = [
        m
        for m, text in catalogue.items()
        if not text or (isinstance(text, tuple) and not all(text))
    ]
    assert not missing, f"not in the .po (run `make messages`): {missing}"
    assert not untranslated, f"no French translation: {untranslated}"


def test_translations_keep_their_placeholders() -> None:
    """A translation with a placeholder the message lacks, or without one it has, would
    raise or lose a figure when the page is rendered; a bare % would break formatting
    (templates always format: a literal percent sign is written %%)."""
    for message, text in _catalogue().items():
        ids = [message] if isinstance(message, str) else list(message)
        texts = [text] if isinstance(text, str) else list(text)
        wanted = set(re.findall(r"%\((\w+)\)s", " ".join(ids)))
        for translated in texts:
            got = set(re.findall(r"%\((\w+)\)s", translated))
            assert got <= wanted | {"num"}, (message, translated)
            assert wanted - {"num"} <= got, (message, translated)
        for string in [*ids, *texts]:
            assert "%" not in re.sub(r"%\(\w+\)s|%%", "", string), string


def test_the_compiled_catalogue_is_the_po() -> None:
    """The .mo the package loads says exactly what the .po says (`make messages`)."""
    with MO.open("rb") as f:
        compiled = read_mo(f)
    compiled_strings = {
        (m.id if isinstance(m.id, str) else tuple(m.id)): (
            m.string if isinstance(m.string, str) else tuple(m.string)
        )
        for m in compiled
        if m.id
    }
    assert compiled_strings == _catalogue()
    loaded = i18n.language("fr").translations
    assert isinstance(loaded, gettext.GNUTranslations)
    assert loaded.gettext("tipped") == "basculé"


def test_languages_agree_and_are_shipped() -> None:
    assert config.LANGUAGES == i18n.LANGUAGES
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locale/*/LC_MESSAGES/*.mo"' in text and '"babel>=' in text


def _english_labels() -> list[str]:
    """Every phrase of the catalogue's English messages whose French differs: the parts
    between placeholders, of two words or more, or one word of four letters or more."""
    labels: set[str] = set()
    for message, text in _catalogue().items():
        ids = [message] if isinstance(message, str) else list(message)
        translated = text if isinstance(text, str) else " ".join(text)
        for english in ids:
            for part in re.split(r"%\(\w+\)s|<[^>]+>|%%", english):
                part = part.strip(" .,;:()—–-→↓/|¦#*`'\"≥÷")
                words = re.findall(r"[A-Za-z]+", part)
                if not words or part in translated:
                    continue
                if len(words) >= 2 or len(words[0]) >= 4:
                    labels.add(part)
    return sorted(labels)


def _english_in(text: str) -> list[str]:
    """The English labels in `text`, file names (`directory.csv`, docs/metrics.md) and
    commands in backquotes aside: they are names, the same in every language."""
    text = re.sub(r"`[^`]*`|[\w/.-]+\.(?:csv|md|toml|json|html|png)(?:#\w+)?", " ", text)
    found = [label for label in _english_labels() if re.search(rf"\b{re.escape(label)}\b", text)]
    found += [w for w in ENGLISH_WORDS if re.search(w if "|" in w else rf"\b{w}\b", text)]
    return found


def _visible(html: str) -> str:
    """What a reader sees or hears: the text, image descriptions, labels and titles."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["style", "script"]):
        hidden.decompose()
    attributes = [
        str(tag[name])
        for name in ("alt", "aria-label", "title")
        for tag in soup.find_all(attrs={name: True})
    ]
    return " ".join([soup.get_text(" "), *attributes])


@pytest.fixture(scope="module")
def french_html(demo: dict[str, Path]) -> str:
    from rse_adoption.report.html_report import render

    report = open_store(demo["data"]).report(sites=("Lyon", "Genève", "Nantes")).report
    return render(report, site_pages=True, tr=i18n.language("fr"))


def test_the_english_label_list_is_sound(demo: dict[str, Path]) -> None:
    """The labels the French pages are checked against are those the English page shows
    (the check would find them if a page were left in English)."""
    from rse_adoption.report.html_report import render

    english = _visible(render(open_store(demo["data"]).report().report))
    assert len(_english_labels()) > 150
    for label in ("tipping band", "Headcount", "Sites by progress toward the tipping point"):
        assert label in _english_in(english)


def test_french_demo_page_has_no_english_word(
    cli: Callable[..., object], demo: dict[str, Path]
) -> None:
    run: object = cli("report", "--lang", "fr", "--format", "html", "--data-dir", demo["data"])
    assert run.exit_code == 0  # type: ignore[attr-defined]
    html: str = run.stdout  # type: ignore[attr-defined]
    assert '<html lang="fr">' in html
    assert _english_in(_visible(html)) == []


def test_french_site_pages_have_no_english_word(french_html: str) -> None:
    assert _english_in(_visible(french_html)) == []
    assert "Genève compte moins de 5 personnes employées le 31 octobre 2026" in french_html


def test_french_numbers_and_dates(french_html: str) -> None:
    """Percentages and counts with French separators (Babel: no-break space before %,
    narrow no-break space between thousands), dates in words."""
    soup = BeautifulSoup(french_html, "html.parser")
    lyon = soup.find("tr", attrs={"data-site": "Lyon", "data-status": True})
    assert lyon is not None
    cells = [td.get_text() for td in lyon.find_all("td")]
    assert "14,1\u00a0%" in cells and "616" in cells
    assert "Adoption du RSE par site, 31 octobre 2026" in french_html
    assert re.search(rf"≈ ({FRENCH_MONTHS}) 20\d\d", french_html)
    assert "14.1" not in soup.get_text()


def test_french_thousands(demo: dict[str, Path]) -> None:
    from rse_adoption.report.html_report import render

    html = render(open_store(demo["data"]).report().report, tr=i18n.language("fr"))
    soup = BeautifulSoup(html, "html.parser")
    paris = soup.find("tr", attrs={"data-site": "Paris La Défense", "data-status": True})
    assert paris is not None and paris["data-headcount"] == "1332"  # machine data unchanged
    assert "1\u202f332" in [td.get_text() for td in paris.find_all("td")]


def test_language_formats_without_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    fr = i18n.language("fr")
    assert fr.percent(0.141) == "14,1\u00a0%"
    assert fr.percent(0.15, 0) == "15\u00a0%"
    assert fr.number(1332) == "1\u202f332"
    assert fr.long_date(date(2026, 10, 31)) == "31 octobre 2026"
    assert fr.long_date(date(2026, 5, 1)) == "1er mai 2026"
    assert fr.month(date(2027, 3, 1)) == "mars 2027"
    assert fr.decimal(-1.25, 1, sign=True) == "-1,2"
    assert fr.decimal(1.5, 1, sign=True) == "+1,5"
    en = i18n.language("en")
    assert en.month(date(2027, 3, 1)) == "Mar 2027"
    assert en.long_date(date(2026, 10, 31)) == "31 October 2026"
    with pytest.raises(ValueError, match="unknown language 'de'"):
        i18n.language("de")


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["report"], ["Effectif", "basculé", "14,1\u00a0%", "1\u202f332", "Zone de bascule"]),
        (["report", "--site", "Lyon"], ["contributeur", "Au rythme actuel", "décembre 2026"]),
        (["ambassadors"], ["Ambassadeurs par site", "aucun ⚠"]),
        (["communities"], ["Communautés", "tous les sites affichés"]),
        (["transitions"], ["De la période précédente", "lecteur → contrib."]),
        (["personas"], ["Personas"]),
        (["status"], ["entrepôt", "événements", "fichiers de données"]),
    ],
)
def test_terminal_output_in_french(
    cli: Callable[..., object], demo: dict[str, Path], command: list[str], words: list[str]
) -> None:
    run: object = cli(*command, "--lang", "fr", "--data-dir", demo["data"])
    assert run.exit_code == 0, run.stderr  # type: ignore[attr-defined]
    text: str = run.stdout  # type: ignore[attr-defined]
    for word in words:
        assert word in text
    assert _english_in(text) == []


def test_history_in_french(
    cli: Callable[..., object], demo: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    data = tmp_path / "store"
    shutil.copytree(demo["data"], data)
    assert cli("report", "--history", "--quiet", "--data-dir", data).exit_code == 0  # type: ignore[attr-defined]
    run: object = cli("history", "--lang", "fr", "--data-dir", data)
    text: str = run.stdout  # type: ignore[attr-defined]
    assert "31/10/2026   90 j  Lyon" in text and "14,1\u00a0%  en bascule" in text
    assert _english_in(text) == []


def test_language_from_the_environment_and_the_file(
    cli: Callable[..., object],
    demo: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RSE_ADOPTION_LANG", "fr")
    run: object = cli("report", "--data-dir", demo["data"])
    assert "Effectif" in run.stdout  # type: ignore[attr-defined]
    run = cli("report", "--lang", "en", "--data-dir", demo["data"])  # a flag wins
    assert "Headcount" in run.stdout  # type: ignore[attr-defined]
    monkeypatch.delenv("RSE_ADOPTION_LANG")
    toml = tmp_path / "rse-adoption.toml"
    toml.write_text('[report]\nlanguage = "fr"\n', encoding="utf-8")
    run = cli("report", "--config", toml, "--data-dir", demo["data"])
    assert "Effectif" in run.stdout  # type: ignore[attr-defined]
    toml.write_text('[report]\nlanguage = "de"\n', encoding="utf-8")
    run = cli("report", "--config", toml, "--data-dir", demo["data"])
    assert run.exit_code == 78  # type: ignore[attr-defined]
    assert "report.language must be one of en, fr, got 'de'" in run.stderr  # type: ignore[attr-defined]
    monkeypatch.setenv("RSE_ADOPTION_LANG", "es")
    run = cli("status", "--data-dir", demo["data"])
    assert run.exit_code == 78  # type: ignore[attr-defined]
    monkeypatch.delenv("RSE_ADOPTION_LANG")
    run = cli("report", "--lang", "de", "--data-dir", demo["data"])
    assert run.exit_code == 2  # type: ignore[attr-defined]


def _texts(figure: Figure) -> list[str]:
    figure.draw_without_rendering()  # tick labels exist once the figure is laid out
    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def test_charts_carry_french_labels(demo: dict[str, Path]) -> None:
    report = open_store(demo["data"]).report().report
    fr = i18n.language("fr")
    lyon = next(g for g in report.sites if g.site == "Lyon")
    figures = {
        "progress": charts.progress_figure(report, fr),
        "segments": charts.segments_figure(report, fr),
        "pyramid": charts.pyramid_figure(report, fr),
        "trend": charts.trend_figure(lyon, report, compact=False, tr=fr),
        "trend-all": charts.trend_figure(report.totals, report, compact=False, tr=fr),
    }
    texts = {name: _texts(figure) for name, figure in figures.items()}
    joined = "\n".join(t for values in texts.values() for t in values)
    assert "contributeurs en part de l'effectif" in texts["progress"]
    assert any("14,1\u00a0% ◆ en bascule" == t for t in texts["progress"])
    assert "10\u00a0%" in texts["progress"]
    assert "zone de bascule" in texts["trend"] and "personnes" in texts["trend"]
    assert any(re.fullmatch(r"\d{1,2} (août|sept\.|oct\.)", t) for t in texts["trend"])
    assert any(t.startswith("Tous les sites") for t in texts["trend-all"])
    assert any("Pyramide de participation" in t for t in texts["pyramid"])
    assert _english_in(joined) == []


def test_png_charts_differ_by_language(
    cli: Callable[..., object], demo: dict[str, Path], tmp_path: Path
) -> None:
    for lang in ("en", "fr"):
        run: object = cli(
            "report", "--format", "png", "--lang", lang, "--out", tmp_path / lang,
            "--quiet", "--data-dir", demo["data"],
        )  # fmt: skip
        assert run.exit_code == 0  # type: ignore[attr-defined]
    names = sorted(p.name for p in (tmp_path / "en").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "fr").iterdir())  # same file names
    assert (tmp_path / "en" / "progress.png").read_bytes() != (
        tmp_path / "fr" / "progress.png"
    ).read_bytes()


@pytest.mark.parametrize(
    "command", ["report", "ambassadors", "communities", "transitions", "personas"]
)
def test_json_never_changes_with_the_language(
    cli: Callable[..., object], demo: dict[str, Path], command: str
) -> None:
    outputs = []
    for lang in ("en", "fr"):
        run: object = cli(command, "--json", "--lang", lang, "--data-dir", demo["data"])
        data = run.json()  # type: ignore[attr-defined]
        if isinstance(data, dict):
            data.pop("generated_at", None)
        outputs.append(data)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    "command", ["report", "ambassadors", "communities", "transitions", "personas"]
)
def test_csv_excel_fr_dialect(
    cli: Callable[..., object], demo: dict[str, Path], command: str
) -> None:
    """`;`, decimal comma and a UTF-8 BOM; the same headers and values otherwise, in any
    language."""
    plain = cli(command, "--format", "csv", "--data-dir", demo["data"]).stdout  # type: ignore[attr-defined]
    french = cli(
        command, "--format", "csv", "--csv-dialect", "excel-fr", "--lang", "fr",
        "--data-dir", demo["data"],
    ).stdout  # type: ignore[attr-defined]  # fmt: skip
    assert (
        cli(command, "--format", "csv", "--lang", "fr", "--data-dir", demo["data"]).stdout == plain
    )  # type: ignore[attr-defined]
    assert french.startswith("\ufeff") and not plain.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(plain)))
    french_rows = list(csv.reader(io.StringIO(french[1:]), delimiter=";"))
    assert french_rows[0] == rows[0]  # headers unchanged
    assert len(french_rows) == len(rows)
    decimals = 0
    for row, french_row in zip(rows[1:], french_rows[1:], strict=True):
        for value, french_value in zip(row, french_row, strict=True):
            if re.fullmatch(r"-?\d+\.\d{6}", value):
                decimals += 1
                assert french_value == value.replace(".", ",")
            else:
                assert french_value == value
    assert decimals > 0 or command == "personas"  # personas are counts only


def test_csv_excel_fr_bytes_in_a_file(
    cli: Callable[..., object], demo: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report.csv"
    run: object = cli(
        "report", "--format", "csv", "--csv-dialect", "excel-fr", "--out", out,
        "--data-dir", demo["data"],
    )  # fmt: skip
    assert run.exit_code == 0  # type: ignore[attr-defined]
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfsite;suppressed;headcount;")
    assert b"0,141234" in data or re.search(rb";0,\d{6};", data)


def test_communities_transitions_personas_pages_in_french(
    cli: Callable[..., object], demo: dict[str, Path]
) -> None:
    for command in ("communities", "transitions", "personas", "ambassadors"):
        run: object = cli(command, "--format", "html", "--lang", "fr", "--data-dir", demo["data"])
        html: str = run.stdout  # type: ignore[attr-defined]
        assert '<html lang="fr">' in html
        assert _english_in(_visible(html)) == [], command


def test_english_is_the_default(cli: Callable[..., object], demo: dict[str, Path]) -> None:
    """Without --lang, report.language or RSE_ADOPTION_LANG: English, whatever the
    machine's locale says."""
    default = cli("report", "--format", "md", "--data-dir", demo["data"]).stdout  # type: ignore[attr-defined]
    english = cli("report", "--format", "md", "--lang", "en", "--data-dir", demo["data"]).stdout  # type: ignore[attr-defined]
    assert default == english and "| Site | Headcount | Contributors |" in default


def test_demo_in_french_is_the_same_organisation(
    cli: Callable[..., object], demo: dict[str, Path], tmp_path: Path
) -> None:
    """`demo --lang fr` labels every month of events in French (columns and actions, as a
    French Excel export) and says what it wrote in French; loaded, it is the same
    organisation: the same report as the English demo's."""
    run: object = cli(
        "demo", "--lang", "fr", "--out", tmp_path / "exports", "--data-dir", tmp_path / "data"
    )
    assert run.exit_code == 0  # type: ignore[attr-defined]
    assert "2\u202f714 personnes et 47\u202f141 événements écrits" in run.stderr  # type: ignore[attr-defined]
    for month in sorted((tmp_path / "exports" / "events").iterdir()):
        header = month.read_bytes().split(b"\r\n")[0].decode("cp1252")
        assert header == "date;utilisateur;action;site;communauté;content_id;auteur", month
    reports = []
    for data in (demo["data"], tmp_path / "data"):
        result = cli("report", "--json", "--data-dir", data).json()  # type: ignore[attr-defined]
        result.pop("generated_at")
        reports.append(result)
    assert reports[0] == reports[1]


def test_french_clauses_take_a_space_before_the_semicolon(
    demo: dict[str, Path], cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The actions not estimable were listed "a; b" in French text; French writes "a ; b"."""
    monkeypatch.setenv("COLUMNS", "400")  # the paragraph on one line
    text = cli("report", "--data-dir", demo["data"], "--lang", "fr").stdout
    line = next(x for x in text.splitlines() if x.startswith("Actions non estimables"))
    assert " ; " in line and "; " not in line.replace(" ; ", "")
