"""Ingest: recognise each export, read it into canonical events, commit it whole or not at
all.

- registry.py: the formats (one module each, satisfying registry.Format) and how a file is
  matched to one;
- pipeline.py: `ingest_paths`, which stages, de-duplicates (dedupe.py) and commits;
- canonical.py, textio.py, archive.py, periods.py: what the readers share.

This file imports nothing, so that the command line lists the formats at start-up without
loading the readers (pyarrow, DuckDB): a cron `--help` or `status` stays fast.
"""

#: Every format's NAME, in the order detection asks them: specific layouts first, the
#: generic event files last. registry.FORMATS holds the modules, and checks at import that
#: it registers exactly these.
FORMAT_NAMES: tuple[str, ...] = (
    "slack",
    "yammer",
    "viva_engage",
    "teams",
    "slack_analytics",
    "slack_member_days",
    "events",
    "mapped",
)
