"""Reading back quarantined rows: which file, which line, why, so a person can fix them."""

from __future__ import annotations

from typing import Any

import duckdb

from . import store
from .config import Settings


def read_quarantine(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    """Quarantined rows, oldest ingest first, at most `limit` (source_file, line, reason, raw)."""
    with store.reading(settings.data_dir) as manifest:
        files = [settings.data_dir / f["path"] for f in manifest.quarantine_files]
        if not files:
            return []
        con = duckdb.connect()
        try:
            rel = con.sql(
                "SELECT source_file, line, reason, raw FROM read_parquet($files) LIMIT $limit",
                params={"limit": limit, "files": store.path_list(files)},
            )
            columns = [c for c in rel.columns]
            return [dict(zip(columns, row, strict=True)) for row in rel.fetchall()]
        finally:
            con.close()
