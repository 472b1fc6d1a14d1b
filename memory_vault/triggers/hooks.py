"""Hooks: an agent's own hooks start one quiet sync when a session ends or its context is about
to be compacted, the moments a transcript is complete or about to be summarised.

Each agent keeps its hooks as `{"hooks": {EVENT: [{"matcher"?, "hooks": [{"type": "command",
"command": ...}]}]}}` in a JSON file of its own: Claude Code in `settings.json` (SessionEnd,
PreCompact), Gemini CLI in `settings.json` (SessionEnd, PreCompress), Codex CLI in
`hooks.json` (Stop, after every turn, on every Codex with hooks, and PreCompact). Ours is one
matcher group per event with no matcher (every reason, every trigger), its command marked
`# memory-vault` as the crontab line is, with the agent's own time limit where its default
is too short for it. `install` adds ours (replacing an older one of ours)
and keeps the file as it was beside it; `remove` takes out only ours, and the lists it leaves
empty; every other byte of the file stays as it was (`triggers.jsonedit`).
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_vault.errors import EXIT_FAILED, EXIT_OK, ConfigError, VaultError
from memory_vault.fsutil import compact_utc_stamp, unique_path, write_atomic
from memory_vault.logfile import RunLog
from memory_vault.results import Done
from memory_vault.settings import paths
from memory_vault.triggers import jsonedit
from memory_vault.triggers.background import hook_argv
from memory_vault.triggers.cron import MARK

KEPT = ".pre-memory-vault-"


@dataclass(frozen=True)
class Agent:
    """An agent whose CLI runs hooks, and where and when ours go."""

    name: str  # as `--with` names it
    title: str
    variable: str  # the variable that moves the agent's folder
    folder: str  # its default, under HOME
    file: str
    events: tuple[str, ...]
    note: str = ""  # what the user still has to do
    timeout: int | None = None  # the hook's time limit, in the agent's units, when set

    def settings(self) -> Path:
        home = paths.home_dir(dict(os.environ))
        moved = os.environ.get(self.variable, "").strip()
        if moved and self.variable == "GEMINI_CLI_HOME":
            return Path(moved) / ".gemini" / self.file
        return (Path(moved) if moved else Path(home) / self.folder) / self.file


AGENTS = {agent.name: agent for agent in (
    # Claude Code cancels a SessionEnd hook after 1.5 s unless the hook sets its own
    # `timeout` (seconds): a cold Python start on a loaded machine can take longer than that
    # before the sync is on its own. The hook returns as soon as it is, so 30 s costs nothing.
    Agent("claude-code", "Claude Code", "CLAUDE_CONFIG_DIR", ".claude", "settings.json",
          ("SessionEnd", "PreCompact"), timeout=30),
    Agent("codex", "Codex CLI", "CODEX_HOME", ".codex", "hooks.json", ("Stop", "PreCompact"),
          note="Codex runs a new hook once you trust it: open /hooks in Codex and trust the "
               "memory-vault hooks"),
    Agent("gemini-cli", "Gemini CLI", "GEMINI_CLI_HOME", ".gemini", "settings.json",
          ("SessionEnd", "PreCompress"),
          note="Gemini CLI runs hooks unless hooksConfig.enabled is false in its settings"),
)}


def hook_command(env_file: str) -> str:
    """The shell line the agent runs: returns at once, the sync going on by itself."""
    return " ".join(shlex.quote(part) for part in hook_argv(env_file)) + " " + MARK


def _ours(hook: Any) -> bool:
    return (isinstance(hook, dict) and isinstance(hook.get("command"), str)
            and hook["command"].rstrip().endswith(MARK))


def _handler(agent: Agent, command: str) -> dict[str, Any]:
    """Our hook as the agent's file holds it."""
    handler: dict[str, Any] = {"type": "command", "command": command}
    if agent.timeout is not None:
        handler["timeout"] = agent.timeout
    return handler


