"""A person at the desk, for the browser tests: open a route and wait until the desk has
settled, click a button by its label wherever Frappe put it, read what the server says
through the page's own session, and save a screenshot of each step."""

import re
import time
from pathlib import Path

#: Seconds to wait for a page, a button or a background job (the worker runs it).
TIMEOUT = 60


class Shots:
	"""Numbered screenshots of the session's steps: `<folder>/<NN>-<test>-<step>.png`."""

	def __init__(self, folder: Path):
		self.folder = folder
		self.count = 0

	def take(self, page, test: str, step: str) -> Path:
		"""Save what the page shows now (the viewport, as a person sees it); returns the file."""
		self.count += 1
		slug = re.sub(r"[^a-z0-9]+", "-", f"{test}-{step}".lower()).strip("-")
		path = self.folder / f"{self.count:02d}-{slug}.png"
		page.screenshot(path=str(path))
		return path


class Desk:
	"""One browser page logged in to the desk of `base_url`."""

	def __init__(self, page, base_url: str, shots: Shots, test: str):
		self.page = page
		self.base_url = base_url
		self.shots = shots
		self.test = test
		self.errors: list[str] = []
		page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
		page.on(
			"response",
			lambda r: (
				self.errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 500 else None
			),
		)

	def shot(self, step: str) -> Path:
		"""A screenshot of this step (after the desk settled)."""
		self.settle()
		return self.shots.take(self.page, self.test, step)

	def open(self, route: str) -> None:
		"""Go to `route` ("/app/sync-log") and wait until the desk has drawn it."""
		self.page.goto(self.base_url + route, wait_until="domcontentloaded")
		self.page.wait_for_function(
			"() => window.frappe && frappe.boot && frappe.router", timeout=TIMEOUT * 1000
		)
		self.settle()

	def settle(self) -> None:
		"""Wait until no request is in flight and nothing freezes the screen."""
		try:
			self.page.wait_for_load_state("networkidle", timeout=TIMEOUT * 1000)
		except Exception:  # long polling can keep the network busy; the checks below still hold
			pass
		self.page.wait_for_function(
			"() => !window.frappe || !frappe.dom || !frappe.dom.freeze_count", timeout=TIMEOUT * 1000
		)
		self.page.wait_for_timeout(300)  # let the last render paint

	def call(self, method: str, **args):
		"""`frappe.xcall(method, args)` in the page: the server's answer, with the page's session
		(its user and permissions)."""
		return self.page.evaluate("([m, a]) => frappe.xcall(m, a)", [method, args])

	def count(self, doctype: str, filters: dict | list | None = None) -> int:
		"""How many `doctype` rows match `filters`, as `frappe.client.get_count` says."""
		return int(self.call("frappe.client.get_count", doctype=doctype, filters=filters or {}))

	def value(self, doctype: str, name: str, fieldname: str):
		"""One field of one document (`frappe.client.get_value`)."""
		found = self.call("frappe.client.get_value", doctype=doctype, filters=name, fieldname=fieldname)
		return (found or {}).get(fieldname)

	def wait_for(self, what: str, check, timeout: float = TIMEOUT):
		"""Poll `check()` every second until it returns something truthy; returns that.
		Raises AssertionError naming `what` after `timeout` seconds."""
		deadline = time.monotonic() + timeout
		while True:
			result = check()
			if result:
				return result
			if time.monotonic() > deadline:
				raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {result!r})")
			self.page.wait_for_timeout(1000)

	def button(self, label: str):
		"""The visible button a person would click for `label`: a page or form button, else the
		item of a button group or the Actions / ... menu (opened first)."""
		page = self.page
		exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
		direct = page.locator("button:visible, a.btn:visible").filter(has_text=exact)
		if direct.count():
			return direct.first
		# a group of custom buttons (`add_custom_button(label, fn, group)`), the list's Actions
		# menu, the page's "..." menu
		for toggle in page.locator(
			".page-actions .inner-group-button > button:visible, .page-actions .actions-btn-group > button:visible,"
			" .page-actions .menu-btn-group > button:visible"
		).all():
			toggle.click()
			item = page.locator(".dropdown-menu.show .dropdown-item:visible").filter(has_text=exact)
			if item.count():
				return item.first
			page.keyboard.press("Escape")
		raise AssertionError(f"no button or menu item labelled {label!r} on {page.url}")

	def click(self, label: str) -> None:
		"""Click the button labelled `label` (see `button`)."""
		self.button(label).click()

	def confirm_if_asked(self) -> bool:
		"""Answer Yes to a confirmation dialog when one opened; True when there was one."""
		dialog = self.page.locator(".modal.show .modal-footer .btn-primary:visible")
		try:
			dialog.first.wait_for(state="visible", timeout=2000)
		except Exception:
			return False
		dialog.first.click()
		return True

	def check_no_errors(self) -> None:
		"""Fail when the page raised a JavaScript error or the server answered 5xx."""
		assert not self.errors, "the desk reported errors:\n" + "\n".join(self.errors[:20])
