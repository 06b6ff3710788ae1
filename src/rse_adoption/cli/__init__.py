"""The `rse-adoption` command: options, exit codes and output streams; no business logic.

Every command parses its options, calls one method of the library's Store (api.py) and
hands the result to a renderer (report/registry.py through output.py). Errors the user can
act on (errors.RseError) become one line on standard error and the documented exit code,
in one place: common.handle_errors. With `--json`, standard output holds one JSON object and
nothing else. One module per command group: store_commands (filling and tending the
store), report_commands (figures and their renderings), fetch_commands (vendor APIs),
forecast_commands (the forecast's backtest).
"""

from __future__ import annotations

import importlib.abc
import os
import sys

from . import fetch_commands, forecast_commands, report_commands, store_commands
from .app import app
from .store_commands import INGEST_FORMATS

__all__ = [
    "INGEST_FORMATS",
    "app",
    "fetch_commands",
    "forecast_commands",
    "main",
    "report_commands",
    "store_commands",
]


#: Commands that never build a pandas object: their process runs as if pandas were not
#: installed (see `main`).
WITHOUT_PANDAS = frozenset({"ingest"})


class _PandasRefused(importlib.abc.MetaPathFinder):
    """Makes `import pandas` fail as it does where pandas is not installed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


#: Commands that ingest: their process allocates Arrow's memory with jemalloc (see
#: `_jemalloc`).
WITH_JEMALLOC = frozenset({"ingest", "fetch"})


def _jemalloc() -> None:
    """Arrow's memory from jemalloc rather than its default, mimalloc, unless
    ARROW_DEFAULT_MEMORY_POOL chooses: mimalloc gives freed pages back to the system and
    faults them in again at the next batch, and the kernel's zeroing of those pages was
    most of what the `site` and `space` columns of an event log cost (system time 0.54–0.67
    s against 0.22–0.25 s for a million rows, docs/benchmarks.md). Skipped where pyarrow
    is built without jemalloc (Windows)."""
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        pass


def main() -> None:
    """Console-script entry point.

    pyarrow imports pandas the first time it converts values, only to recognise pandas
    objects among them: 0.13 s, a quarter of ingesting a 1,000-row file (docs/
    benchmarks.md). pandas is optional to pyarrow and to DuckDB, so a command of
    WITHOUT_PANDAS refuses its import in its own process, and both proceed as they do
    without it. Only this entry point does so: the library and in-process callers keep
    pandas (tests/test_ingest_events.py runs the command without it; tests/test_api.py
    builds frames)."""
    if len(sys.argv) > 1 and sys.argv[1] in WITHOUT_PANDAS and "pandas" not in sys.modules:
        sys.meta_path.insert(0, _PandasRefused())
    if len(sys.argv) > 1 and sys.argv[1] in WITH_JEMALLOC and "--help" not in sys.argv:
        _ingest_start_up()
    app()


def _ingest_start_up() -> None:
    """The ingesting commands' start-up: Arrow's memory from jemalloc (`_jemalloc`), and
    the modules every ingest needs imported at once with the garbage collector off, then
    frozen. Importing pyarrow, numpy and DuckDB makes hundreds of thousands of objects
    that live as long as the process, and the collector went through them again and again
    as they were made (0.03–0.05 s of a 0.5 s ingest of a small file, docs/benchmarks.md).
    numpy's BLAS library starts no thread of its own (OPENBLAS_NUM_THREADS=1, unless set):
    an ingest does no linear algebra, and its idle threads cost CPU time too."""
    import gc

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    enabled = gc.isenabled()
    gc.disable()
    try:
        _jemalloc()  # (its help needs no pyarrow)
        from ..ingest import pipeline  # noqa: F401 -- imported here, collector off
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
