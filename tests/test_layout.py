"""The app's layout, checked from its source without importing it (no Frappe needed).

Every `.py` under `o2o_sync/` is parsed with `ast`; the imports between the app's modules
(absolute `o2o_sync.x` and relative ones, at module level or inside functions; those under
`if TYPE_CHECKING:` left out, they never run) form a graph, and:

- no import cycle anywhere in the app;
- nothing outside `o2o_sync/tests` imports `o2o_sync.tests` (runtime never loads test code);
- no module is over MAX_LINES lines;
- the layers by folder: `sync/model` imports nothing of the app but `constants`;
  `sync/engine` only `model` and `constants`; `sync/portal` only `model` and `constants`;
  `sync/frappe_port` only `model`, `engine` and `constants`; so nothing below the entry points
  (the modules directly in `sync/`) imports them; no DocType controller imports an entry
  point; `setup/` never imports `benchmarks/`;
- the Frappe-free layers (`model`, `engine`, `portal`, and `o2o_sync/constants.py`) never
  import frappe or erpnext, themselves or through another module of the app;
- every module that moved into a layer package keeps its old dotted path for one release
  (`o2o_sync.sync.MOVED`), so a queued or pickled reference still finds it;
- every dotted path Frappe or the desk calls (hooks.py, the doc events' jobs, `frappe.call`
  in the JS files) names a function that exists, whitelisted where the desk calls it, and
  every `sync_utils.X` the README documents exists.
"""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "o2o_sync"
MAX_LINES = 420

SYNC = "o2o_sync.sync"
#: layer package: what its modules may import of the app (besides their own package)
LAYERS = {
	f"{SYNC}.model": ("o2o_sync.constants",),
	f"{SYNC}.engine": ("o2o_sync.constants", f"{SYNC}.model"),
	f"{SYNC}.portal": ("o2o_sync.constants", f"{SYNC}.model"),
	f"{SYNC}.frappe_port": ("o2o_sync.constants", f"{SYNC}.model", f"{SYNC}.engine"),
}
#: the layers that import without Frappe
FRAPPE_FREE = (f"{SYNC}.model", f"{SYNC}.engine", f"{SYNC}.portal")
FRAPPE_PACKAGES = {"frappe", "erpnext"}

DOTTED_PATH = re.compile(r"o2o_sync(?:\.\w+)+")


def _module_name(path: Path) -> str:
	parts = path.relative_to(ROOT).with_suffix("").parts
	if parts[-1] == "__init__":
		parts = parts[:-1]
	return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(APP.rglob("*.py")) if "__pycache__" not in p.parts}
PACKAGES = {name for name, p in MODULES.items() if p.name == "__init__.py"}


@cache
def _tree(module: str) -> ast.Module:
	return ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))


def _is_type_checking(test: ast.expr) -> bool:
	return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
		isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
	)


def _from_base(module: str, node: ast.ImportFrom) -> str:
	"""The absolute module a `from ... import` in `module` imports from."""
	if not node.level:
		return node.module
	package = module if module in PACKAGES else module.rpartition(".")[0]
	parts = package.split(".")
	base = ".".join(parts[: len(parts) - (node.level - 1)])
	return f"{base}.{node.module}" if node.module else base


class _Imports(ast.NodeVisitor):
	"""Every import of a module that runs: (line, absolute module, imported names or None)."""

	def __init__(self, module: str):
		self.module = module
		self.found: list[tuple[int, str, list[str] | None]] = []

	def visit_If(self, node: ast.If):
		if _is_type_checking(node.test):
			for child in node.orelse:
				self.visit(child)
		else:
			self.generic_visit(node)

	def visit_Import(self, node: ast.Import):
		for alias in node.names:
			self.found.append((node.lineno, alias.name, None))

	def visit_ImportFrom(self, node: ast.ImportFrom):
		self.found.append((node.lineno, _from_base(self.module, node), [a.name for a in node.names]))


