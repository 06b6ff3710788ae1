"""Headless Chromium for the HTML report: one function used by the browser test and by
`make screenshots` (python -m tests.browser PAGE.html SHOT.png [WIDTHxHEIGHT])."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Chromium's flags on a machine with no network and no screen (as root in CI): no sandbox,
#: no GPU, and none of the background connections a closed network refuses.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, shot: Path, width: int = 1280, height: int = 1600) -> Path:
    """Open `page` in headless Chromium and save what a window of that size shows."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed (make browser)")
    shot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={shot.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return shot


if __name__ == "__main__":
    size = sys.argv[3] if len(sys.argv) > 3 else "1280x1600"
    w, h = (int(v) for v in size.split("x"))
    print(screenshot(Path(sys.argv[1]), Path(sys.argv[2]), w, h))
