"""Formats: what kind of memory a file holds, and whether a version of it is whole.

Agents keep memory as JSON, JSON Lines (the MCP memory server's knowledge graph, even in a
file named `memory.json`), Markdown or other text, and SQLite. A file is recognised by its
content; the name only breaks ties (a `.json` file must hold JSON or JSON Lines, a `.md` file
UTF-8 text). A version that is not whole in its format must never replace a good copy, and a
JSON Lines file whose last line does not parse is a write in progress, to be read again.

Its names are needed on the cron path (the state records each file's format), so `json` is
imported only by the functions that parse.
"""

from memory_vault.capture.sqlite import SQLITE_HEADER

JSON = "json"
JSONL = "jsonl"
SQLITE = "sqlite"
TEXT = "text"
BYTES = "bytes"

JSONL_SUFFIXES = (".jsonl", ".ndjson")
TEXT_SUFFIXES = (".md", ".mdc", ".txt", ".markdown")
BEING_WRITTEN = "last line incomplete: being written, read again next run"
_MCP_TYPES = ("entity", "relation")


class Verdict:
    """A version's format and, if it is not whole, why (`retry`: it is being written);
    `records` when the check counted them on the way (JSON, JSON Lines)."""

    __slots__ = ("format", "middle", "problem", "records", "retry", "torn_end")

    def __init__(self, fmt: str, problem: str | None = None, *, retry: bool = False,
                 records: int | None = None, middle: bool = False) -> None:
        self.format = fmt
        self.problem = problem
        self.retry = retry
        self.records = records
        self.middle = middle  # JSON Lines whose only bad lines are before its last one
        self.torn_end = 0  # where the last of those lines ends (its prefix names them)


def judge(name: str, data: bytes | bytearray) -> Verdict:
    """The format of `data` (one version of the file `name`) and whether it is whole."""
    lower = name.lower()
    if data[:16] == SQLITE_HEADER:
        return Verdict(SQLITE)
    if lower.endswith(JSONL_SUFFIXES):
        return json_lines(data)
    named_json = lower.endswith(".json")
    if named_json or _starts_like_json(data):
        verdict = _json_or_lines(data)
        if verdict.problem is None or named_json:
            return verdict
    return _text(data, required=lower.endswith(TEXT_SUFFIXES))


def sniff(name: str, data: bytes | bytearray) -> str:
    """The format of a version already known to be whole (a vault copy): `judge` without
    parsing every line of JSON Lines (a first line that parses, and more lines after it,
    cannot be one JSON document)."""
    lower = name.lower()
    if data[:16] == SQLITE_HEADER:
        return SQLITE
    if lower.endswith(JSONL_SUFFIXES):
        return JSONL
    if lower.endswith(".json") or _starts_like_json(data):
        head = bytes(data[: 1 << 20])
        lines = [line for line in head.split(b"\n") if line.strip()][:2]
        if len(lines) == 2 and _first_line_parses(head):
            return JSONL
    return judge(name, data).format


def _starts_like_json(data: bytes | bytearray) -> bool:
    start = data[:64].lstrip()
    return start[:1] in (b"{", b"[")


def _json_or_lines(data: bytes | bytearray) -> Verdict:
    """One JSON document, or JSON Lines (two lines or more, the first one whole)."""
    if not data or data.isspace():
        return Verdict(JSON, "not valid JSON: the file is empty")
    import json

    try:
        document = json.loads(data, object_pairs_hook=_count_object)
    except RecursionError:
        return Verdict(JSON, "not valid JSON: nested too deeply")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        lines = json_lines(data)
        if _line_count(data) > 1 and _first_line_parses(data):
            return lines
        return Verdict(JSON, f"not valid JSON: {exc}")
    if isinstance(document, _McpLeaves):  # one MCP graph line: JSON Lines, one record
        return Verdict(JSONL, records=1)
    return Verdict(JSON, records=leaf_count(document))


class _Leaves(int):
    """An object already parsed, standing for its leaf count (memory stays small)."""

    __slots__ = ()


class _McpLeaves(_Leaves):
    """...and it was one line of an MCP knowledge graph (`type` entity or relation)."""

    __slots__ = ()


def _count_object(pairs: list[tuple[str, object]]) -> _Leaves:
    total = sum(leaf_count(value) for _key, value in pairs)
    if any(key == "type" and value in _MCP_TYPES for key, value in pairs):
        return _McpLeaves(total)
    return _Leaves(total)


def leaf_count(value: object) -> int:
    """Records of a value parsed with `_count_object`: its leaves, wherever nested."""
    if isinstance(value, _Leaves):
        return int(value)
    if isinstance(value, list):
        return sum(leaf_count(item) for item in value)
    return 1


def count_json(data: bytes | bytearray) -> int:
    """The leaves of one JSON document, counted while parsing (nothing kept)."""
    import json

    return leaf_count(json.loads(data, object_pairs_hook=_count_object))


def json_lines(data: bytes | bytearray) -> Verdict:
    """Every non-empty line parses; a last line that does not is being written. Lines before
    the last that do not parse are named (`middle`): the file may still be backed up once
    it is seen unchanged (a torn line an agent left behind must not block it for good)."""
    import json

    lines: list[bytes | bytearray] = list(data.split(b"\n"))
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records = offset = torn_end = 0
    bad: list[int] = []
    for number, line in enumerate(lines):
        offset += len(line) + 1
        if not line.strip():
            continue
        records += 1
        try:
            json.loads(line, object_pairs_hook=_discard)
        except RecursionError:
            bad.append(number + 1)
            torn_end = offset
        except ValueError:
            if number == last:
                return Verdict(JSONL, BEING_WRITTEN, retry=True)
            bad.append(number + 1)
            torn_end = offset
    if not bad:
        return Verdict(JSONL, records=records)
    shown = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
    verdict = Verdict(JSONL, f"line{'s' if len(bad) > 1 else ''} {shown} "
                      f"{'are' if len(bad) > 1 else 'is'} not JSON", records=records,
                      middle=True)
    verdict.torn_end = torn_end
    return verdict


def _line_count(data: bytes | bytearray) -> int:
    return sum(1 for line in bytes(data).split(b"\n") if line.strip())


def _first_line_parses(data: bytes | bytearray) -> bool:
    import json

    first = next(line for line in bytes(data).split(b"\n") if line.strip())
    try:
        json.loads(first, object_pairs_hook=_discard)
    except (ValueError, RecursionError):
        return False
    return True


def _discard(_pairs: object) -> None:
    return None


def _text(data: bytes | bytearray, *, required: bool) -> Verdict:
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        if required:
            return Verdict(TEXT, f"not valid UTF-8 text (byte {exc.start})")
        return Verdict(BYTES)
    return Verdict(TEXT)
