"""The nightly sequence as cron runs it — no TTY, a minimal environment and PATH — twice in a
row: exit 0 both times, nothing added the second time, the same figures, no colour or
progress bar in the output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rse_adoption.demo import write_demo

BIN = Path(sys.executable).parent / "rse-adoption"


def nightly(exports: Path, data: Path, www: Path) -> list[subprocess.CompletedProcess[str]]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data.parent), "LANG": "C"}
    steps = [
        [str(BIN), "directory", str(exports / "directory.csv"), "--data-dir", str(data)],
        [str(BIN), "ingest", str(exports / "events"), "--data-dir", str(data), "--json"],
        [str(BIN), "prune", "--data-dir", str(data), "--keep-days", "100000", "--quiet"],
        # as examples/cron orders them: `--out www/` creates the folder, a file path does not
        [str(BIN), "report", "--data-dir", str(data), "--format", "html", "--out", str(www) + "/"],
        [
            str(BIN),
            "report",
            "--data-dir",
            str(data),
            "--format",
            "json",
            "--out",
            str(www / "report.json"),
        ],
        [str(BIN), "status", "--data-dir", str(data), "--json"],
    ]
    return [
        subprocess.run(step, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        for step in steps
    ]


def test_the_nightly_sequence_twice(tmp_path: Path) -> None:
    exports, data, www = tmp_path / "exports", tmp_path / "data", tmp_path / "www"
    write_demo(exports)
    first = nightly(exports, data, www)
    assert [r.returncode for r in first] == [0] * 6, [r.stderr for r in first]
    report_one = json.loads((www / "report.json").read_text())
    second = nightly(exports, data, www)
    assert [r.returncode for r in second] == [0] * 6, [r.stderr for r in second]
    ingest_two = json.loads(second[1].stdout)
    assert ingest_two["rows_ingested"] == 0 and ingest_two["files_unchanged"] == ingest_two["files"]
    report_two = json.loads((www / "report.json").read_text())
    for report in (report_one, report_two):
        report.pop("generated_at")
    assert report_one == report_two
    assert (www / "report.html").exists()
    output = "".join(r.stdout + r.stderr for r in first + second)
    assert "\x1b[" not in output  # no colour or cursor control under cron
    assert "Traceback" not in output
