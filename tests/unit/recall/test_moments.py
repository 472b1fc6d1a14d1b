"""Moments: ISO 8601 dates and times, UTC unless they say otherwise."""

from __future__ import annotations

from memory_vault.recall.moments import parse_when


def test_when_parsing() -> None:
    assert parse_when("1970-01-02") == 86400
    assert parse_when("1970-01-01T02:00:00+02:00") == 0
    assert parse_when("1970-01-01T00:01:00Z") == 60

