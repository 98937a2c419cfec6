"""The newcomer's path stays in step: the README's first screen, scripts/dev_bench.sh,
scripts/run_tests.sh, .ci/run and the CI workflow name the same two commands.

- the README's first screen gives the two commands (`scripts/dev_bench.sh`, `bash
  scripts/run_tests.sh`) and how long each takes;
- dev_bench.sh's header lists one line per step it runs, and its closing message names the
  test command the README gives;
- dev_bench.sh records its bench where run_tests.sh looks (a git-ignored file), and run_tests.sh
  still falls back to /home/frappe/frappe-bench;
- .ci/run and the CI workflow run those same scripts, so a hosted CI runs what runs here;
- both scripts parse (`bash -n`).

Reads files only: no bench, no database.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_BENCH = "scripts/dev_bench.sh"
TEST_COMMAND = "bash scripts/run_tests.sh"
FIRST_SCREEN_LINES = 40


def _text(relative: str) -> str:
	return (ROOT / relative).read_text()


def _first_screen() -> str:
	return "\n".join(_text("README.md").splitlines()[:FIRST_SCREEN_LINES])


def _commands_in_code_blocks(markdown: str) -> list[str]:
	blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", markdown, re.S)
	return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_first_screen_gives_the_two_commands_and_their_times():
	screen = _first_screen()
	commands = _commands_in_code_blocks(screen)
	assert any(c.startswith(DEV_BENCH) for c in commands), f"no `{DEV_BENCH}` in a code block:\n{commands}"
	assert TEST_COMMAND in commands, f"no `{TEST_COMMAND}` in a code block:\n{commands}"
	# how long each takes, measured: "N min" or "N s" on the line describing it
	timed = [line for line in screen.splitlines() if re.search(r"\b\d+(\.\d+)?\s*(min|s)\b", line)]
	assert any(DEV_BENCH in line or "first run" in line for line in timed), "no time given for dev_bench.sh"
	assert any("run_tests" in line for line in timed), "no time given for run_tests.sh"


def test_dev_bench_header_lists_each_step_it_runs():
	script = _text(DEV_BENCH)
	header = script.split("set -euo pipefail", 1)[0]
	listed = re.findall(r"^#\s+(\d+)\.", header, re.M)
	steps = re.findall(r'^step "', script, re.M)
	assert listed == [str(n) for n in range(1, len(listed) + 1)], listed
	assert len(listed) == len(steps), f"header lists {len(listed)} steps, the script runs {len(steps)}"


def test_dev_bench_uses_the_standard_bench_commands_the_readme_names():
	script = _text(DEV_BENCH)
	readme = _text("README.md")
	for command in (
		"bench init",
		"--frappe-branch version-15",
		"bench get-app",
		"bench new-site",
		"o2o-demo-portal",
		"bulk_sync_from_external",
		"bench start",
	):
		assert command in script, f"{DEV_BENCH} does not run {command!r}"
	for words in ("FRAPPE_SRC", "ERPNEXT_SRC", "--force", "bench start"):
		assert words in readme, f"the README does not explain {words!r}"


def test_dev_bench_names_the_test_command_and_records_its_bench_for_it():
	script = _text(DEV_BENCH)
	closing = script.rsplit("cat <<EOF", 1)[1]
	assert TEST_COMMAND in closing, "dev_bench.sh's closing message does not name the test command"
	record = re.search(r'>\s*"\$root/(\.[\w.-]+)"', script)
	assert record, "dev_bench.sh does not record its bench in the repository"
	name = record.group(1)
	runner = _text("scripts/run_tests.sh")
	assert name in runner, f"run_tests.sh does not read {name}"
	assert "O2O_BENCH=" in script and "O2O_SITE=" in script
	assert "${O2O_BENCH:-}" in runner, "O2O_BENCH no longer wins in run_tests.sh"
	assert "bench_dir=/home/frappe/frappe-bench" in runner, "the machine's default bench is gone"
	assert name in _text(".gitignore").split(), f"{name} is not git-ignored"


def test_ci_runs_the_same_two_scripts():
	assert TEST_COMMAND in _text(".ci/run")
	workflow = _text(".github/workflows/ci.yml")
	runs = [line.split("run:", 1)[1].strip() for line in workflow.splitlines() if "run:" in line]
	assert any(r.startswith(DEV_BENCH) for r in runs), f"ci.yml does not make its bench with {DEV_BENCH}"
	assert TEST_COMMAND in runs, f"ci.yml does not run {TEST_COMMAND}"
	for service in ("mariadb:", "redis:"):
		assert service in workflow
	for action in ("actions/setup-python", "actions/setup-node"):
		assert action in workflow


@pytest.mark.parametrize("script", [DEV_BENCH, "scripts/run_tests.sh", ".ci/run"])
def test_scripts_parse(script):
	result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
	assert result.returncode == 0, result.stderr
