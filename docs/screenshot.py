#!/usr/bin/env python
"""Regenerate docs/report.png, the README's picture of the bundled sample's report.

Writes the report of ``sample_traces/agent_cost_session.jsonl`` (priced, with its alert
rules, as the README shows it) and takes a screenshot of its top in Debian's headless
chromium, the network refused. Needs the test extra (playwright) and /usr/bin/chromium:

    python docs/screenshot.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "report.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        subprocess.run(
            [sys.executable, "-m", "mcpobs.cli", "report", "sample_traces/agent_cost_session.jsonl",
             "--prices", "sample_traces/prices.yaml", "--rules", "sample_traces/alerts.yaml",
             "--html", str(page_file)],
            cwd=ROOT,
            check=True,
        )  # fmt: skip
        url = page_file.as_uri()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1500})

            def offline(route: Route) -> None:
                route.continue_() if route.request.url == url else route.abort()

            page.route("**/*", offline)
            page.goto(url)
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.vega')).every((e) => e.dataset.rendered)", timeout=30_000
            )
            page.screenshot(path=str(OUT))
            browser.close()
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
