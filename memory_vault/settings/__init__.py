"""Settings: what the user configured, from option, environment, env file or default, validated
before anything is touched (one table of every variable, one place for every path)."""
