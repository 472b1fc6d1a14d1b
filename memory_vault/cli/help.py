"""Help: each command's one-line summary and the real examples its `--help` ends with.

Kept apart from the parsing so that `cli.py` shows the commands' shape at a glance; a unit
test checks that every command has both.
"""

WHEN = ("WHEN is an ISO 8601 date or time, UTC unless it names an offset: 2026-11-24, "
        "2026-11-24T09:00Z, 2026-11-24T10:00+01:00. REV is a commit, as `history` shows it.")

SUMMARY = {
    "sync": "Back up the memory files that changed (one commit, then push).",
    "init": "Save the settings cron needs and create the clone.",
    "restore": "Bring memory files back from the vault, as of any moment.",
    "history": "The vault's commits, newest first (with FILE: its records).",
    "diff": "What an agent learned or forgot in one file, record by record.",
    "ack": "Close a shrink alarm, so that status is healthy again.",
    "status": "Is memory safely in the vault? Exit 1 when not (monitoring).",
    "verify": "Check the backup: fsck, remote, a test restore, the sources.",
    "schedule": "Run Memory Vault on a schedule, as a watch service, or from hooks.",
    "install": "Install the one scheduled job (or replace ours).",
    "remove": "Remove the scheduled job (and nothing else).",
    "show": "Print the job: installed, or the one install would write.",
    "watch": "Sync each time the memory files change and the writing stops.",
    "source": "The folders backed up besides the source dir (one per agent).",
    "add": "Track a folder as a source, with an agent's preset or patterns.",
    "list": "Every source: name in the vault, folder, preset, patterns.",
    "remove-source": "Stop tracking a source (the vault keeps its history).",
    "discover": "Find the agent memory on this machine, and how to track it.",
    "secrets": "The secrets found in memory (never shown), allowed, purged.",
    "allow": "Keep one secret as it is in the vault from now on.",
    "purge": "Take one secret out of every commit, here and on the remote.",
    "doctor": "What is set and from where, the job, the remote; what to do.",
}

EXAMPLES = {
    "sync": ["memory-vault --now", "memory-vault sync --dry-run"],
    "init": ["memory-vault init --source ~/agents",
             "memory-vault init --remote git@github.com:me/memory-vault.git"],
    "restore": ["memory-vault restore", "memory-vault restore memory.json --at 2026-11-24T09:00Z",
                "memory-vault restore --commit 1a2b3c4d5e6f --to /tmp/look"],
    "history": ["memory-vault history --limit 20", "memory-vault history memory.json --json"],
    "diff": ["memory-vault diff memory.json",
             "memory-vault diff memory.json --from 2026-11-24 --to 2026-11-25 --json"],
    "ack": ["memory-vault ack memory.json", "memory-vault ack"],
    "status": ["memory-vault status", "memory-vault status --json"],
    "verify": ["memory-vault verify"],
    "schedule": ["memory-vault schedule install", "memory-vault schedule show --with systemd"],
    "install": ["memory-vault schedule install --every 30",
                "memory-vault schedule install --with systemd",
                "memory-vault schedule install --watch",
                "memory-vault schedule install --with claude-code"],
    "remove": ["memory-vault schedule remove", "memory-vault schedule remove --watch",
               "memory-vault schedule remove --with claude-code"],
    "show": ["memory-vault schedule show", "memory-vault schedule show --with claude-code"],
    "watch": ["memory-vault watch", "memory-vault schedule install --watch"],
    "source": ["memory-vault source add ~/.claude --preset claude-code",
               "memory-vault source list"],
    "add": ["memory-vault source add ~/.codex --preset codex",
            "memory-vault source add ~/work/app --files 'memory-bank/*.md,CLAUDE.md'",
            "memory-vault source add ~/chroma --preset chroma --name notes-db"],
    "list": ["memory-vault source list --json", "memory-vault source list --presets"],
    "remove-source": ["memory-vault source remove codex"],
    "discover": ["memory-vault discover", "memory-vault discover ~/projects --add"],
    "secrets": ["memory-vault secrets", "memory-vault secrets --json"],
    "allow": ["memory-vault secrets allow 3f9a1c0b7d2e"],
    "purge": ["memory-vault secrets purge 3f9a1c0b7d2e",
              "memory-vault secrets purge 3f9a1c0b7d2e --yes"],
    "doctor": ["memory-vault doctor", "memory-vault doctor --json",
               "memory-vault doctor --env-file ~/.config/memory-vault/.env"],
}


def epilog(name: str, note: str = "") -> str:
    """The end of a command's help: a note, then its examples (`\\b` keeps the lines)."""
    lines = [note, ""] if note else []
    return "\n".join([*lines, "\b", "Examples:", *(f"  {e}" for e in EXAMPLES[name])])
