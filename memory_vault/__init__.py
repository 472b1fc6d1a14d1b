"""Memory Vault: versioned git backups of AI-agent memory files.

Nothing is imported here on purpose: the cron entry point must stay cheap.
"""

__version__ = "0.1.0"
