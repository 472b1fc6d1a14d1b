"""docs/design.md matches the code: every module named, git started in one place only."""

from __future__ import annotations

import re

from conftest import ROOT

PACKAGE = ROOT / "memory_vault"


def _modules() -> set[str]:
    return {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}


def test_every_module_is_in_the_design_document() -> None:
    design = (ROOT / "docs/design.md").read_text()
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", design, flags=re.MULTILINE))
    assert named == _modules()


def test_only_the_runner_starts_processes() -> None:
    starters = {m for m in _modules()
                if re.search(r"subprocess\.(Popen|run|call|check_output)|os\.exec|os\.spawn",
                             (PACKAGE / m).read_text())}
    # schedule.py runs the scheduler's own command (crontab), never git
    assert starters == {"vault/gitrun.py", "schedule.py"}
    for module in _modules() - {"vault/model.py"}:
        assert not re.search(r"^\s*(import git\b|from git\b)", (PACKAGE / module).read_text(),
                             flags=re.MULTILINE), module


def test_no_module_over_its_budget() -> None:
    for module in ("cli.py", "vault/facade.py"):
        assert len((PACKAGE / module).read_text().splitlines()) < 300
