"""Browser tests of the desk: a real headless Chromium (Debian's, driven by Playwright) against
the bench's desk, served with its built assets by a web server these tests start and stop.

Without a bench, its built assets, Chromium or Playwright the whole folder is skipped with one
reason. The app must already be installed on the site (scripts/run_tests.sh installs this tree
before it runs them); the tests prepare their data through `bench execute` of
`o2o_sync.setup.browser_scenarios`, on a site that allows tests.

Run: `.venv/bin/python -m pytest browser_tests -q -p no:cacheprovider` (settings: desk_harness).
"""

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from desk import Desk, Shots
from desk_harness import ADMIN_PASSWORD, CHROMIUM, CHROMIUM_ARGS, Bench, Servers, skip_reason

SKIP_REASON = skip_reason()


def _screenshot_folder() -> Path:
	if folder := os.environ.get("O2O_SCREENSHOTS"):
		return Path(folder).resolve()
	return Path(__file__).parent / "screenshots" / time.strftime("%Y%m%d-%H%M%S")


SCREENSHOTS = _screenshot_folder()


def pytest_report_header(config):
	return f"browser tests: skipped, {SKIP_REASON}" if SKIP_REASON else f"screenshots: {SCREENSHOTS}"


def pytest_sessionstart(session):
	reporter = session.config.pluginmanager.get_plugin("terminalreporter")
	if reporter is not None and session.config.option.verbose < 0:  # -q hides the report header
		reporter.write_line(pytest_report_header(session.config))


# when the desk cannot be driven here, nothing is collected and the one line above says why
collect_ignore_glob = ["test_*.py"] if SKIP_REASON else []


def pytest_sessionfinish(session, exitstatus):
	if SKIP_REASON and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
		session.exitstatus = pytest.ExitCode.OK


@pytest.fixture(scope="session")
def bench():
	return Bench()


@pytest.fixture(scope="session")
def site_data(bench):
	"""The demo portal pulled once into the browser company (`browser_scenarios.prepare_site`)."""
	return bench.execute("o2o_sync.setup.browser_scenarios.prepare_site")


@pytest.fixture(scope="session")
def servers(bench):
	SCREENSHOTS.mkdir(parents=True, exist_ok=True)
	started = Servers(bench, SCREENSHOTS).start()  # server logs next to the screenshots
	yield started
	started.stop()


@pytest.fixture(scope="session")
def shots():
	return Shots(SCREENSHOTS)


@pytest.fixture(scope="session")
def browser_context(servers, shots):
	"""A headless Chromium logged in as Administrator (the login page and the desk it opens are
	the session's first screenshots)."""
	from playwright.sync_api import sync_playwright

	with sync_playwright() as playwright:
		browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
		context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-IN")
		context.set_default_timeout(60_000)
		page = context.new_page()
		page.goto(f"{servers.base_url}/login", wait_until="networkidle")
		page.fill("#login_email", "Administrator")
		page.fill("#login_password", ADMIN_PASSWORD)
		shots.take(page, "login", "login-page")
		page.click(".btn-login")
		page.wait_for_url("**/app**")
		page.wait_for_function(
			"() => window.frappe && frappe.boot && frappe.session.user === 'Administrator'"
		)
		page.wait_for_timeout(1000)
		shots.take(page, "login", "logged-in")
		page.close()
		yield context
		# end the session: its id is in the web server's log (socket.io checks it by URL)
		context.request.get(f"{servers.base_url}/api/method/logout")
		context.close()
		browser.close()


@pytest.fixture
def desk(request, browser_context, servers, shots):
	"""A fresh page of the logged-in desk (Administrator); fails the test on a JavaScript error
	or a 5xx answer."""
	page = browser_context.new_page()
	test = request.node.name.removeprefix("test_")
	person = Desk(page, servers.base_url, shots, test)
	yield person
	page.close()
	person.check_no_errors()
