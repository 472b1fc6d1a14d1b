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
    assert starters == {"store/git/runner.py", "triggers/schedule.py"}
    for module in _modules() - {"store/git/model.py"}:
        assert not re.search(r"^\s*(import git\b|from git\b)", (PACKAGE / module).read_text(),
                             flags=re.MULTILINE), module


def test_no_module_over_its_budget() -> None:
    for module in ("cli/main.py", "store/vault.py"):
        assert len((PACKAGE / module).read_text().splitlines()) < 300


def _command_rows(text: str) -> dict[str, str]:
    """The rows of a commands table, by the command each names first."""
    rows = re.findall(r"^\| `([a-z]+)([^|]*(?:\\\|[^|]*)*)` \|", text, flags=re.MULTILINE)
    return {name: name + rest for name, rest in rows}


def test_every_command_and_option_is_in_the_readme_and_the_spec() -> None:
    """As sqlite-utils' test_docs: a command or option the tables do not name cannot ship."""
    import click

    from memory_vault.cli.main import cli

    shared = {"--env-file", "--verbose", "--quiet", "--help", "--json"}
    for document in ("README.md", "../shared/SPEC.md"):
        path = ROOT / document
        if not path.exists():  # SPEC.md lies beside the checkout, in CI too
            continue
        rows = _command_rows(path.read_text())
        for name, command in cli.commands.items():
            assert name in rows, f"{document} has no row for `{name}`"
            subcommands = getattr(command, "commands", {})
            params = [p for c in [command, *subcommands.values()] for p in c.params]
            for sub in subcommands:
                assert sub in rows[name], f"{document}: `{name} {sub}` is not in its row"
            for param in params:
                if isinstance(param, click.Option):
                    for flag in param.opts:
                        if flag.startswith("--") and flag not in shared:
                            assert flag in rows[name], f"{document}: `{name}` lacks {flag}"
