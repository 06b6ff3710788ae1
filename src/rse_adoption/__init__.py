"""rse-adoption: measure enterprise social network adoption site by site.

The library is the product; the `rse-adoption` command is a thin layer over it:

    import rse_adoption as rse
    store = rse.open_store("rse-data", create=True)
    store.load_directory("directory.csv")
    store.ingest(["exports/"])
    report = store.report(sites=["Lyon"])
    report.to_dict(), report.to_pandas()

See docs/api.md; docs/architecture.md says where each part lives.
"""

from .api import HistoryResult, ReportResult, SectionResult, Store, open_store

__version__ = "0.1.0"
__all__ = ["HistoryResult", "ReportResult", "SectionResult", "Store", "open_store"]
