"""How names from the data compare (kept free of heavy imports: reports load it)."""

from __future__ import annotations

import re


def normalise_site(name: str) -> str:
    """Sites compare after trimming and collapsing inner blanks ("Lyon  " is "Lyon")."""
    return re.sub(r"\s+", " ", name).strip()
