"""Triggers: what starts a sync: the one scheduled job (cron, a systemd timer, a launchd
agent), the `watch` process, an agent's hooks."""
