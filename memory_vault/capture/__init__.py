"""Capture: one version of a file read whole, by descriptor, never a mix of two writes
(SQLite through its online backup API); `Version` is the one type a version has."""
