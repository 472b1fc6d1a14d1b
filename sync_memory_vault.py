#!/usr/bin/env python3
"""Memory Vault: back up AI-agent memory files to git. Run by cron; see README.md."""

import sys

from memory_vault.entry import main

if __name__ == "__main__":
    sys.exit(main())
