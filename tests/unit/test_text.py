"""Names, patterns, URLs, state and env-file text: the small parsers of the cron path."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from dotenv import dotenv_values

from memory_vault.capture.sqlite import SQLITE_HEADER
from memory_vault.capture.version import Version
from memory_vault.content import formats
from memory_vault.journal import cache as state
from memory_vault.recall.moments import parse_when
from memory_vault.settings import paths
from memory_vault.settings.envfile import quote, update_env_file
from memory_vault.sources import names
from memory_vault.sources import scan as sources
from memory_vault.urls import Redactor, mask_url_credentials, remote_identity, split_credentials


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("*_memories.json", "gpt4_memories.json", True),
    ("*_memories.json", "memories.json", False),
    ("memory.json?", "memory.json", False),
    ("a*b*c", "axxbyyc", True),
    ("*", "", True),
])
def test_wildcards(pattern: str, name: str, matches: bool) -> None:
    assert sources.wildcard_match(pattern, name) is matches


def test_expand_globs_subfolders_and_sidecars(tmp_path: Path) -> None:
    for name in ("memory.json", "a_memories.json", "bank/x.md", "deep/1/2/y.md", "agent.db",
                 "agent.db-wal", "folder_memories.json/inner"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    present, absent = sources.expand(
        ("memory.json", "gone.json", "*_memories.json", "bank/*.md", "deep/**/*.md", "agent.db*"),
        str(tmp_path))
    assert present == ["memory.json", "a_memories.json", "bank/x.md", "deep/1/2/y.md",
                       "agent.db"]
    assert absent == ["gone.json"]


@pytest.mark.parametrize("part", [".git", ".GIT", ".git.", "git~1", ".Git "])
def test_git_names(part: str) -> None:
    assert names.is_git_name(part)
    assert names.unholdable(f"a/{part}/b") is not None
    assert names.unholdable("a/.github/b") is None


def test_url_credentials() -> None:
    url = "https://vault:tok%40en@host/x.git"
    assert split_credentials(url) == ("https://host/x.git", "vault", "tok@en")
    assert split_credentials("git@host:x.git") == ("git@host:x.git", "", "")
    assert split_credentials("ssh://git@host/x") == ("ssh://git@host/x", "", "")
    assert remote_identity(url) == "https://host/x.git"
    assert mask_url_credentials(f"see {url} now") == "see https://vault:***@host/x.git now"
    assert Redactor.for_remote(url).clean("said tok@en and tok%40en") == "said *** and ***"


@pytest.mark.parametrize("value", ["/srv/agents\\", "a\\\\b", "x${y}z", "it's", "", "plain",
                                   "sp ace", "${A:-b}", "tab\tin", "ünï"])
def test_env_file_quoting_reads_back(value: str) -> None:
    parsed = dotenv_values(stream=io.StringIO(f"K={quote(value)}\n"), interpolate=True)
    assert parsed["K"] == value


def test_env_file_update_keeps_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "conf/.env"
    path.parent.mkdir()
    path.write_text("# mine\nOTHER=1\nMEMORY_VAULT_SUBDIR=old\n")
    update_env_file(str(path), {"MEMORY_VAULT_SUBDIR": "new dir", "MEMORY_VAULT_PUSH": "true"})
    assert path.read_text() == ("# mine\nOTHER=1\nMEMORY_VAULT_SUBDIR='new dir'\n"
                                "MEMORY_VAULT_PUSH=true\n")
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_state_round_trip(tmp_path: Path) -> None:
    original = state.Journal()
    original.vault = ("https://h/x.git", "main", "rAgentShared")
    original.files["we\tird\nname.json"] = Version("we\tird\nname.json", size=11,
                                                    sha256="a" * 64, stat_size=12,
                                                    mtime_ns=34, saved=56, fmt="jsonl")
    original.skips["bad.json"] = state.SkipNote("not valid JSON", 0)
    original.push_error_kind, original.push_error = "network", "down"
    original.last_success, original.last_commit = 99, "c" * 40
    path = tmp_path / ".last_sync"
    state.save_journal(str(path), original, now=1)
    loaded = state.load_journal(str(path), original.vault)
    assert loaded.condition == state.FOUND
    record = loaded.files["we\tird\nname.json"]
    assert (record.stat_size, record.size, record.mtime_ns, record.saved, record.format) == (
        12, 11, 34, 56, "jsonl")
    assert loaded.skips["bad.json"].reason == "not valid JSON"
    assert (loaded.push_error, loaded.last_commit) == ("down", "c" * 40)
    other = state.load_journal(str(path), ("https://h/y.git", "main", "rAgentShared"))
    assert other.condition == state.FOREIGN and other.other_vault == original.vault
    path.write_text("memory-vault-state 4\nsuccess\tx\t\n")
    assert state.load_journal(str(path)).condition == state.DAMAGED
    assert state.load_journal(str(tmp_path / "none")).condition == state.MISSING


@pytest.mark.parametrize(("name", "data", "fmt", "problem"), [
    ("memory.json", b'{"a": 1}', formats.JSON, None),
    ("memory.json", b"", formats.JSON, "the file is empty"),
    ("memory.json", b'{"type":"entity","name":"A","observations":[]}', formats.JSONL, None),
    ("memory.json", b'{"a":1}\n{"b":2}', formats.JSONL, None),
    ("memory.json", b'{"a":1}\n{"b":', formats.JSONL, "being written"),
    ("log.jsonl", b'{"a":1}\nnope\n{"c":3}\n', formats.JSONL, "line 2 is not JSON"),
    ("log.jsonl", b"", formats.JSONL, None),
    ("CLAUDE.md", b"# hi\n", formats.TEXT, None),
    ("CLAUDE.md", b"\xff", formats.TEXT, "not valid UTF-8"),
    ("blob.bin", b"\xff\x00", formats.BYTES, None),
    ("x.db", SQLITE_HEADER + b"\0" * 84, formats.SQLITE, None),
])
def test_formats(name: str, data: bytes, fmt: str, problem: str | None) -> None:
    verdict = formats.judge(name, data)
    assert verdict.format == fmt
    if problem is None:
        assert verdict.problem is None
    else:
        assert verdict.problem is not None and problem in verdict.problem


def test_when_parsing() -> None:
    assert parse_when("1970-01-02") == 86400
    assert parse_when("1970-01-01T02:00:00+02:00") == 0
    assert parse_when("1970-01-01T00:01:00Z") == 60


def test_xdg_paths_ignore_relative_values() -> None:
    env = {"HOME": "/home/u", "XDG_DATA_HOME": "relative", "XDG_STATE_HOME": "/st"}
    assert paths.data_home(env) == "/home/u/.local/share/memory-vault"
    assert paths.state_dir(env) == "/st/memory-vault"
    assert paths.config_env_file(env) == "/home/u/.config/memory-vault/.env"


def test_the_scheduled_command_skips_the_console_script_wrapper() -> None:
    from memory_vault.triggers.cron import cron_schedule
    from memory_vault.triggers.job import ENTRY, choose_command
    from memory_vault.triggers.units import on_calendar

    assert choose_command("/v/bin/python", "/v/bin/memory-vault", None) == [
        "/v/bin/python", "-P", "-c", ENTRY]
    assert choose_command("/v/bin/python", "/src/sync_memory_vault.py", None) == [
        "/v/bin/python", "/src/sync_memory_vault.py"]
    assert choose_command("/p", "/v/bin/memory-vault", "/src/sync_memory_vault.py") == [
        "/p", "/src/sync_memory_vault.py"]
    assert [cron_schedule(n) for n in (1, 15, 60, 180, 1440)] == [
        "* * * * *", "*/15 * * * *", "0 * * * *", "0 */3 * * *", "0 0 * * *"]
    assert [on_calendar(n) for n in (15, 120, 1440)] == ["*:0/15", "0/2:00", "daily"]


def test_the_cron_path_spells_sqlite_as_formats_does() -> None:
    """`sources` names SQLite's format itself, so that a no-change run need not load
    `formats`; both must agree, or a database's `-wal` would stop counting as a change."""
    assert sources.SQLITE == formats.SQLITE
