"""Every output a person or a script reads from the demo, written to one folder, so that two
versions of the tool can be compared byte for byte (`diff -r`): the report in each format
(PNG charts included), the section commands, `status` and `history`.

    python -m tests.capture_outputs DATA_DIR OUT_DIR [EXTRA OPTION...]

DATA_DIR is a demo store (`rse-adoption demo --data-dir`, then `report --history` once for
`history`); EXTRA options (`--lang en`) are added to every command that takes them. The
generation time (HTML, JSON) is masked: it is the only thing that changes from run to run.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from rse_adoption.cli import app

GENERATED = re.compile(r'Généré le [^<]*? par|Generated [^ <]+ by|"generated_at": "[^"]*"')
SECTIONS = ("ambassadors", "communities", "transitions", "personas")


def capture(data: Path, out: Path, extra: list[str]) -> list[str]:
    """Write each output to `out`; returns the names written."""
    runner = CliRunner()
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def run(name: str, *args: str, stdout: bool = True) -> None:
        result = runner.invoke(app, [*args, "--data-dir", str(data), *extra])
        assert result.exit_code == 0, (args, result.stderr)
        if stdout:
            text = GENERATED.sub("GENERATED", result.stdout)
            (out / name).write_text(text, encoding="utf-8")
            written.append(name)

    for fmt in ("table", "md", "html", "csv", "json"):
        run(f"report.{fmt}", "report", "--format", fmt)
    run("report-lyon.table", "report", "--site", "Lyon")
    run("report-lyon.html", "report", "--site", "Lyon", "--format", "html")
    run(
        "charts", "report", "--format", "png", "--out", str(out / "charts"), "--quiet", stdout=False
    )
    written += [f"charts/{p.name}" for p in sorted((out / "charts").iterdir())]
    for section in SECTIONS:
        for fmt in ("table", "html", "csv", "json"):
            run(f"{section}.{fmt}", section, "--format", fmt)
    run("status.txt", "status")
    run("history.txt", "history")
    return written


if __name__ == "__main__":
    names = capture(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    print(f"{len(names)} outputs in {sys.argv[2]}")
