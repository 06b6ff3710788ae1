"""The metrics engine: one function per analysis, SQL over the Parquet store (DuckDB, or
Spark through spark.py), each returning its values.

- context.py: the base of every report (people, segments, weekly contributions) and the
  sites' tipping-point figures;
- segments.py, sites.py: who is inactive, a visitor, reader, reactor or contributor, and
  each site's share against the tipping band;
- forecast.py, habit.py, ambassadors.py, communities.py, transitions.py, personas.py: one
  analysis each;
- report.py: `build_report`, which composes them into a model.Report.
"""

from .context import resolve_sites, site_activity, supported_windows
from .report import Section, build_report

__all__ = ["Section", "build_report", "resolve_sites", "site_activity", "supported_windows"]
