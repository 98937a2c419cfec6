"""Retry from the desk and Pull now's progress, without a portal: what gets queued, for whom,
and what the user who clicked is told (issue 8, "The operator's desk").

The jobs themselves run against a real portal in `test_operator_cli` (retry of a failed pull,
a pull with progress events per batch).
"""

from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from o2o_sync.constants import CONFLICT, FAILED, ORIGIN_PORTAL, PENDING, PULL, PUSH, SUCCESS, SYNCED
from o2o_sync.sync import desk, desk_retry, pull_progress

test_ignore = ["Purchase Invoice"]

BASE_ID = 975000
ACCOUNTS_USER = "o2o-retry-accounts-user@example.com"


def make_mapping(n: int, status: str, vendor=5, **values) -> str:
	doc = frappe.get_doc(
		{
			"doctype": "Sync Mapping",
			"procureuat_id": BASE_ID + n,
			"procureuat_vendor_id": vendor,
			"origin": ORIGIN_PORTAL,
			"status": status,
			**values,
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def make_log(operation, status, direction=PULL, **values) -> str:
	return (
		frappe.get_doc(
			{
				"doctype": "Sync Log",
				"direction": direction,
				"operation": operation,
				"status": status,
				"message": f"{operation} {status}",
				**values,
			}
		)
		.insert(ignore_permissions=True, ignore_links=True)  # a deleted invoice's row
		.name
	)


class Enqueued:
	"""`frappe.enqueue` replaced: records (method, kwargs) instead of queueing."""

	def __init__(self):
		self.calls = []

	def __call__(self, method, **kwargs):
		self.calls.append((method, kwargs))

	def of(self, method):
		return [kwargs for m, kwargs in self.calls if m == method]


class TestDeskRetry(FrappeTestCase):
	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def retry(self, fn, names):
		enqueued = Enqueued()
		with (
			patch("frappe.enqueue", enqueued),
			patch("frappe.utils.background_jobs.is_job_enqueued", return_value=False),
		):
			result = fn(names)
		return result, enqueued

	def test_retry_of_failed_sync_log_rows_queues_what_failed(self):
		make_mapping(1, FAILED, vendor=5)
		make_mapping(1, SYNCED, vendor=6)  # the same requisition's other vendor went through
		rows = [
			make_log("Create", FAILED, procureuat_id=BASE_ID + 1),
			make_log("Update", FAILED, procureuat_id=BASE_ID + 2),  # no mapping: the whole requisition
			make_log("Create", SUCCESS, procureuat_id=BASE_ID + 3),
			make_log("Pull Run", FAILED),
			make_log("Test Connection", FAILED),
			make_log(
				"Push",
				FAILED,
				direction=PUSH,
				reference_doctype="Purchase Invoice",
				reference_name="ACC-PINV-NONE-1",
			),
		]
		result, enqueued = self.retry(desk_retry.retry_sync_logs, [*rows, "no-such-row"])

		pulls = enqueued.of(desk_retry.RETRY_PULL_JOB)
		self.assertEqual(len(pulls), 1)
		self.assertEqual(pulls[0]["requisition_ids"], [BASE_ID + 1, BASE_ID + 2])
		self.assertEqual(pulls[0]["keys"], [[BASE_ID + 1, 5]])  # not the vendor that went through
		self.assertEqual(pulls[0]["queue"], "long")
		# the failed Pull Run: a whole pull, through Pull now's job
		self.assertEqual([k["job_id"] for k in enqueued.of(desk.PULL_JOB)], [desk.PULL_JOB_ID])
		self.assertEqual(desk.PULL_JOB, "o2o_sync.sync.pull_progress.run_pull_job")
		self.assertEqual(result["queued"]["pull"], [BASE_ID + 1, BASE_ID + 2])
		self.assertTrue(result["queued"]["pull_run"])
		skipped = {s["name"]: s["reason"] for s in result["skipped"]}
		self.assertEqual(set(skipped), {rows[2], rows[4], rows[5], "no-such-row"})
		self.assertIn("not Failed", skipped[rows[2]])
		self.assertIn("no longer exists", skipped[rows[5]])
		self.assertIn("Queued: pull of requisition(s)", result["message"])

	def test_retry_of_mappings_skips_synced_and_conflicts(self):
		failed = make_mapping(11, FAILED)
		pending = make_mapping(12, PENDING)
		conflict = make_mapping(13, CONFLICT)
		synced = make_mapping(14, SYNCED)
		result, enqueued = self.retry(desk_retry.retry_mappings, [failed, pending, conflict, synced])
		self.assertEqual(
			enqueued.of(desk_retry.RETRY_PULL_JOB)[0]["keys"], [[BASE_ID + 11, 5], [BASE_ID + 12, 5]]
		)
		skipped = {s["name"]: s["reason"] for s in result["skipped"]}
		self.assertEqual(set(skipped), {conflict, synced})
		self.assertIn("Conflict", skipped[conflict])

	def test_retry_needs_a_manager_and_post(self):
		if not frappe.db.exists("User", ACCOUNTS_USER):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": ACCOUNTS_USER,
					"first_name": "Accounts User",
					"send_welcome_email": 0,
					"roles": [{"role": "Accounts User"}],
				}
			).insert(ignore_permissions=True)
		row = make_log("Create", FAILED, procureuat_id=BASE_ID + 21)
		mapping = make_mapping(21, FAILED)
		frappe.set_user(ACCOUNTS_USER)
		for fn, names in ((desk_retry.retry_sync_logs, [row]), (desk_retry.retry_mappings, [mapping])):
			with self.assertRaises(frappe.PermissionError):
				self.retry(fn, names)
		frappe.set_user("Administrator")
		for fn in (desk_retry.retry_sync_logs, desk_retry.retry_mappings):
			self.assertEqual(frappe.allowed_http_methods_for_whitelisted_func[fn], ["POST"])


