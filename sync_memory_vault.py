#!/usr/bin/env python3
"""Memory Vault: back up AI-agent memory files to git. Run by cron; see README.md.

Run from a checkout by a Python that lacks the dependencies (the system `python3` after the
README's install into `.venv`), it hands over to `.venv/bin/python` beside it, or says in one
line how to run it: never a traceback, and never halfway through a backup.
"""

import os
import sys

NEEDED = ("git", "click", "dotenv")  # GitPython, click, python-dotenv


def _missing() -> list[str]:
    """The needed packages this Python cannot find, asked of its import system's finders
    directly: `importlib.util` would import `contextlib` and cost cron a third of a run."""
    return [name for name in NEEDED
            if not any(getattr(finder, "find_spec", None) and finder.find_spec(name, None)
                       for finder in sys.meta_path)]


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    venv = os.path.join(here, ".venv")
    # In the checkout's own .venv (the README's install) the packages are there: not asked.
    missing = [] if sys.prefix == venv else _missing()
    if missing:
        venv_python = os.path.join(venv, "bin", "python")
        if (os.path.exists(venv_python) and os.path.realpath(sys.prefix) != os.path.realpath(venv)
                and not os.environ.get("MEMORY_VAULT_NO_REEXEC")):
            os.environ["MEMORY_VAULT_NO_REEXEC"] = "1"  # one hand-over at most
            os.execv(venv_python, [venv_python, os.path.abspath(__file__), *sys.argv[1:]])
        packages = {"git": "GitPython", "click": "click", "dotenv": "python-dotenv"}
        sys.stderr.write(
            f"memory-vault: {sys.executable} lacks {', '.join(packages[m] for m in missing)}: "
            f"install them (python3 -m venv .venv && .venv/bin/pip install .) and run "
            f"`.venv/bin/python {sys.argv[0]}` or, with the venv activated "
            "(. .venv/bin/activate), `memory-vault`\n")
        sys.exit(2)
    from memory_vault.entry import run

    run()