@cache
def imports_of(module: str) -> list[tuple[int, str, list[str] | None]]:
	visitor = _Imports(module)
	visitor.visit(_tree(module))
	return visitor.found


def _app_module(dotted: str) -> str | None:
	"""The app's module `dotted` loads: itself, else its longest prefix that is one."""
	while dotted:
		if dotted in MODULES:
			return dotted
		dotted = dotted.rpartition(".")[0]
	return None


@cache
def edges_of(module: str) -> dict[str, int]:
	"""{app module imported: first line importing it}; a `from P import m` of a submodule
	counts as importing `P.m`, of a name as importing `P`."""
	edges: dict[str, int] = {}
	for line, base, names in imports_of(module):
		targets = (
			[_app_module(base)]
			if names is None
			else [f"{base}.{n}" if f"{base}.{n}" in MODULES else _app_module(base) for n in names]
		)
		for target in targets:
			if target and target != module:
				edges.setdefault(target, line)
	return edges


def _cycles() -> list[list[str]]:
	"""One cycle (a list of modules, first repeated last) per strongly connected component."""
	index: dict[str, int] = {}
	low: dict[str, int] = {}
	stack: list[str] = []
	on_stack: set[str] = set()
	components: list[list[str]] = []

	def connect(v: str):  # Tarjan; the app is small enough for recursion
		index[v] = low[v] = len(index)
		stack.append(v)
		on_stack.add(v)
		for w in edges_of(v):
			if w not in index:
				connect(w)
				low[v] = min(low[v], low[w])
			elif w in on_stack:
				low[v] = min(low[v], index[w])
		if low[v] == index[v]:
			component = []
			while True:
				w = stack.pop()
				on_stack.discard(w)
				component.append(w)
				if w == v:
					break
			if len(component) > 1:
				components.append(sorted(component))

	for module in sorted(MODULES):
		if module not in index:
			connect(module)

	cycles = []
	for component in components:
		members, start = set(component), component[0]
		# shortest way back to `start` inside the component
		paths = {start: [start]}
		queue = [start]
		while queue:
			v = queue.pop(0)
			for w in sorted(edges_of(v)):
				if w == start:
					cycles.append([*paths[v], start])
					queue = []
					break
				if w in members and w not in paths:
					paths[w] = [*paths[v], w]
					queue.append(w)
	return cycles


def _describe(path: list[str]) -> str:
	return " -> ".join(
		f"{module} (line {edges_of(module)[path[i + 1]]})" if i + 1 < len(path) else module
		for i, module in enumerate(path)
	)


def test_no_import_cycle():
	cycles = _cycles()
	assert not cycles, "import cycles:\n" + "\n".join(_describe(c) for c in cycles)


def test_runtime_never_imports_the_tests():
	offenders = [
		f"{MODULES[module].relative_to(ROOT)}:{line} imports {base}"
		for module in MODULES
		if not (module == "o2o_sync.tests" or module.startswith("o2o_sync.tests."))
		for line, base, names in imports_of(module)
		if base == "o2o_sync.tests"
		or base.startswith("o2o_sync.tests.")
		or (base == "o2o_sync" and names and "tests" in names)
	]
	assert not offenders, "runtime modules importing o2o_sync.tests:\n" + "\n".join(offenders)


def test_no_module_over_the_line_limit():
	lengths = {module: len(MODULES[module].read_text().splitlines()) for module in MODULES}
	offenders = [
		f"{MODULES[m].relative_to(ROOT)}: {n} lines"
		for m, n in sorted(lengths.items(), key=lambda kv: -kv[1])
		if n > MAX_LINES
	]
	assert not offenders, f"modules over {MAX_LINES} lines:\n" + "\n".join(offenders)


def _within(module: str, package: str) -> bool:
	return module == package or module.startswith(package + ".")


def _is_engine(module: str) -> bool:
	return module == "o2o_sync.constants" or any(_within(module, p) for p in FRAPPE_FREE)


