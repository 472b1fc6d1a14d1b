"""Envelope: the one JSON document every command prints with `--json`, results and errors alike.

An object carrying `"schema": 1` and the process's `exit_code` beside the command's own keys,
which stay at the top level (`status` keeps `healthy`, `problems` and the rest there);
`history` stays a list of objects. A command that fails prints `{"schema": 1, "error":
{"exit_code": N, "message": "..."}}`, with the variable a bad setting names. Nothing else is
ever written to stdout with `--json` (a person's lines go to stderr, or nowhere). Pinned by
`tests/test_json_contract.py`, which runs every command.
"""

import json

SCHEMA = 1


def of_result(payload: object, exit_code: int) -> object:
    """The envelope of a command's result (`as_dict()`), with the exit code it decided."""
    if isinstance(payload, dict):
        return {"schema": SCHEMA, **payload, "exit_code": exit_code}
    return payload


def of_error(exit_code: int, message: str, variable: str | None = None) -> dict[str, object]:
    """The envelope of a command that failed."""
    error: dict[str, object] = {"exit_code": exit_code, "message": message}
    if variable:
        error["variable"] = variable
    return {"schema": SCHEMA, "error": error}


def dumps(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
