"""Store: the git vault, composed of its parts (clone, commits, remote, compaction, reading)
around one seam for the bytes of memory; git itself is started only by `store.git`."""