class TestPullNowProgress(FrappeTestCase):
	"""`desk.enqueue_pull` queues `pull_progress.run_pull_job`, which tells the user who
	clicked each batch and the end; the pull itself is replaced here (see test_operator_cli
	for a real one)."""

	def run_job(self, fake_run_pull, user="Administrator"):
		sent = []
		with (
			patch.object(pull_progress, "run_pull", fake_run_pull),
			patch(
				"frappe.publish_realtime",
				lambda event, message, user=None, **kw: sent.append((event, message, user)),
			),
		):
			frappe.set_user(user)
			try:
				result = pull_progress.run_pull_job(limit="30")
			except Exception as e:
				result = e
			finally:
				frappe.set_user("Administrator")
		return result, sent

	def test_a_run_stopped_at_its_budget_says_it_goes_on_and_its_continuation_tells_the_same_user(self):
		seen = {}

		def fake_run_pull(from_date=None, limit=None, on_batch=None, continuation=None, **kwargs):
			seen["continuation"] = continuation
			on_batch({"created": 5, "updated": 0, "failed": 0}, 5, 1)
			return {"created": 5, "updated": 0, "failed": 0, "batches": 1, "continued": 1}

		_result, sent = self.run_job(fake_run_pull)
		self.assertEqual([m["stage"] for _e, m, _u in sent], ["batch", "continued"])
		self.assertEqual(sent[-1][1]["read"], 5)
		method, kwargs = seen["continuation"]
		self.assertEqual(method, "o2o_sync.sync.pull_progress.run_pull_job")
		self.assertEqual(kwargs["user"], "Administrator")

	def test_each_batch_then_the_summary_to_the_user_who_started_it(self):
		def fake_run_pull(from_date=None, limit=None, on_batch=None, **kwargs):
			self.assertEqual(limit, 30)
			on_batch({"created": 10, "updated": 0, "failed": 0}, 10, 1)
			on_batch({"created": 18, "updated": 1, "failed": 1}, 20, 2)
			return {"created": 18, "updated": 1, "failed": 1, "batches": 2}

		result, sent = self.run_job(fake_run_pull)
		self.assertEqual(result["created"], 18)
		self.assertEqual({e for e, _m, _u in sent}, {pull_progress.PULL_PROGRESS_EVENT})
		self.assertEqual({u for _e, _m, u in sent}, {"Administrator"})
		messages = [m for _e, m, _u in sent]
		self.assertEqual([m["stage"] for m in messages], ["batch", "batch", "done"])
		self.assertEqual(
			messages[1],
			{
				"stage": "batch",
				"read": 20,
				"batches": 2,
				"limit": 30,
				"created": 18,
				"updated": 1,
				"unchanged": 0,
				"failed": 1,
				"conflict": 0,
			},
		)
		self.assertEqual(messages[2]["summary"], "created 18, updated 1, failed 1, batches 2")

	def test_busy_and_unreachable_are_told_too(self):
		_result, sent = self.run_job(lambda **kw: {"status": "busy"})
		self.assertEqual([m["stage"] for _e, m, _u in sent], ["busy"])

		def unreachable(**kw):
			raise ConnectionError("SSH bastion 10.0.0.9:22 unreachable")

		result, sent = self.run_job(unreachable)
		self.assertIsInstance(result, ConnectionError)  # re-raised: the job is marked failed
		self.assertEqual(sent[0][1], {"stage": "failed", "message": "SSH bastion 10.0.0.9:22 unreachable"})
