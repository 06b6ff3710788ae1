"""The nominations survey of `ambassadors --candidates --nominations FILE`: "who helps you
make use of the network?", one row per answer (columns nominator, nominee; French headers
accepted), e-mails or employee ids keyed as the directory's (privacy.py). Read when asked,
kept nowhere (docs/privacy.md, "Candidates and leaders")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import DataError, NoInputError
from .ingest.textio import iter_csv_records, sniff_delimiter, sniff_text, split_line
from .privacy import KeyCache, load_or_create_secret

#: Nominations file headers (English and French), compared lower-cased and trimmed.
NOMINATOR_HEADERS = ("nominator", "nominateur", "nominatrice", "votant", "répondant", "repondant")
NOMINEE_HEADERS = ("nominee", "nominé", "nomine", "nominée", "personne proposée", "candidat")


@dataclass(frozen=True)
class NominationsFile:
    """A survey as read: its file name, the rows with both columns filled, and their
    (nominator key, nominee key) pairs."""

    file: str
    rows: int
    pairs: tuple[tuple[int, int], ...]


def read_nominations(path: Path, data_dir: Path) -> NominationsFile:
    """The survey at `path`, keyed with the store's secret. NoInputError when missing,
    DataError when the header lacks a nominator or a nominee column."""
    if not path.is_file():
        raise NoInputError(f"{path}: no such file")
    info = sniff_text(path)
    delimiter = sniff_delimiter(info.first_line)
    headers = [h.strip().lower() for h in split_line(info.first_line, delimiter)]
    who = next((i for i, h in enumerate(headers) if h in NOMINATOR_HEADERS), None)
    whom = next((i for i, h in enumerate(headers) if h in NOMINEE_HEADERS), None)
    if who is None or whom is None:
        raise DataError(
            f"{path}:1: the nominations header needs a nominator and a nominee column "
            f"(nominateur, nominé in French); found: {', '.join(headers) or 'nothing'}"
        )
    keys = KeyCache(load_or_create_secret(data_dir))
    pairs = []
    records = iter_csv_records(path, info.encoding, delimiter)
    next(records, None)
    for _, fields in records:
        if len(fields) <= max(who, whom):
            continue
        a, b = fields[who].strip(), fields[whom].strip()
        if a and b:
            pairs.append((keys(a), keys(b)))
    return NominationsFile(path.name, len(pairs), tuple(pairs))