def _group(handler: dict[str, Any]) -> dict[str, Any]:
    return {"hooks": [handler]}


class _Document:
    """The agent's file as text, its parsed values kept in step with each edit."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.root = self._parse()

    def _parse(self) -> jsonedit.Node:
        root = jsonedit.parse(self.text, str(self.path))
        if root.kind != "object":
            raise ConfigError(f"{self.path} does not hold a JSON object; nothing was changed")
        hooks = root.member("hooks")
        if hooks is not None and hooks.kind != "object":
            raise ConfigError(f"{self.path}: \"hooks\" is not an object; nothing was changed")
        return root

    def edit(self, text: str, expected: Any) -> None:
        """Take the edited text, if it holds exactly the expected values."""
        self.text = text
        self.root = self._parse()
        if self.root.value() != expected:
            raise VaultError(f"{self.path}: the edit would have changed more than our hooks; "
                             "nothing was changed")

    def hooks(self) -> jsonedit.Node | None:
        return self.root.member("hooks")

    def event(self, name: str) -> jsonedit.Node | None:
        hooks = self.hooks()
        found = hooks.member(name) if hooks is not None else None
        if found is not None and found.kind != "array":
            raise ConfigError(f"{self.path}: hooks.{name} is not a list; nothing was changed")
        return found


def _read(path: Path) -> str | None:
    """The file's text as its bytes hold it: `\r\n` stays `\r\n` (`read_text` would make every
    line ending `\n`, rewriting each line of a Windows user's file)."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc}); nothing was changed") from None


def _first_of_ours(doc: _Document, event: str) -> tuple[int, int] | None:
    """(group, hook) of our first hook in one event's list."""
    groups = doc.event(event)
    for g, group in enumerate(groups.value() if groups is not None else []):
        handlers = group.get("hooks") if isinstance(group, dict) else None
        for h, hook in enumerate(handlers if isinstance(handlers, list) else []):
            if _ours(hook):
                return g, h
    return None


def _take_out_ours(doc: _Document, event: str) -> bool:
    """Remove our hooks from one event, and the groups and the list they leave empty;
    whether there were any."""
    found = False
    while (where := _first_of_ours(doc, event)) is not None:
        found = True
        g, h = where
        groups = doc.event(event)
        handlers_node = groups.items[g].member("hooks") if groups is not None else None
        if groups is None or handlers_node is None:
            break
        value = doc.root.value()
        handlers = value["hooks"][event][g]["hooks"]
        if len(handlers) > 1:
            del handlers[h]
            doc.edit(jsonedit.remove(doc.text, handlers_node, h), value)
        else:
            del value["hooks"][event][g]
            doc.edit(jsonedit.remove(doc.text, groups, g), value)
    groups, hooks = doc.event(event), doc.hooks()
    if found and groups is not None and not groups.items and hooks is not None:
        value = doc.root.value()
        del value["hooks"][event]
        doc.edit(jsonedit.remove(doc.text, hooks, len(hooks.keys) - 1 - hooks.keys[::-1].index(
            event)), value)
    return found


def _drop_empty_hooks(doc: _Document) -> None:
    """`hooks` itself, when taking ours out left it empty."""
    hooks = doc.hooks()
    if hooks is not None and not hooks.items:
        value = doc.root.value()
        del value["hooks"]
        last = len(doc.root.keys) - 1 - doc.root.keys[::-1].index("hooks")
        doc.edit(jsonedit.remove(doc.text, doc.root, last), value)


def _put_ours(doc: _Document, event: str, handler: dict[str, Any]) -> None:
    """Our group as the last of the event's list (the list, and `hooks`, made if missing)."""
    group = _group(handler)
    value = doc.root.value()
    hooks = doc.hooks()
    if hooks is None:
        value["hooks"] = {event: [group]}
        doc.edit(jsonedit.append(doc.text, doc.root, {event: [group]}, key="hooks"), value)
        return
    groups = doc.event(event)
    if groups is None:
        value["hooks"][event] = [group]
        doc.edit(jsonedit.append(doc.text, hooks, [group], key=event), value)
        return
    value["hooks"][event].append(group)
    doc.edit(jsonedit.append(doc.text, groups, group), value)


