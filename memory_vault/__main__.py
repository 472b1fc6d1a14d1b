"""`python -m memory_vault`: the same program as `memory-vault`."""

from memory_vault.entry import main

raise SystemExit(main())
