"""Journal: what is known locally between runs: the `.last_sync` cache with its format
version and migrations, the shrink alarm rule, and the cache of record counts."""
