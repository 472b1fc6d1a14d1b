"""Secrets (issue 27): every family found in every format, redacted into a valid copy that
keeps its records, its placeholders found back; nothing found in prose, placeholders or
examples; an allowed fingerprint left alone; the scan bounded on hostile input."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from typing import Any

import pytest
from fakes import fakes, fill, pem

from memory_vault.content import formats, records, secret_rules, secrets

FAKES = fakes()
PROSE = ("Remember that the user prefers tabs, writes Python 3.11, and keeps notes in "
         "~/notes; see https://docs.python.org/3/library/re.html#module-re or mail "
         "ops@example.org. Commit 3f9a1c2 fixed the sk- prefix check; the ghp_ tokens "
         "rotate monthly. UUID 123e4567-e89b-12d3-a456-426614174000, sha256 "
         "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.")
FORMATS = ("json", "jsonl", "text", "sqlite")
NEWLINE = b"\n"


def _json(rule: str, text: str) -> bytes:
    if rule == "gcp-service-account-key":
        key = FAKES[rule][1]
        return json.dumps({"type": "service_account", "private_key": key,
                           "client_email": "vault@project.iam.gserviceaccount.com"},
                          indent=2).encode()
    return json.dumps({"memories": [PROSE, f"note: {text} (kept)"], "count": 2},
                      indent=2).encode()


def _jsonl(rule: str, text: str) -> bytes:
    second: dict[str, object] = {"type": "entity", "name": "key", "observations": [
        f"note: {text}"]}
    if rule == "gcp-service-account-key":
        second = {"type": "service_account", "private_key": FAKES[rule][1]}
    lines = [{"type": "entity", "name": "user", "observations": [PROSE]}, None, second,
             {"type": "relation", "from": "user", "to": "key", "relationType": "owns"}]
    return b"\n".join(b"" if line is None else json.dumps(line).encode() for line in lines)


def _sqlite(text: str, *, without_rowid: bool = False) -> bytes:
    db = sqlite3.connect(":memory:")
    if without_rowid:
        db.execute("CREATE TABLE memories (id TEXT PRIMARY KEY, text TEXT, meta BLOB) "
                   "WITHOUT ROWID")
    else:
        db.execute("CREATE TABLE memories (id INTEGER PRIMARY KEY, text TEXT, meta BLOB)")
    db.executemany("INSERT INTO memories VALUES (?, ?, ?)",
                   [(1, PROSE, None), (2, f"note: {text}", b"\x00\x01"), (3, "bye", None)])
    db.commit()
    return db.serialize()


def _build(fmt: str, rule: str) -> tuple[bytes, str]:
    """A file of `fmt` holding the fake of `rule`, and where the finding should be."""
    text, secret = FAKES[rule]
    if fmt == "json":
        data = _json(rule, text)
        at = data.index(json.dumps(secret)[1:-1].encode())
        return data, f"line {data.count(NEWLINE, 0, at) + 1}"
    if fmt == "jsonl":
        return _jsonl(rule, text), "record 2"
    if fmt == "text":
        return f"# Notes\n\n{PROSE}\n\n- key: {text}\n- more\n".encode(), "line 5"
    if rule == "gcp-service-account-key":
        text = json.dumps({"type": "service_account", "private_key": secret})
    return _sqlite(text), "table memories row 2"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rule", sorted(FAKES))
def test_every_family_is_found_and_redacted_in_every_format(rule: str, fmt: str) -> None:
    data, where = _build(fmt, rule)
    assert formats.judge(f"x.{'md' if fmt == 'text' else fmt}", data).problem is None
    [finding] = secrets.scan(fmt, data)
    assert (finding.rule, finding.where) == (rule, where)
    secret = FAKES[rule][1]
    escaped_in_text = rule == "gcp-service-account-key" and fmt in ("text", "sqlite")
    if not escaped_in_text:
        assert finding.fingerprint == secrets.fingerprint(secret.encode())
    redacted = bytes(secrets.redact(fmt, data, [finding]))
    name = f"x.{'md' if fmt == 'text' else fmt}"
    assert formats.judge(name, redacted).format == fmt
    assert formats.judge(name, redacted).problem is None
    assert records.count(fmt, redacted) == records.count(fmt, data)
    for line in secret.splitlines():
        assert line.encode() not in redacted
        assert json.dumps(line)[1:-1].encode() not in redacted
    assert secrets.placeholders(redacted) == [(rule, finding.fingerprint)]
    assert secrets.scan(fmt, redacted) == []


def test_every_rule_has_a_fake_and_a_kebab_case_id() -> None:
    assert set(secret_rules.RULES) == set(FAKES)
    assert all(rule.replace("-", "").isalnum() and rule == rule.lower()
               for rule in secret_rules.RULES)


def test_a_pem_key_json_escaped_inside_a_string_becomes_one_placeholder() -> None:
    key = pem("escaped")
    data = json.dumps({"notes": "the deploy key:\n" + key + "\nend"}).encode()
    [finding] = secrets.scan("json", data)
    assert (finding.rule, finding.where) == ("private-key", "line 1")
    assert finding.fingerprint == secrets.fingerprint(key.encode())
    notes = json.loads(secrets.redact("json", data, [finding]))["notes"]
    mark = secret_rules.placeholder("private-key", finding.fingerprint).decode()
    assert notes == f"the deploy key:\n{mark}\nend"


def test_a_pem_key_in_markdown_keeps_every_line() -> None:
    data = f"before\n{pem('md')}\r\nafter\n".encode()
    [finding] = secrets.scan("text", data)
    redacted = secrets.redact("text", data, [finding])
    assert redacted.count(b"\n") == data.count(b"\n")
    assert redacted.count("«redacted:private-key:".encode()) == 5


NEGATIVES = [
    PROSE,
    "postgres://vault:${DB_PASSWORD}@db.internal:5432/memory",
    "mysql://root:<password>@localhost/app and redis://:changeme@cache:6379",
    "https://user:your_password@host.example/x and amqp://guest:password@rabbit",
    "AKIA" + "IOSFODNN7" + "EXAMPLE with aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPx"
    + "RfiCY" + "EXAMPLEKEY",
    "ghp_" + "x" * 36 + " and sk-ant-api03-" + "A" * 95 + " and 123456789:A" + "A" * 34,
    "an anon key: " + FAKES["supabase-service-role-key"][0].replace(
        FAKES["supabase-service-role-key"][0].split(".")[1],
        "eyJyb2xlIjoiYW5vbiIsImlzcyI6InN1cGFiYXNlIn0"),
    "-----BEGIN RSA PRIVATE KEY-----\nshort\n-----END RSA PRIVATE KEY-----",
    "url https://hooks.slack.com/services/ and a task-ghp_" + fill(36, "inner"),
    "run 12345:Abc, time 10:30, ratio 1234567890123:A" + fill(34, "long-number"),
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_nothing_is_found_in_prose_placeholders_or_examples(text: str) -> None:
    assert secrets.scan("text", text.encode()) == []
    assert secrets.scan("json", json.dumps({"v": text}).encode()) == []


def test_our_own_placeholders_are_not_secrets() -> None:
    marks = [f"«redacted:{rule}:0123456789ab»" for rule in secret_rules.RULES]
    text = "\n".join([*marks, "postgres://user:«redacted:url-with-password:0123456789ab»@db/x"])
    assert secrets.scan("text", text.encode()) == []
    found = secrets.placeholders(text.encode())
    assert [rule for rule, _fingerprint in found] == list(secret_rules.RULES)
    ascii_json = json.dumps({"v": marks[0]}).encode()  # ensure_ascii: \u00ab...\u00bb
    assert secrets.placeholders(ascii_json) == [(secret_rules.RULES[0], "0123456789ab")]


def test_an_allowed_fingerprint_is_left_alone() -> None:
    data, _where = _build("text", "github-pat")
    [finding] = secrets.scan("text", data)
    assert secrets.scan("text", data, frozenset({finding.fingerprint})) == []
    assert secrets.redact("text", data, []) == data


def test_the_fingerprint_is_slow_salted_and_stable() -> None:
    print_ = secrets.fingerprint(b"hunter2")
    assert print_ != hashlib.sha256(b"hunter2").hexdigest()[:12]
    assert print_ == "893e1296574b"  # the same on every machine and run
    assert len(print_) == 12 and int(print_, 16) >= 0


def test_a_key_split_across_json_strings_is_not_a_finding() -> None:
    data = json.dumps({"a": "-----BEGIN RSA PRIVATE KEY-----", "b": fill(80, "split"),
                       "c": "-----END RSA PRIVATE KEY-----"}).encode()
    assert secret_rules.find(data) != []
    assert secrets.scan("json", data) == []


def test_a_torn_json_lines_record_is_scanned_and_stays_as_torn() -> None:
    key, token = FAKES["github-pat"][1], FAKES["huggingface-token"][1]
    data = (json.dumps({"a": "x"}) + '\n{"b": "' + key + "\n" + json.dumps({"c": token})
            + "\n").encode()
    assert formats.judge("m.jsonl", data).problem == "line 2 is not JSON"
    found = secrets.scan("jsonl", data)
    assert [(f.rule, f.where) for f in found] == [("github-pat", "record 2"),
                                                  ("huggingface-token", "record 3")]
    redacted = secrets.redact("jsonl", data, found)
    assert formats.judge("m.jsonl", redacted).problem == "line 2 is not JSON"
    assert key.encode() not in redacted and token.encode() not in redacted


def test_a_finding_that_is_not_in_the_version_is_refused() -> None:
    data, _where = _build("text", "github-pat")
    [finding] = secrets.scan("text", data)
    with pytest.raises(secrets.SecretProblem):
        secrets.redact("text", data.replace(b"key:", b"kex:!"), [finding])


def test_bytes_are_scanned_raw_and_never_redacted() -> None:
    data = b"\xff\x00 token " + FAKES["huggingface-token"][1].encode() + b" \xfe"
    [finding] = secrets.scan("bytes", data)
    assert (finding.rule, finding.where) == ("huggingface-token", "byte 9")
    with pytest.raises(secrets.SecretProblem):
        secrets.redact("bytes", data, [finding])


def test_sqlite_without_rowid_wal_header_and_a_deleted_row_in_free_space() -> None:
    secret = FAKES["anthropic-api-key"][1]
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA secure_delete = OFF")
    db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
    db.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, line TEXT)")
    db.executemany("INSERT INTO kv VALUES (?, ?)", [("a", PROSE), ("key", f"is {secret}")])
    db.execute("INSERT INTO log VALUES (1, ?)", (f"old {FAKES['gitlab-pat'][1]} " * 3,))
    db.execute("DELETE FROM log")
    db.commit()
    data = bytearray(db.serialize())
    data[18:20] = b"\x02\x02"  # as a WAL-mode database's image says
    found = secrets.scan("sqlite", data)
    assert (found[0].rule, found[0].where, found[0].span) == (
        "anthropic-api-key", "table kv row key", secrets.CELL)
    assert found[1].rule == "gitlab-pat" and found[1].where.startswith("outside the tables")
    redacted = secrets.redact("sqlite", data, found)
    assert redacted[18:20] == b"\x02\x02"
    assert secret.encode() not in redacted and FAKES["gitlab-pat"][1].encode() not in redacted
    assert records.count("sqlite", redacted) == records.count("sqlite", data) == 2
    assert secrets.scan("sqlite", redacted) == []
    with records.open_image(redacted) as check:
        assert check.execute("SELECT v FROM kv WHERE k = 'key'").fetchone()[0] == (
            "is " + secret_rules.placeholder("anthropic-api-key", found[0].fingerprint).decode())


def test_sqlite_fts_table_is_redacted_through_itself() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE notes USING fts5(body)")
    db.executemany("INSERT INTO notes (body) VALUES (?)",
                   [(PROSE,), ("token " + FAKES["github-pat"][1],)])
    db.commit()
    data = db.serialize()
    [finding] = secrets.scan("sqlite", data)
    assert finding.where == "table notes row 2"
    redacted = secrets.redact("sqlite", data, [finding])
    with records.open_image(redacted) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check.execute("SELECT count(*) FROM notes WHERE notes MATCH 'token'"
                             ).fetchone()[0] == 1


class _OldSqlite(sqlite3.Connection):
    """A SQLite older than 3.37: `PRAGMA table_list` is unknown, so it returns nothing."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return super().execute("SELECT 1 WHERE 0" if "table_list" in sql else sql, parameters)


