"""Sources: which memory files exist and which may have changed, by stat alone, and the one
rule (git's own) for the names of memory files."""
