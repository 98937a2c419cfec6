"""Portal edits for tests: change a requisition or a line the way the portal does.

The portal moves `updated_at` to NOW() on every edit, which is what the pull's change
detection keys on (contract, "What maps to what"). Test-only: the runtime builders
of portal rows are in `o2o_sync.setup.portal_rows`.
"""

from o2o_sync.setup.portal_rows import LINE_COLUMNS, REQUISITION_COLUMNS, round_paisa


def _update(conn, table: str, allowed: frozenset, row_id: int, changes: dict) -> None:
	unknown = set(changes) - allowed - {"id"}
	if unknown or "id" in changes:
		raise ValueError(
			f"cannot set {table} column(s): {', '.join(sorted(unknown | ({'id'} & set(changes))))}"
		)
	assignments = [f"`{c}` = %s" for c in changes]
	params = list(changes.values())
	if "updated_at" not in changes:
		assignments.append("`updated_at` = NOW()")
	with conn.cursor() as cur:
		cur.execute(f"UPDATE `{table}` SET {', '.join(assignments)} WHERE id = %s", [*params, row_id])
		if cur.rowcount == 0:
			cur.execute(f"SELECT 1 FROM `{table}` WHERE id = %s", (row_id,))
			if not cur.fetchone():
				raise LookupError(f"no {table} row with id {row_id}")


def touch_invoice(conn, requisition_id: int, **changes) -> None:
	"""Edit a requisition the way the portal does: set `changes` and move `updated_at` to NOW().

	NOW() is the database server's clock, to the second; pass ``updated_at=`` to set it
	instead. Raises ValueError for an unknown column, LookupError when the row is missing.
	"""
	_update(conn, "purchase_requisitions", REQUISITION_COLUMNS, requisition_id, changes)


def touch_line(conn, line_id: int, **changes) -> None:
	"""Edit an invoice line: set `changes` and move its `updated_at` to NOW() (seconds).

	When cost or gst_amt changes and total_amt is not given, total_amt becomes their
	new sum. Raises ValueError for an unknown column, LookupError when the row is missing.
	"""
	changes = dict(changes)
	if ("cost" in changes or "gst_amt" in changes) and "total_amt" not in changes:
		with conn.cursor() as cur:
			cur.execute(
				"SELECT cost + 0 AS cost, gst_amt + 0 AS gst_amt FROM purchase_order_items WHERE id = %s",
				(line_id,),
			)
			row = cur.fetchone()
		if row is None:
			raise LookupError(f"no purchase_order_items row with id {line_id}")
		cost = changes.get("cost", row["cost"] if isinstance(row, dict) else row[0])
		gst = changes.get("gst_amt", row["gst_amt"] if isinstance(row, dict) else row[1])
		if cost is not None and gst is not None:
			changes["total_amt"] = round_paisa(cost) + round_paisa(gst)
	_update(conn, "purchase_order_items", LINE_COLUMNS, line_id, changes)
