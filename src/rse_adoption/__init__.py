"""rse-adoption: measure enterprise social network adoption site by site.

The library is the product; `cli.py` is a thin layer over it. Main entry points:
`store.open_store`, `ingest.ingest_paths`, `directory.load_directory`, `metrics.build_report`.
"""

__version__ = "0.1.0"
