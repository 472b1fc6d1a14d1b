"""Recall: memory read back from the vault: restore (plan, then safe writes), history and
diff, with versions named by commit or by moment."""
