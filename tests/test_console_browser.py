"""The investigation console in a real browser: Debian's Chromium driven by Playwright
against ``insiderwatch serve`` running in its own process over a simulated company
(tests/console_site.py). Every page visited is checked with axe-core in the light and
the dark colour scheme (serious and critical violations fail) and photographed; the
screenshots land in build/console-screenshots/ (the path is printed at the end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from browser import SCREENSHOTS, axe_violations, chromium, failing
from console_site import ConsoleSite, console_site
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
SCHEMES = ("light", "dark")
# Generous for a loaded 2-core machine; a page that answers at all answers in well under.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def site(tmp_path_factory, request) -> Iterator[ConsoleSite]:
    with console_site(tmp_path_factory.mktemp("console-site")) as built:
        yield built
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nconsole screenshots: {SCREENSHOTS}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as opened:
        yield opened


class Visitor:
    """One user's browser tab: logs in, and checks and photographs every page it sees."""

    def __init__(self, context: BrowserContext, site: ConsoleSite, role: str) -> None:
        self.site, self.role = site, role
        self.context = context
        self.page: Page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.problems: list[str] = []
        self.console_errors: list[str] = []
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )

    def log_in(self) -> Visitor:
        page = self.page
        page.goto(f"{self.site.url}/login")
        page.get_by_label("User name").fill(self.site.users[self.role])
        page.get_by_label("Password").fill(self.site.password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return self

    def check(self, name: str) -> None:
        """axe-core on the page as it is, in both colour schemes, with a screenshot of
        each; serious or critical violations fail the test at its end, all together."""
        for scheme in SCHEMES:
            self.page.emulate_media(color_scheme=scheme)
            self.page.screenshot(
                path=SCREENSHOTS / f"{self.role}-{name}-{scheme}.png", full_page=True
            )
            self.problems += [f"{name} ({scheme}): {p}" for p in failing(axe_violations(self.page))]
        self.page.emulate_media(color_scheme="light")

    def close(self) -> None:
        self.context.close()
        csp = [e for e in self.console_errors if "Content Security Policy" in e]
        assert not csp, f"the page broke its own content security policy: {csp}"
        assert not self.problems, "accessibility:\n" + "\n".join(self.problems)


@pytest.fixture
def visit(browser: Browser, site: ConsoleSite):
    """``visit(role)``: a logged-in tab for a user of ``role``; checked when the test ends."""
    opened: list[Visitor] = []

    def open_as(role: str) -> Visitor:
        visitor = Visitor(browser.new_context(), site, role).log_in()
        opened.append(visitor)
        return visitor

    yield open_as
    for visitor in opened:
        visitor.close()


def test_log_in_and_see_the_start_page(visit, site):
    analyst = visit("analyst")
    analyst.check("home")
    expect(analyst.page.get_by_role("navigation", name="Main")).to_be_visible()


def test_a_wrong_password_is_refused_on_the_login_page(browser, site):
    page = browser.new_page()
    page.goto(f"{site.url}/")
    expect(page).to_have_url(f"{site.url}/login?next=%2F")
    page.get_by_label("User name").fill(site.users["analyst"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    page.close()


def test_the_queue_by_keyboard_and_bulk_triage(visit, site):
    """j/k move through the queue (the current row focused), x selects, / jumps to the
    filters; the selection then goes to triaging in one submit."""
    analyst = visit("analyst")
    page = analyst.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Alert queue", level=1)).to_be_visible()
    analyst.check("queue")
    rows = page.locator("tr[data-row]")
    assert rows.count() >= 2, "the simulated company should raise several alerts"
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(rows.nth(1).get_by_role("link")).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(rows.nth(1)).not_to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("x")
    expect(rows.nth(0).get_by_role("checkbox")).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1 alert selected")
    page.keyboard.press("/")
    expect(page.get_by_label("Severity")).to_be_focused()
    # The skip link is the first stop of the Tab order and leads to the content.
    page.reload()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # Bulk triage: the first alert to triaging.
    chosen = rows.nth(0).get_by_role("checkbox").get_attribute("value")
    rows.nth(0).get_by_role("checkbox").check()
    page.get_by_label("Action").select_option("triaging")
    page.get_by_label("Why", exact=True).fill("looks like a harvest")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_contain_text("1 alert(s) changed")
    analyst.check("bulk-triage")
    page.get_by_role("link", name="Back to the queue").click()
    row = page.locator("tr[data-row]", has=page.locator(f'input[value="{chosen}"]'))
    expect(row).to_contain_text("triaging")


def test_an_investigation_from_alert_to_confirmed_case(visit, site):
    """An investigator filters the queue to new alerts, opens the top one by keyboard,
    triages it, escalates it into a new case and takes the case on; asks to see who the
    employee is; a privacy officer approves; the investigator sees the name and confirms
    the case; an auditor sees each step in the audit log."""
    investigator = visit("investigator")
    page = investigator.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.get_by_label("State").select_option("new")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page).to_have_url(re.compile(r"/alerts\?.*state=new"))
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(r"/alerts/[^/?]+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alert ")
    investigator.check("alert")
    shown = (
        page.locator("xpath=//dt[normalize-space()='Employee']/following-sibling::dd[1]")
        .inner_text()
        .strip()
    )
    assert shown.startswith("anon-"), f"staff must be pseudonymised, got {shown!r}"
    # Triaged, then into a new case.
    page.get_by_label("Move to").select_option("triaging")
    page.get_by_label("Why", exact=True).fill("no case explains it")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("dl.facts")).to_contain_text("triaging")
    page.get_by_label("Move to").select_option("escalated")
    page.get_by_label("or the title of a new case").fill("Customer data taken out")
    page.get_by_label("Why", exact=True).fill("exported with no case")
    page.get_by_role("button", name="Move", exact=True).click()
    case_link = page.get_by_role("link", name=re.compile(r"^case \d+$"))
    expect(case_link).to_be_visible()
    case_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customer data taken out")
    page.get_by_label("Move to").select_option("investigating")
    page.get_by_label("Why", exact=True).fill("taking it on")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("dl.facts")).to_contain_text("investigating")
    investigator.check("case")
    # Who is it? Asked with a reason from the employee's page ...
    case_url = page.url
    page.goto(f"{site.url}/employees/{shown}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(shown)
    investigator.check("employee-masked")
    page.get_by_text("Ask to see who this is").click()
    page.get_by_label("Why you need to know").fill("confirmed case needs the person")
    page.get_by_role("button", name="Request unmasking").click()
    # ... approved by a privacy officer, never the requester ...
    officer = visit("privacy_officer")
    officer.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Unmasking"
    ).click()
    expect(officer.page.get_by_role("cell", name=shown).first).to_be_visible()
    officer.check("unmask-pending")
    officer.page.get_by_role("button", name=re.compile(r"^Approve #\d+$")).first.click()
    officer.check("unmask-decided")
    # ... and only then does the investigator see the name.
    page.goto(f"{site.url}/employees/{shown}")
    unmasked = page.get_by_role("status")
    expect(unmasked).to_contain_text("Unmasked for you")
    expect(unmasked).to_contain_text(site.employee_behind(shown))
    investigator.check("employee-unmasked")
    page.goto(case_url)
    # Confirmed.
    page.get_by_label("Move to").select_option("confirmed")
    page.get_by_label("Why", exact=True).fill("the export went to a personal mailbox")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("dl.facts")).to_contain_text("confirmed")
    # Who watched the watchers: the auditor sees every step.
    auditor = visit("auditor")
    auditor.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Audit log"
    ).click()
    log = auditor.page.get_by_role("table", name="Audit entries, newest first")
    for action in ("unmask.request", "unmask.approve", "case."):
        expect(log).to_contain_text(action)
    auditor.check("audit")


def test_attribute_a_leak(visit, site):
    investigator = visit("investigator")
    page = investigator.page
    page.get_by_role("link", name="Leak attribution").first.click()
    expect(page.get_by_role("heading", name="Leak attribution", level=1)).to_be_visible()
    investigator.check("attribution-form")
    page.get_by_label("File (CSV, text or JSON Lines").set_input_files(
        files=[{"name": "found.csv", "mimeType": "text/csv", "buffer": site.leak_csv}]
    )
    page.get_by_role("button", name="Find the source").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible()
    shown = pseudonym(KEY, site.leaker)
    first = page.locator("#suspects tbody tr").first
    expect(first).to_contain_text(shown)
    expect(first).to_contain_text("leaker")
    expect(verdict).to_contain_text(shown)
    assert site.leaker not in page.content()  # staff stay pseudonyms
    investigator.check("attribution-result")
