"""Sync Log `summary` (issue 8): the message's first line, which the Sync Log list now shows,
for the rows written before the field existed. One UPDATE; idempotent (only empty summaries).
New rows get it when written (`bookkeeping.write_logs`, `SyncLog.before_insert`)."""

import frappe

from o2o_sync.constants import SYNC_LOG
from o2o_sync.o2o_sync.doctype.sync_log.sync_log import SUMMARY_LENGTH


def execute():
	"""Fill `summary` with the first line of `message`, cut to `SUMMARY_LENGTH` characters."""
	frappe.db.sql(
		f"""update `tab{SYNC_LOG}`
		set summary = left(trim(substring_index(replace(trim(message), '\\r', ''), '\\n', 1)), %s)
		where (summary is null or summary = '') and message is not null""",
		(SUMMARY_LENGTH,),
	)
