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


#: What a page prints on: A4 (210 mm) less Chromium's default 1 cm margins, in CSS pixels
#: (96 per inch).
A4_WIDTH = round((210 - 20) / 25.4 * 96)

#: Measures the page as laid out (for print: its @media print rules applied to the screen)
#: and writes what sticks out of the window, or is clipped inside its box, into the DOM.
_MEASURE = """
<script>
(function () {
  if (%(print)s) {
    for (const sheet of document.styleSheets) {
      for (const rule of Array.from(sheet.cssRules)) {
        if (rule.media && rule.media.mediaText.includes("print")) {
          for (const inner of Array.from(rule.cssRules)) {
            sheet.insertRule(inner.cssText, sheet.cssRules.length);
          }
        }
      }
    }
  }
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || el.closest("script")) continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
    if (box.right > width + 1) out.push(name + " right=" + Math.round(box.right));
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible"
        && el.clientWidth > 0) out.push(name + " clipped " + el.scrollWidth + ">" + el.clientWidth);
  }
  const pre = document.createElement("pre");
  pre.id = "overflow-report";
  pre.textContent = JSON.stringify({width: width, overflow: out});
  document.body.appendChild(pre);
})();
</script>
"""


def overflow(page: Path, width: int, *, print_rules: bool = False) -> list[str]:
    """The elements of `page` that stick out of a `width`-pixel window (or are clipped),
    as laid out on screen or, with `print_rules`, with its @media print rules."""
    import json
    import re

    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed (make browser)")
    html = page.read_text(encoding="utf-8")
    probe = _MEASURE % {"print": "true" if print_rules else "false"}
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
        dom = subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={folder}/profile",
                f"--window-size={width},1200",
                "--dump-dom",
                copy.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    found = re.search(r'<pre id="overflow-report">(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError("the page's measure did not run")
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&gt;", ">"))
    if abs(result["width"] - width) > 20:  # the window is what was asked (less a scroll bar)
        raise RuntimeError(f"window {result['width']} px, not {width}")
    return list(result["overflow"])


if __name__ == "__main__":
    size = sys.argv[3] if len(sys.argv) > 3 else "1280x1600"
    w, h = (int(v) for v in size.split("x"))
    print(screenshot(Path(sys.argv[1]), Path(sys.argv[2]), w, h))
