"""Site names as people type them: `--site` values and the sites of an actions file
matched to the known sites without case or accents, and the closest known names when one
matches none."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from ..errors import DataError


def _fold(name: str) -> str:
    """Compare site names without case or accents ("saint-etienne" finds "Saint-Étienne")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def closest_sites(name: str, known: Sequence[str]) -> list[str]:
    """The known site names closest to `name`, closest first: those that begin with it or
    hold it as a word (case and accents aside: `Paris` → `Paris La Défense`), else up to
    three that difflib finds similar, else the first five in order."""
    folded = _fold(name)
    by_fold = {_fold(k): k for k in known}
    holding = [
        site
        for fold, site in sorted(by_fold.items())
        if folded and (fold.startswith(folded) or f" {folded}" in f" {fold}")
    ]
    if holding:
        return holding[:3]
    close = difflib.get_close_matches(folded, list(by_fold), n=3, cutoff=0.5)
    return [by_fold[c] for c in close] or sorted(known)[:5]


def resolve_sites(requested: Sequence[str], known: Sequence[str]) -> list[str]:
    """Known site names for the user's `--site` values; an unknown one is a DataError
    listing the closest known names."""
    by_fold = {_fold(k): k for k in known}
    resolved = []
    for name in requested:
        match = by_fold.get(_fold(name))
        if match is None:
            hint = ", ".join(closest_sites(name, known))
            raise DataError(f"unknown site {name!r}; closest known sites: {hint}")
        resolved.append(match)
    return resolved
