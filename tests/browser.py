"""Debian's Chromium driven by Playwright, and axe-core run inside the pages.

Chromium comes from ``tools/provision.sh`` (apt package ``chromium``), never from
Playwright's own download, and starts with networking to Google's services off (the
machine's network is closed; without the flags Chromium retries them at every start).
axe-core is the vendored, pinned file of ``tools/vendor_axe.sh``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "browser_assets" / "axe.min.js"
# Violations of these impacts fail a page; "minor" and "moderate" are reported only.
FAILING_IMPACTS = ("serious", "critical")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "console-screenshots"


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run tools/provision.sh as root "
            "(installs the Debian package chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now, each with its impact and nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the console's content security
        # policy (scripts from its own origin only) does not govern; a script tag would be
        # refused, and bypassing the policy would hide the site's own violations.
        page.evaluate(_axe_source() + "\n;true")
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }""",
        AXE_TAGS,
    )


@cache
def _axe_source() -> str:
    return AXE.read_text()


def failing(violations: list[dict]) -> list[str]:
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]