def test_without_table_list_a_virtual_tables_storage_is_still_left_to_it() -> None:
    db = sqlite3.connect(":memory:", factory=_OldSqlite)
    db.execute("CREATE VIRTUAL TABLE notes USING fts5(body)")
    db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
    assert [(t, key) for t, key, _c in secrets._layout(db)] == [("notes", ["rowid"]),
                                                               ("kv", ["k"])]


def test_a_redaction_that_breaks_a_unique_column_is_refused() -> None:
    secret = FAKES["github-pat"][1]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (v TEXT UNIQUE)")
    [finding] = secrets.scan("text", secret.encode())
    mark = secret_rules.placeholder("github-pat", finding.fingerprint).decode()
    db.executemany("INSERT INTO t VALUES (?)", [(secret,), (mark,)])
    db.commit()
    data = db.serialize()
    with pytest.raises(secrets.SecretProblem):
        secrets.redact("sqlite", data, secrets.scan("sqlite", data))


def _hostile() -> bytes:
    parts = [b"-----BEGIN RSA PRIVATE KEY-----\n" * 5000,
             b"sk-ant-api03-" + b"A" * 1_000_000, b" glpat-" * 150_000, b"eyJ" * 300_000,
             b" ghp_" + b"x9" * 500_000, b"1:A" * 300_000, b"a://b:" * 150_000,
             b" AKIA" * 200_000, b"secret_key=" * 80_000, b"-----BEGIN " * 80_000,
             b"\"" * 500_000, b"A" * 1_000_000]
    return b"\n".join(parts)[:10_000_000].ljust(10_000_000, b"z")


@pytest.mark.parametrize("fmt", ["text", "json", "bytes"])
def test_a_hostile_ten_megabytes_scans_in_bounded_time(fmt: str) -> None:
    data = _hostile()
    started = time.perf_counter()
    secrets.scan(fmt, data)
    elapsed = time.perf_counter() - started
    print(f"{fmt}: 10 MB hostile scanned in {elapsed:.3f} s")
    assert elapsed < 5
