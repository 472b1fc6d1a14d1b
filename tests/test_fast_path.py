"""The cron fast path: a run that finds nothing changed imports only these modules.

96 runs a day cost about as much as starting Python because a no-change run imports
nothing it does not need (no click, no GitPython, no json, no re, no dataclasses) and starts
no git. A module added to this path must be added here on purpose, and it must then stay
free of pathlib and contextlib too (pyproject's per-file ruff exemptions list the same
modules).
"""

from __future__ import annotations

import subprocess
import sys

from conftest import SCRIPT, Vault

CRON_PATH = {
    "memory_vault", "memory_vault.entry", "memory_vault.cli.guard", "memory_vault.errors",
    "memory_vault.results", "memory_vault.settings.load", "memory_vault.settings.paths",
    "memory_vault.settings.envfile", "memory_vault.urls", "memory_vault.logfile",
    "memory_vault.fsutil", "memory_vault.terminal", "memory_vault.pipeline.lock",
    "memory_vault.journal.cache",
    "memory_vault.sources.scan", "memory_vault.pipeline.sync",
    # the packages of the stages above (each `__init__` is empty of imports)
    "memory_vault.cli", "memory_vault.settings", "memory_vault.sources", "memory_vault.journal",
    "memory_vault.pipeline", "memory_vault.capture", "memory_vault.capture.version",
    "memory_vault.sources.names", "memory_vault.pipeline.record",
    "memory_vault.settings.schema", "memory_vault.settings.validate",
    "memory_vault.sources.patterns", "memory_vault.sources.source", "memory_vault.sources.registry",
    "memory_vault.shortcut",
}
NEVER = {"click", "git", "dotenv", "json", "re", "dataclasses", "typing", "logging", "enum",
         "hashlib", "subprocess", "pathlib", "contextlib", "sqlite3", "urllib.request"}

PROBE = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    "from memory_vault.entry import main; rc = main([]);"
    "print(rc); print(' '.join(sorted(m for m in sys.modules if m.startswith('memory_vault'))));"
    "print(' '.join(sorted(m for m in sys.modules if m in set(sys.argv[2].split()))))"
)


def test_a_no_change_run_imports_only_the_cron_path(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    vault.write("notes.md", "# x\n", age=10)
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,*.md"
    assert vault.sync().returncode == 0
    # Measured as cron runs it: without the coverage the test suite adds to every process.
    env = {k: v for k, v in vault.env.items() if not k.startswith("COVERAGE_")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(SCRIPT.parent), " ".join(NEVER)],
                         env=env, cwd=vault.source, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "0"
    assert set(out[1].split()) == CRON_PATH
    assert out[2].split() == []  # none of the expensive modules


def test_the_ruff_exemptions_name_exactly_the_cron_path() -> None:
    from conftest import ROOT

    text = (ROOT / "pyproject.toml").read_text()
    line = next(x for x in text.splitlines() if x.startswith('"memory_vault/{__init__'))
    listed = set(line.split("{", 1)[1].split("}", 1)[0].split(","))
    modules = {("memory_vault/" + m).removesuffix("/__init__").replace("/", ".")
               for m in listed}
    assert modules == CRON_PATH


STATUS_PROBE = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    "from memory_vault.entry import main; rc = main(['status', '--json']);"
    "print(rc); print('git' in sys.modules)"
)


def test_status_asks_git_without_importing_gitpython(vault: Vault) -> None:
    """A monitoring check runs often: GitPython's import alone was 120 ms of 0.3 s."""
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    out = subprocess.run([sys.executable, "-c", STATUS_PROBE, str(SCRIPT.parent)],
                         env=vault.env, cwd=vault.source, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[-2:] == ["0", "False"]
    assert '"pending_push": 0' in "".join(out[:-2])  # it did ask the clone