def _is_entry_point(module: str) -> bool:
	"""A module directly in `o2o_sync/sync/` (jobs, scheduler, desk, ...): what Frappe, the
	desk and the console call; the layers sit beneath them."""
	package, _, _name = module.rpartition(".")
	return package == SYNC and module not in PACKAGES


def _edges_outside(module: str, allowed) -> list[str]:
	return [
		f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}"
		for target, line in sorted(edges_of(module).items())
		if not any(_within(target, a) for a in allowed)
	]


def test_each_layer_imports_only_the_layers_beneath_it():
	offenders = []
	for layer, allowed in LAYERS.items():
		for module in sorted(m for m in MODULES if _within(m, layer)):
			offenders += _edges_outside(module, (layer, *allowed))
	assert not offenders, "layer imports out of bounds:\n" + "\n".join(offenders)
	assert {_within(m, p) for m in MODULES for p in LAYERS} >= {True}, "no layer package found"


def test_the_entry_points_stay_on_top():
	"""Nothing beneath the entry points, and no DocType controller, imports one; `setup/`
	never imports `benchmarks/`."""
	entry_points = {m for m in MODULES if _is_entry_point(m)}
	assert {f"{SYNC}.jobs", f"{SYNC}.scheduler", f"{SYNC}.events", f"{SYNC}.desk"} <= entry_points
	offenders = [
		f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
		for m in MODULES
		if any(_within(m, layer) for layer in LAYERS)
		or (_within(m, "o2o_sync.o2o_sync.doctype") and not m.rpartition(".")[2].startswith("test_"))
		for target, line in edges_of(m).items()
		if target in entry_points
	]
	offenders += [
		f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
		for m in MODULES
		if _within(m, "o2o_sync.setup")
		for target, line in edges_of(m).items()
		if _within(target, "o2o_sync.benchmarks")
	]
	assert not offenders, "imports up the layers:\n" + "\n".join(offenders)


def _moved() -> dict[str, str]:
	tree = _tree(SYNC)
	node = next(
		n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "MOVED"
	)
	return eval(compile(ast.Expression(node.value), "MOVED", "eval"))  # a literal dict comprehension


def test_moved_modules_keep_their_old_paths():
	"""Every module that moved into a layer package is named under its old path for one
	release, and that old path is free (no module stands there any more)."""
	moved = _moved()
	assert moved["o2o_sync.sync.procureuat_client"] == f"{SYNC}.portal.client"
	missing = sorted(new for new in moved.values() if new not in MODULES)
	assert not missing, "MOVED names modules that do not exist:\n" + "\n".join(missing)
	shadowed = sorted(old for old in moved if old in MODULES)
	assert not shadowed, "old paths still taken by a module:\n" + "\n".join(shadowed)


def _frappe_imports(module: str) -> list[str]:
	return [
		f"line {line}: {base}"
		for line, base, _names in imports_of(module)
		if base.split(".")[0] in FRAPPE_PACKAGES
	]


def test_the_engine_never_imports_frappe():
	offenders = []
	for module in sorted(filter(_is_engine, MODULES)):
		# breadth first over the app's imports: the shortest way to a module importing Frappe
		paths = {module: [module]}
		queue = [module]
		while queue:
			v = queue.pop(0)
			if found := _frappe_imports(v):
				via = _describe(paths[v]) if len(paths[v]) > 1 else module
				offenders.append(f"{via}: {', '.join(found)}")
				break
			for w in sorted(edges_of(v)):
				if w not in paths:
					paths[w] = [*paths[v], w]
					queue.append(w)
	assert not offenders, "engine modules reaching frappe/erpnext:\n" + "\n".join(offenders)


# ---------------------------------------------------------------- dotted paths Frappe calls


