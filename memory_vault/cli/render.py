"""Render: each command's result as text for a person, or as JSON for a script.

The text is the command's output on stdout (warnings and errors go to stderr through the
log); nothing here decides an exit code or touches the vault.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memory_vault.cli import envelope
from memory_vault.results import command_name
from memory_vault.terminal import printable, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:  # dispatch is by class name: a command never imports another's modules
    from memory_vault.health.doctor import DoctorReport
    from memory_vault.health.secrets import AllowDone, SecretsReport
    from memory_vault.health.status import FileStatus, StatusReport
    from memory_vault.health.verify import VerifyResult
    from memory_vault.pipeline.purge import PurgeResult
    from memory_vault.pipeline.setup import InitResult
    from memory_vault.recall.diff import DiffResult
    from memory_vault.recall.history import HistoryResult
    from memory_vault.recall.plan import RestorePlan
    from memory_vault.results import Done
    from memory_vault.sources.discover import DiscoverResult
    from memory_vault.sources.manage import SourceList

_TEXT: dict[str, Callable[[Any], list[str]]] = {}


def _renders(name: str) -> Callable[[Callable[[Any], list[str]]], Callable[[Any], list[str]]]:
    def register(func: Callable[[Any], list[str]]) -> Callable[[Any], list[str]]:
        _TEXT[name] = func
        return func

    return register


def show(result: object, *, as_json: bool = False) -> None:
    """Print `result`: its JSON envelope, or its lines of text."""
    if as_json:
        as_dict = getattr(result, "as_dict", None)
        payload = as_dict() if as_dict else {}
        write_stdout(envelope.dumps(envelope.of_result(payload, getattr(result, "exit_code", 0))))
        return
    for line in text(result):
        write_stdout(line + "\n")  # each renderer escapes what it did not write itself


def show_error(exit_code: int, message: str, variable: str | None) -> None:
    """With `--json`, a command that failed still prints its one document."""
    write_stdout(envelope.dumps(envelope.of_error(exit_code, message, variable)))


def text(result: object) -> list[str]:
    """The lines of `result`, every name and value from the disk or the vault escaped."""
    render = next((_TEXT[c.__name__] for c in type(result).__mro__ if c.__name__ in _TEXT), None)
    if render is None:
        return []
    lines = [printable(line) for line in render(result)]
    if type(result).__name__ == "DiffResult":
        paint = _painter()
        lines = [paint(_DIFF_COLOURS.get(line.lstrip()[:1], ""), line) if line[:1] in "+-~ "
                 and i > 2 else line for i, line in enumerate(lines)]
    return lines


@_renders("Done")
def _done(result: "Done") -> list[str]:
    return result.lines


@_renders("InitResult")
def _init(result: "InitResult") -> list[str]:
    sealed = [("encrypted", f"age, identity {result.identity}"),
              ("public key", result.public_key)] if result.public_key else []
    rows = [("source", result.source),
            ("embedded vault" if result.embedded else "remote", result.remote), *sealed,
            ("clone", result.clone), ("settings", result.env_path),
            ("saved", ", ".join(sorted(result.written)))]
    width = max(len(label) for label, _ in rows) + 2
    head = ("Memory Vault is ready." if result.reachable
            else "Memory Vault is set up, but the remote cannot be reached yet:")
    found = [f"  tracking {name} (found by --discover; `{command_name()} source list`)"
             for name in result.discovered]
    if result.public_key and result.identity_created:  # said once: the only key to the vault
        found += [f"Keep a copy of {result.identity} somewhere safe, off this machine (a "
                  "password manager, a printed copy): without it nobody, us included, can read "
                  "the vault.", "A fleet: each machine runs `init --encrypt` and lists the "
                  "others' public keys in MEMORY_VAULT_RECIPIENTS."]
    return [head, *(f"  {label + ':':<{width}}{value}" for label, value in rows), *found,
            f"Next: `{command_name()} --now` for a first backup, "
            f"`{command_name()} schedule install` to run it every 15 minutes."]


def show_plan(plan: "RestorePlan") -> None:
    """The plan of a restore, before it is carried out."""
    for line in _plan_lines(plan):
        write_stdout(printable(line) + "\n")


def _plan_lines(plan: "RestorePlan") -> list[str]:
    lines = [f"{'Plan: restore' if plan.dry_run else 'Restoring'} from {plan.commit[:12]} "
             f"({plan.date}) into {plan.target}"]
    for item in plan.items:
        note = ""
        if item.action.value == "replace":
            kept = item.kept_as or f"{item.name}.pre-restore-<time>"
            note = f"  (current copy kept as {Path(kept).name})"
        elif item.action.value == "refused":
            note = f"  ({item.reason})"
        lines.append(f"  {item.action.value:<9} {item.name}{note}")
    return lines


@_renders("RestorePlan")
def _restore(plan: "RestorePlan") -> list[str]:
    lines = [] if plan.announced else _plan_lines(plan)
    written = len(plan.to_write)
    if plan.dry_run:
        return [*lines, "Dry run: nothing was changed."]
    unchanged = len(plan.items) - written - len(plan.refused)
    lines += [f"  refused   {item.name}  ({item.reason})" for item in plan.failed]
    lines += [f"  {item.name}: {len(item.redacted)} secret(s) not brought back, the vault "
              f"holds only placeholders: {', '.join(f'{r} {fp}' for r, fp in item.redacted)}"
              for item in plan.to_write if item.redacted]
    lines.append(f"Restored {written} file(s); {unchanged} already up to date.")
    lines += [f"The copy of {item.name} it replaced is kept as {item.kept_as}"
              for item in plan.to_write if item.kept_as]
    if plan.resume_hint:
        lines.append(plan.resume_hint)
    lines.append("Restart the agent system so that the agents load the restored memory."
                 if plan.into_source else
                 f"Restart the agent system once these files are back where the agents read "
                 f"them (restored into {plan.target}).")
    return lines


@_renders("HistoryResult")
def _history(result: "HistoryResult") -> list[str]:
    if not result.entries:
        return ["The vault has no backups yet."]
    if result.file is None:
        return [f"{e.date}  {e.commit[:12]}  {', '.join(e.files)}" for e in result.entries]
    lines = [f"{e.date}  {e.commit[:12]}  {_count(e.records):>9} records  "
             f"+{_count(e.added)} -{_count(e.removed)}" for e in result.entries]
    if result.more:
        lines.append(f"(the {len(result.entries)} newest shown; --limit N for more)")
    return lines


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


@_renders("DiffResult")
def _diff(result: "DiffResult") -> list[str]:
    """Painted by `text`: green for learned, red for forgotten, yellow for changed."""
    c = result.comparison
    lines = [result.summary, f"  from {result.old.label}", f"  to   {result.new.label}"]
    lines += ["+ " + ": ".join(part for part in (x.key, x.new) if part) for x in c.added]
    lines += ["- " + ": ".join(part for part in (x.key, x.old) if part) for x in c.removed]
    for x in c.changed:
        if x.details:
            lines.append(f"~ {x.key}")
            lines += [f"    {d}" for d in x.details]
        else:
            lines.append(f"~ {x.key}: {x.old} -> {x.new}")
    return lines


_DIFF_COLOURS = {"+": "32", "-": "31", "~": "33"}


def _painter() -> Callable[[str, str], str]:
    """ANSI colour on a terminal only (and never with NO_COLOR set)."""
    import sys

    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        return lambda code, line: f"\x1b[{code}m{line}\x1b[0m" if code else line
    return lambda _code, line: line


@_renders("SourceList")
def _sources(result: "SourceList") -> list[str]:
    if not result.sources:
        return [f"No source besides the source dir; `{command_name()} discover` finds the "
                "agents' memory on this machine."]
    lines = []
    for s in result.sources:
        lines.append(f"{s.name}  {s.folder}" + (f"  (preset {s.preset})" if s.preset else "")
                     + ("  [store]" if s.store else ""))
        lines.append(f"    files:   {', '.join(s.files)}")
        if s.exclude:
            lines.append(f"    exclude: {', '.join(s.exclude)}")
    return lines


@_renders("DiscoverResult")
def _discover(result: "DiscoverResult") -> list[str]:
    if not result.found:
        return ["No agent memory found (looked in the home folder and the folders given)."]
    lines = []
    for f in result.found:
        state = "tracked" if f.tracked else "not tracked"
        lines.append(f"{f.agent}: {f.folder}  ({f.files} files, {f.size / 2**20:.1f} MB, "
                     f"{', '.join(f.formats) or '?'}; {state})")
        command = getattr(f, "command", "")
        if not f.tracked and command:
            lines.append(f"    {command}")
    lines += [f"Added the source {name}." for name in result.added]
    return lines


@_renders("SecretsReport")
def _secrets(report: "SecretsReport") -> list[str]:
    if not report.rows:
        return [f"No secret found in the vault or the sources (MEMORY_VAULT_SECRETS="
                f"{report.policy})."]
    state = {"redacted": "redacted in the vault", "in-vault": "IN THE VAULT as it is",
             "in-source": "in the source only (the next sync redacts it)"}
    lines = [f"{r.fingerprint}  {r.rule:<24} {r.file}{f' ({r.where})' if r.where else ''}: "
             f"{state[r.state]}{', allowed' if r.allowed else ''}" for r in report.rows]
    if any(r.state == "in-vault" and not r.allowed for r in report.rows):
        lines.append(f"A secret the vault holds as it is leaves it only with `{command_name()} "
                     "secrets purge FINGERPRINT` (and must be rotated all the same).")
    return lines


@_renders("AllowDone")
def _allowed(done: "AllowDone") -> list[str]:
    if done.already:
        return [f"{done.fingerprint} was already allowed ({done.file})."]
    again = f"; {', '.join(done.holders)} will be backed up with it" if done.holders else ""
    return [f"Allowed {done.fingerprint}: kept as it is from the next sync on{again} "
            f"(recorded in {done.file})."]


@_renders("PurgeResult")
def _purged(result: "PurgeResult") -> list[str]:
    return result.lines


@_renders("VerifyResult")
def _verify(result: "VerifyResult") -> list[str]:
    return [f"{'ok' if c.ok else 'FAIL':<5} {c.name:<8} {c.detail}" for c in result.checks]


@_renders("DoctorReport")
def _doctor(report: "DoctorReport") -> list[str]:
    from memory_vault.cli.doctor_text import doctor_lines

    return doctor_lines(report)


@_renders("StatusReport")
def _status(report: "StatusReport") -> list[str]:
    logs = report.log_file + ("" if report.err_file == report.log_file
                              else f" (errors: {report.err_file})")
    last = (f"{report.last_success} (commit {report.last_commit[:12]})"
            if report.last_success and report.last_commit else report.last_success or "never")
    rows = [
        ("remote", report.remote + (" (embedded)" if report.embedded else "")
         + (" (encrypted: age)" if report.encrypted else "")),
        ("clone", report.clone),
        ("logs", logs),
        ("last success", last),
        ("last run", f"{report.last_run or 'never'} {report.last_outcome or ''}".strip()),
        ("pending push", str(report.pending_push)
         + ("" if report.push_enabled else " (push disabled)")),
        ("last error", report.last_error or "-"),
    ]
    lines = [f"Memory Vault: {'healthy' if report.healthy else 'UNHEALTHY'}"]
    lines += [f"  {label + ':':<14}{value}" for label, value in rows]
    lines.append("  files:")
    width = max((len(f.name) for f in report.files), default=0)
    lines += [f"    {f.name:<{width}}  {f.format or '':<6} {file_line(f)}" for f in report.files]
    lines += [f"  deleted:      {path}: gone from its source; the vault keeps it"
              for path in report.gone]
    lines += [f"  set aside:    {path} (a damaged clone, kept; delete it when you no longer "
              "need it)" for path in report.set_aside]
    lines += [f"  note: {note}" for note in report.notes]
    lines += [f"  problem: {problem.message}" for problem in report.problems]
    return lines


def file_line(f: "FileStatus") -> str:
    kept = f" (the vault has its version of {f.saved})" if f.saved else ""
    return {
        "absent": f"absent{kept}",
        "skipped": f"skipped: {f.reason}" + (kept or " (never backed up)"),
        "new": "new since the last sync: not backed up yet",
        "changed": f"changed since the last sync{kept}",
        "unchanged": f"unchanged since the last sync{kept}",
    }[f.state]
