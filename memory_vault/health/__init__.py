"""Health: judging the backup: `status` (never online) and its problems, `verify`, and `ack`
of a shrink alarm."""
