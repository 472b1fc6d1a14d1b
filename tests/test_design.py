"""docs/design.md matches the code: every module named, processes started in two places,
no stage importing a later one, no module over 300 lines."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

PACKAGE = ROOT / "memory_vault"
KERNEL = {"errors", "fsutil", "logfile", "results", "shortcut", "terminal", "urls", "__init__"}
RANKS = {"settings": 1, "sources": 2, "capture": 3, "content": 4, "store": 5, "journal": 6,
         "pipeline": 7, "triggers": 8, "recall": 8, "health": 9, "cli": 10, "entry": 11,
         "__main__": 12}
STARTERS = {"store/git/runner.py", "triggers/cron.py", "triggers/units.py", "triggers/watch.py",
            "triggers/background.py"}
MAX_LINES = 300


def _modules() -> set[str]:
    return {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}


def _stage(module: str) -> str:
    """The package (or kernel module) a module path or dotted name belongs to."""
    head = module.removeprefix("memory_vault.").replace(".", "/").split("/")[0]
    return head.removesuffix(".py")


def _rank(stage: str) -> int:
    return 0 if stage in KERNEL else RANKS[stage]


def _imports(module: str) -> set[str]:
    """Every memory_vault module `module` imports, at the top, in a function or for types."""
    tree = ast.parse((PACKAGE / module).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "memory_vault":  # a module, or an attribute of the package
                found.update(f"memory_vault.{a.name}" if (PACKAGE / a.name).is_dir()
                             or (PACKAGE / f"{a.name}.py").exists() else "memory_vault.__init__"
                             for a in node.names)
            elif node.module.startswith("memory_vault."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("memory_vault."))
    return found


def test_every_module_is_in_the_design_document() -> None:
    """Every module has its row; the presets, one module per agent, share one."""
    design = (ROOT / "docs/design.md").read_text()
    named = set(re.findall(r"^\| `([\w/<>]+\.py)` \|", design, flags=re.MULTILINE))
    presets = {m for m in _modules() if m.startswith("sources/presets/")} - {
        "sources/presets/__init__.py"}
    assert "sources/presets/<agent>.py" in named
    assert named - {"sources/presets/<agent>.py"} == _modules() - presets


def test_every_package_says_its_job_and_imports_nothing() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init} has no docstring stating its job"
        if init.parent != PACKAGE:
            assert all(isinstance(n, ast.Expr) for n in tree.body), f"{init} does more"


def test_only_the_runner_and_the_schedulers_start_processes() -> None:
    call = re.compile(r"subprocess\.(Popen|run|call|check_call|check_output)\(|"
                      r"os\.(exec|spawn|system|popen)\w*\(")
    starters = {m for m in _modules() if call.search((PACKAGE / m).read_text())}
    assert starters == STARTERS
    for module in _modules() - {"store/git/model.py"}:
        assert not re.search(r"^\s*(import git\b|from git\b)", (PACKAGE / module).read_text(),
                             flags=re.MULTILINE), module


def test_no_stage_imports_a_later_one() -> None:
    wrong = []
    for module in sorted(_modules()):
        own = _stage(module)
        for target in _imports(module):
            other = _stage(target)
            if other == own or (other in KERNEL and own in KERNEL):
                continue
            if _rank(other) > _rank(own) or (_rank(other) == _rank(own) and other != own):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_kernel_imports_no_stage() -> None:
    for module in KERNEL - {"__init__"}:
        assert all(_stage(t) in KERNEL for t in _imports(f"{module}.py")), module


def test_no_module_over_its_budget() -> None:
    long = {m: n for m in _modules()
            if (n := len((PACKAGE / m).read_text().splitlines())) > MAX_LINES}
    assert long == {}


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
                            assert flag in rows[name] or _in_prose(path, name, flag), (
                                f"{document}: `{name}` lacks {flag}")


def _in_prose(path: object, name: str, flag: str) -> bool:
    """The contract may name an option in its text rather than in the command's row (`init
    --discover does it on a first set-up`), or as another command's option of the same
    meaning (`--files`, `--exclude` of `source add`, which `init` takes too): SPEC only."""
    from pathlib import Path

    text = Path(str(path)).read_text()
    in_rows = any(flag in row for row in _command_rows(text).values())
    in_text = re.search(rf"{name}( [a-z-]+)? {flag}\b", text) is not None  # `schedule install
    return str(path).endswith("SPEC.md") and (in_text or in_rows)  # --watch` too
