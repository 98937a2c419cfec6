"""The o2o_sync sync (docs/architecture.md): the entry points by role live here (`jobs`,
`scheduler`, `events`, `desk`, `sync_utils`, ...), each layer in a package beneath them:
`model/` and `engine/` (Frappe-free), `portal/` (ProcureUAT), `frappe_port/` (ERPNext).

Modules that moved into those packages keep their old dotted paths for one release
(`MOVED`): a pickled or queued reference to `o2o_sync.sync.pull` still finds the module,
now `o2o_sync.sync.engine.pull.run`, as the same module object.
"""

import importlib
import importlib.abc
import importlib.util
import sys

#: {old dotted path: module it is now}; kept for one release (remove in the next).
MOVED = {
	**{
		f"o2o_sync.sync.{name}": f"o2o_sync.sync.model.{name}"
		for name in (
			"records",
			"columns",
			"spec",
			"mapping",
			"gst",
			"money",
			"rules",
			"merge",
			"errors",
			"port",
		)
	},
	"o2o_sync.sync.pull": "o2o_sync.sync.engine.pull.run",
	"o2o_sync.sync.pull_run": "o2o_sync.sync.engine.pull.run",
	"o2o_sync.sync.pull_decisions": "o2o_sync.sync.engine.pull.decisions",
	"o2o_sync.sync.pull_masters": "o2o_sync.sync.engine.pull.masters",
	"o2o_sync.sync.push": "o2o_sync.sync.engine.push.engine",
	"o2o_sync.sync.push_rows": "o2o_sync.sync.engine.push.rows",
	"o2o_sync.sync.held_states": "o2o_sync.sync.engine.held_states",
	"o2o_sync.sync.resolve": "o2o_sync.sync.engine.resolve",
	"o2o_sync.sync.reconcile": "o2o_sync.sync.engine.reconcile",
	"o2o_sync.sync.procureuat_client": "o2o_sync.sync.portal.client",
	"o2o_sync.sync.portal_reads": "o2o_sync.sync.portal.reads",
	"o2o_sync.sync.portal_writes": "o2o_sync.sync.portal.writes",
	"o2o_sync.sync.tunnel": "o2o_sync.sync.portal.tunnel",
	"o2o_sync.sync.tunnel_service": "o2o_sync.sync.portal.tunnel_service",
	"o2o_sync.sync.hostkeys": "o2o_sync.sync.portal.hostkeys",
	"o2o_sync.sync.config": "o2o_sync.sync.portal.config",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
	"""Finds an old dotted path of `MOVED` and hands back the module it is now."""

	def find_spec(self, fullname, path=None, target=None):
		if fullname in MOVED:
			return importlib.util.spec_from_loader(fullname, self)
		return None

	def __init__(self):
		self._specs = {}  # old path -> the module's own spec, which importing the alias overwrites

	def create_module(self, spec):
		module = importlib.import_module(MOVED[spec.name])
		self._specs[spec.name] = module.__spec__
		return module

	def exec_module(self, module):
		module.__spec__ = self._specs.pop(module.__spec__.name)


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
	sys.meta_path.append(_MovedModules())