def _definition(dotted: str, seen: frozenset = frozenset()) -> ast.FunctionDef | None:
	"""The function `dotted` names, following `from x import name` re-exports; None if missing."""
	module, _, name = dotted.rpartition(".")
	if module not in MODULES or dotted in seen:
		return None
	tree = _tree(module)
	for node in tree.body:
		if isinstance(node, ast.FunctionDef) and node.name == name:
			return node
	for node in tree.body:
		if isinstance(node, ast.ImportFrom):
			for alias in node.names:
				if (alias.asname or alias.name) == name:
					return _definition(f"{_from_base(module, node)}.{alias.name}", seen | {dotted})
	return None


def _is_whitelisted(fn: ast.FunctionDef) -> bool:
	for decorator in fn.decorator_list:
		target = decorator.func if isinstance(decorator, ast.Call) else decorator
		if isinstance(target, ast.Attribute) and target.attr == "whitelist":
			return True
	return False


def _strings(module: str) -> set[str]:
	return {
		node.value
		for node in ast.walk(_tree(module))
		if isinstance(node, ast.Constant) and isinstance(node.value, str)
	}


def test_hooks_and_jobs_name_existing_functions():
	paths = {
		s
		for module in ("o2o_sync.hooks", "o2o_sync.sync.events")
		for s in _strings(module)
		if DOTTED_PATH.fullmatch(s)
	}
	assert {
		"o2o_sync.sync.scheduler.scheduled_sync_from_external",
		"o2o_sync.sync.jobs.push_invoice",
	} <= paths
	missing = sorted(p for p in paths if _definition(p) is None)
	assert not missing, "dotted paths naming no function:\n" + "\n".join(missing)

	js = [s for s in _strings("o2o_sync.hooks") if s.endswith(".js")]
	# app-relative (doctype_js) or under the app's public folder as served (app_include_js)
	files = [
		APP / "public" / s.removeprefix("/assets/o2o_sync/") if s.startswith("/assets/") else APP / s
		for s in js
	]
	assert js and all(f.is_file() for f in files), js


def _desk_calls() -> set[str]:
	"""Dotted paths the JS files send to `frappe.call`."""
	calls = set()
	for path in [*APP.glob("public/js/*.js"), *APP.glob("o2o_sync/doctype/*/*.js")]:
		text = path.read_text()
		calls.update(m for m in re.findall(r"""method:\s*["'](o2o_sync\.[\w.]+)["']""", text))
		# a method path handed to a shared helper (o2o_sync_desk.js: `o2o_sync.desk_retry.run`)
		calls.update(re.findall(r"""["'](o2o_sync\.sync\.[\w.]+)["']""", text))
		# o2o_sync.<doctype>.method = (name) => `o2o_sync....${name}`; calls .method("x")
		for prefix in re.findall(r"`(o2o_sync\.[\w.]+)\.\$\{name\}`", text):
			calls.update(f"{prefix}.{name}" for name in re.findall(r"""\.method\(["'](\w+)["']\)""", text))
	return calls


def test_desk_calls_name_whitelisted_functions():
	calls = _desk_calls()
	assert "o2o_sync.o2o_sync.doctype.database_connection.database_connection.test_connection" in calls
	bad = sorted(c for c in calls if not ((fn := _definition(c)) and _is_whitelisted(fn)))
	assert not bad, "frappe.call paths naming no whitelisted function:\n" + "\n".join(bad)


def test_console_names_of_the_readme_exist():
	names = set(re.findall(r"sync_utils\.(?!py\b)(\w+)", (ROOT / "README.md").read_text()))
	assert "bulk_sync_from_external" in names
	missing = sorted(n for n in names if _definition(f"o2o_sync.sync.sync_utils.{n}") is None)
	assert not missing, "README names missing from o2o_sync.sync.sync_utils:\n" + "\n".join(missing)
	# what the desk calls through sync_utils stays whitelisted
	for name in ("test_database_connection", "bulk_sync_from_external", "manual_sync_invoice_to_external"):
		assert _is_whitelisted(_definition(f"o2o_sync.sync.sync_utils.{name}")), name
