"""Start-up (issue 34, item 4): what the `ingest` command's process does not import. A
cron run pays for every module at each start; these are not needed to ingest a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NOT_FOR_INGEST = (
    "rse_adoption.model",  # the report's result objects (loaded by csv_report for its dialects)
    "rse_adoption.fetch.m365",  # fetch m365's machinery (its command only needs the names)
    "rse_adoption.metrics.report",
)


def test_the_ingest_command_loads_neither_the_report_model_nor_the_fetchers(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n", encoding="utf-8"
    )
    program = (
        "import sys\n"
        "from rse_adoption.cli import main\n"
        f"sys.argv = ['rse-adoption', 'ingest', {str(log)!r}, '--data-dir', "
        f"{str(tmp_path / 'data')!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\n"
        f"print(code, *[m in sys.modules for m in {NOT_FOR_INGEST!r}], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stderr.split()[-4:] == ["0", "False", "False", "False"], done.stderr
    assert json.loads(done.stdout)["rows_ingested"] == 1


def _memory_pool(tmp_path: Path, command: str, env: dict[str, str]) -> str:
    """The Arrow memory pool a command's process allocates from, as it ends (the command
    run on an empty store: it exits at once)."""
    program = (
        "import sys\n"
        "from rse_adoption.cli import main\n"
        f"sys.argv = ['rse-adoption', {command!r}, '--data-dir', 'none']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "import pyarrow\n"
        "print(pyarrow.default_memory_pool().backend_name, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    return done.stderr.split()[-1]


def test_ingesting_commands_allocate_arrow_memory_with_jemalloc(tmp_path: Path) -> None:
    """mimalloc, Arrow's default, gives freed pages back and faults them in again at each
    batch (docs/benchmarks.md, "Event logs with site and space"); a user's own choice of
    pool (ARROW_DEFAULT_MEMORY_POOL) stands."""
    import os

    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc keeps its default
        expected = pa.default_memory_pool().backend_name
    else:
        expected = "jemalloc"
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    assert _memory_pool(tmp_path, "ingest", env) == expected
    assert _memory_pool(tmp_path, "fetch", env) == expected
    assert _memory_pool(tmp_path, "status", env) != "jemalloc"
    chosen = env | {"ARROW_DEFAULT_MEMORY_POOL": "system"}
    assert _memory_pool(tmp_path, "ingest", chosen) == "system"


def test_the_ingest_commands_start_up_imports_without_collections(tmp_path: Path) -> None:
    """The modules an ingest needs are imported with the garbage collector off, then
    frozen (the collector no longer goes through them), and numpy's BLAS starts no
    threads; the collector is on again for the ingest itself."""
    log = tmp_path / "log.csv"
    log.write_text(
        "timestamp,user,event_type\n2026-03-02T09:00:00Z,a@x.fr,post\n", encoding="utf-8"
    )
    program = (
        "import gc, os, sys\n"
        "from rse_adoption.cli import main\n"
        f"sys.argv = ['rse-adoption', 'ingest', {str(log)!r}, '--data-dir', "
        f"{str(tmp_path / 'data')!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10000, "
        "os.environ.get('OPENBLAS_NUM_THREADS'), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env)
    assert done.stderr.split()[-3:] == ["True", "True", "1"], done.stderr
