"""Schema: the one table of every setting, its default as a user would write it, and its help.

`.env.example` and the README's settings table are generated from `SETTINGS`
(`settings.docs`), and a test keeps them equal; `load` reads and validates values by it.
Plain slotted classes: this module is on the cron path.
"""

SEED_FILES = (
    "memory.json",
    "github_copilot_memories.json",
    "gpt4o_memories.json",
    "extendedcontext.json",
    "claude_opus_memories.json",
    "claude_sonnet_memories.json",
    "gemini_pro_memories.json",
    "gpt4_memories.json",
)
DEFAULT_FILES = (*SEED_FILES, "*_memories.json", "memory.jsonl")
MAX_TIMEOUT_SECONDS = 86400.0  # a day: anything larger is a typo, and overflows timers
MAX_NAME_BYTES = 255  # a file or folder name, on every file system we know


class Setting:
    """One variable: its name, its default as a user would write it ("" = computed or
    none), a one-line description and, for computed defaults, what the default is."""

    __slots__ = ("default", "help", "name", "shown_default")

    def __init__(self, name: str, default: str, help_text: str, shown_default: str = ""):
        self.name = name
        self.default = default
        self.help = help_text
        self.shown_default = shown_default or (f"`{default}`" if default else "none")


SETTINGS = (
    Setting("MEMORY_VAULT_SOURCE_DIR", "", "folder that holds the memory files",
            "current directory"),
    Setting("MEMORY_VAULT_FILES", ",".join(DEFAULT_FILES),
            "comma-separated names or glob patterns, relative to the source dir; they may "
            "name subfolders (`memory-bank/*.md`) and `**` matches zero or more folders",
            "the eight files of the seed, plus `*_memories.json` and `memory.jsonl`"),
    Setting("MEMORY_VAULT_EXCLUDE", "",
            "comma-separated patterns never backed up (same syntax as `FILES`; an exclude "
            "wins)"),
    Setting("MEMORY_VAULT_REMOTE", "", "git URL or path of the backup repository",
            "embedded: a bare repository `$MEMORY_VAULT_HOME/vault.git`, created on first use"),
    Setting("MEMORY_VAULT_HOME", "", "data folder: clone, state, lock",
            "`$XDG_DATA_HOME/memory-vault` (`~/.local/share/memory-vault`)"),
    Setting("MEMORY_VAULT_CLONE_DIR", "", "the local clone", "`$MEMORY_VAULT_HOME/clone`"),
    Setting("MEMORY_VAULT_SUBDIR", "rAgentShared", "folder inside the vault"),
    Setting("MEMORY_VAULT_BRANCH", "main", "branch"),
    Setting("MEMORY_VAULT_STATE_FILE", "", "the `.last_sync` file",
            "`$MEMORY_VAULT_HOME/.last_sync`"),
    # The spec's paths in /tmp: `logfile` opens them without following links, mode 0600.
    Setting("MEMORY_VAULT_LOG_FILE", "/tmp/memoryvaultsync.log", "info log"),  # noqa: S108
    Setting("MEMORY_VAULT_ERR_FILE", "/tmp/memoryvaultsync.err", "error log"),  # noqa: S108
    Setting("MEMORY_VAULT_PUSH", "true", "push after commit (`true`/`false`)"),
    Setting("MEMORY_VAULT_VALIDATE", "true",
            "skip files that do not validate in their format; `MEMORY_VAULT_VALIDATE_JSON`, "
            "the old name, is still read"),
    Setting("MEMORY_VAULT_MAX_FILE_MB", "95",
            "larger files are skipped, except JSON Lines, stored in pieces under the limit "
            "(hosts reject >100 MB)"),
    Setting("MEMORY_VAULT_GIT_TIMEOUT", "60",
            "seconds allowed for one network operation"),
    Setting("MEMORY_VAULT_STALE_AFTER", "45",
            "minutes after which `status` calls the backup stale"),
    Setting("MEMORY_VAULT_SHRINK_ALERT", "50",
            "percent of its records a file may lose in one version before it raises a "
            "shrink alarm; `0` turns it off"),
    Setting("MEMORY_VAULT_SECRETS", "redact",
            "what a credential found in a changed file gets: `redact` (the vault's copy holds a "
            "placeholder), `refuse` (the file is skipped) or `off` (no scan)"),
    Setting("MEMORY_VAULT_ENCRYPT", "",
            "`age`: everything that reaches the remote is encrypted (see Encrypted vault)",
            "off"),
    Setting("MEMORY_VAULT_IDENTITY", "", "the age identity file that decrypts the vault",
            "`~/.config/memory-vault/identity.txt`"),
    Setting("MEMORY_VAULT_RECIPIENTS", "",
            "extra age public keys (`age1...`, comma-separated) the vault is encrypted to: "
            "a fleet, each machine with its own identity"),
    Setting("MEMORY_VAULT_PING_URL", "",
            "heartbeat URL pinged by each sync (healthchecks.io and its peers: `URL/start`, "
            "`URL`, `URL/fail`)"),
    Setting("MEMORY_VAULT_AUTHOR_NAME", "Memory Vault", "commit author's name"),
    Setting("MEMORY_VAULT_AUTHOR_EMAIL", "", "commit author's email",
            "`memory-vault@<hostname>`"),
)

VARIABLES: dict[str, str] = {s.name: s.default for s in SETTINGS}
RENAMED = {"MEMORY_VAULT_VALIDATE_JSON": "MEMORY_VAULT_VALIDATE"}  # old name -> new name
