"""Content: what a version holds: its format, whether it is whole, its records, and what
changed between two versions, record by record."""