def _installed(doc: _Document, event: str, handler: dict[str, Any]) -> bool:
    groups = doc.event(event)
    return groups is not None and any(
        group.value() == _group(handler) for group in groups.items)


def _ours_in(doc: _Document, event: str) -> list[str]:
    groups = doc.event(event)
    values = groups.value() if groups is not None else []
    return [hook["command"] for group in values if isinstance(group, dict)
            for hook in group.get("hooks", []) if _ours(hook)]


def _write(path: Path, original: str | None, text: str) -> str | None:
    """Write the new text (through a link, to the file it names); keep the original beside
    it first, byte for byte (`_read` decoded its bytes as they were; UTF-8 encodes them back
    the same). The name of the copy kept, if any."""
    target = Path(os.path.realpath(path))
    kept = None
    mode = 0o600
    if original is not None:
        mode = stat.S_IMODE(target.stat().st_mode)
        kept = unique_path(f"{path}{KEPT}{compact_utc_stamp()}")
        write_atomic(kept, original.encode("utf-8"), durable=True, mode=mode)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(str(target), text.encode("utf-8"), durable=True, mode=mode)
    return kept


def install(agent: Agent, env_file: str, log: RunLog) -> Done:
    path = agent.settings()
    command = hook_command(env_file)
    handler = _handler(agent, command)
    original = _read(path)
    doc = _Document(path, original if original and original.strip() else "{}\n")
    for event in agent.events:
        if not _installed(doc, event, handler):
            _take_out_ours(doc, event)
            _put_ours(doc, event, handler)
    if doc.text == original:
        return Done(EXIT_OK, [f"Already installed ({agent.title} hooks "
                              f"{', '.join(agent.events)}) in {path}"])
    kept = _write(path, original, doc.text)
    log.info(f"schedule: {agent.title} hooks written to {path}")
    lines = [f"Installed ({agent.title} hooks {', '.join(agent.events)}) in {path}:",
             f"  {command}"]
    if kept:
        lines.append(f"The file as it was is kept as {kept}")
    return Done(EXIT_OK, [*lines, *([agent.note] if agent.note else [])])


def remove(agent: Agent, log: RunLog) -> Done:
    path = agent.settings()
    original = _read(path)
    if original is None or not original.strip():
        return Done(EXIT_OK, [f"There were no memory-vault hooks in {path}."])
    doc = _Document(path, original)
    if any([_take_out_ours(doc, event) for event in agent.events]):
        _drop_empty_hooks(doc)
    if doc.text == original:
        return Done(EXIT_OK, [f"There were no memory-vault hooks in {path}."])
    kept = _write(path, original, doc.text)
    log.info(f"schedule: {agent.title} hooks removed from {path}")
    return Done(EXIT_OK, [f"Removed the memory-vault hooks from {path}; the file as it was is "
                          f"kept as {kept}"])


def show(agent: Agent, env_file: str) -> Done:
    """Our hooks as the agent's file holds them; else the ones install adds (exit 1)."""
    path = agent.settings()
    original = _read(path)
    doc = _Document(path, original) if original and original.strip() else None
    found = {event: _ours_in(doc, event) for event in agent.events} if doc else {}
    if doc is not None and all(found.values()):
        return Done(EXIT_OK, [f"# {path}", *(f"{event}: {command}" for event, commands
                                             in found.items() for command in commands)])
    command = hook_command(env_file)
    return Done(EXIT_FAILED, [f"Not installed; `schedule install --with {agent.name}` adds to "
                              f"{path}:", *(f"{event}: {command}" for event in agent.events)])
