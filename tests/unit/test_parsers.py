"""git's output and failures, and what we write into git, as pure functions on literals."""

from __future__ import annotations

import pytest

from memory_vault.capture.version import Version
from memory_vault.errors import KIND_AUTH, KIND_GIT, KIND_NETWORK, KIND_REFUSED
from memory_vault.store import commit, compact
from memory_vault.store import read as query
from memory_vault.store import remote as push
from memory_vault.store.git.credentials import CREDENTIAL_HELPER, credential_environment
from memory_vault.store.git.environment import allocator_tunables, git_environment
from memory_vault.store.git.errors import classify, reason_lines


@pytest.mark.parametrize(("stderr", "stdout", "reason", "kind"), [
    (b"Host key verification failed.\r\nfatal: Could not read from remote repository.\n\n"
     b"Please make sure you have the correct access rights\nand the repository exists.\n",
     b"", "Host key verification failed.", KIND_AUTH),
    (b"root@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote "
     b"repository.\n", b"", "Permission denied (publickey).", KIND_AUTH),
    (b"FATAL: W any vault bob DENIED by fallthru\n(or you mis-spelled the reponame)\n"
     b"fatal: Could not read from remote repository.\n", b"",
     "FATAL: W any vault bob DENIED by fallthru", KIND_REFUSED),
    (b"remote: error: GH013: Repository rule violations found for refs/heads/main.        \n"
     b"error: failed to push some refs to 'x'\n",
     b"To x\n!\trefs/heads/main:refs/heads/main\t[remote rejected] (pre-receive hook "
     b"declined)\nDone\n", "error: GH013: Repository rule violations", KIND_REFUSED),
    (b"fatal: unable to access 'https://h/x.git/': Could not resolve host: h\n", b"",
     "Could not resolve host", KIND_NETWORK),
    (b"fatal: could not read Username for 'https://h': terminal prompts disabled\n", b"",
     "terminal prompts disabled", KIND_AUTH),
    (b"fatal: bad object HEAD\n", b"", "bad object", KIND_GIT),
])
def test_reason_lines_keep_the_servers_words(stderr: bytes, stdout: bytes, reason: str,
                                              kind: str) -> None:
    lines = reason_lines(stderr, stdout)
    text = " / ".join(lines)
    assert reason in text
    assert "Please make sure" not in text and "failed to push some refs" not in text
    assert classify(text) == kind


def test_credentials_reach_git_through_the_environment_only() -> None:
    env = credential_environment({"GIT_CONFIG_COUNT": "1"}, "vault", "s3cret")
    assert env["GIT_CONFIG_COUNT"] == "3"
    assert env["GIT_CONFIG_KEY_1"] == env["GIT_CONFIG_KEY_2"] == "credential.helper"
    assert env["GIT_CONFIG_VALUE_1"] == ""  # other helpers dropped first
    assert env["GIT_CONFIG_VALUE_2"] == CREDENTIAL_HELPER
    assert "s3cret" not in CREDENTIAL_HELPER and env["MV_GIT_PASSWORD"] == "s3cret"
    assert credential_environment({}, "", "") == {}
    full = git_environment({"PATH": "/bin", "GIT_DIR": "/x"}, ("u", "p"))
    assert full["GIT_TERMINAL_PROMPT"] == "0" and "BatchMode=yes" in full["GIT_SSH_COMMAND"]
    assert "GIT_DIR" not in full


def test_git_gets_huge_pages_unless_the_user_chose_otherwise() -> None:
    assert git_environment({})["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=1"
    assert allocator_tunables("glibc.malloc.arena_max=2") == (
        "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=2")
    assert allocator_tunables("glibc.malloc.hugetlb=0") == "glibc.malloc.hugetlb=0"


def test_git_log_parsing() -> None:
    raw = (b"\x1e" + b"a" * 40 + b"\x1f1700000000\x1fMemory vault sync (2 files)\0\n"
           b"rAgentShared/a.json\0rAgentShared/b.json\0"
           b"\x1e" + b"b" * 40 + b"\x1f1690000000\x1ffirst\0\nrAgentShared/a.json\0")
    entries = query.parse_log(raw)
    assert [e.when for e in entries] == [1700000000, 1690000000]
    assert entries[0].paths == ["rAgentShared/a.json", "rAgentShared/b.json"]
    assert entries[1].subject == "first"


def test_recursive_listing_below_the_subdir() -> None:
    raw = (b"100644 blob " + b"a" * 40 + b"\trAgentShared/x.json\0"
           b"120000 blob " + b"b" * 40 + b"\trAgentShared/link\0"
           b"100644 blob " + b"c" * 40 + b"\tother/y.json\0")
    found = query.parse_ls_tree_recursive(raw, "rAgentShared")
    assert set(found) == {"x.json", "link"} and found["link"].mode == "120000"


def test_commit_message_has_one_line_per_file_and_no_forged_lines() -> None:
    files = [Version("a\nb.json", size=3, sha256="f" * 64, stat_size=3, mtime_ns=0),
             Version("m.json", size=1, sha256="e" * 64, stat_size=1, mtime_ns=0)]
    message = commit.commit_message(0, files)
    lines = message.decode().splitlines()
    assert lines[0] == "Memory vault sync 1970-01-01T00:00:00Z (2 files)"
    assert lines[2:] == ["a\\x0ab.json: 3 bytes, sha256 " + "f" * 64,
                         "m.json: 1 bytes, sha256 " + "e" * 64]
    assert commit.commit_subject(0, 1).endswith("(1 file)")
    env = commit.identity_env("Memory Vault", "mv@h", 12.7)
    assert env["GIT_AUTHOR_DATE"] == env["GIT_COMMITTER_DATE"] == "12 +0000"


def test_push_rejection_and_identity() -> None:
    assert push.was_rejected(b" ! [rejected] main -> main (fetch first)")
    assert not push.was_rejected(b"[remote rejected] (pre-receive hook declined)")
    ident = push.identity_of("A\x00a@x\x00100 +0000\x00C\x00c@x\x00200 +0100")
    assert ident["GIT_COMMITTER_DATE"] == "200 +0100"


def test_the_geometric_repack_rule() -> None:
    usage = compact.ObjectUsage()
    usage.packs = [10_000_000]
    assert not usage.needs_repack()
    usage.packs.append(2_600_000)
    assert usage.needs_repack()
    small = compact.ObjectUsage()
    small.loose_count, small.loose_bytes = 300, 1000
    assert small.needs_repack()


def test_object_sizes_are_parsed_from_batch_check() -> None:
    assert query.parse_object_sizes(b"a1b2c3d4 120\nffffffff 7\n") == [
        ("a1b2c3d4", 120), ("ffffffff", 7)]


def test_verify_reads_everything_within_its_budget_and_one_part_a_day_beyond() -> None:
    from memory_vault.health.verify import data_slice

    objects = [(f"{n:08x}" + "0" * 32, 10) for n in range(100)]
    whole = data_slice(objects, budget=1000, day=7)
    assert (whole.count, whole.index, len(whole.shas), whole.bytes) == (1, 0, 100, 1000)
    parts = [data_slice(objects, budget=250, day=day) for day in range(4)]
    assert {p.count for p in parts} == {4} and [p.index for p in parts] == [0, 1, 2, 3]
    assert all(p.bytes <= 250 for p in parts)
    assert sorted(sha for p in parts for sha in p.shas) == sorted(s for s, _ in objects)
    assert data_slice(objects, budget=250, day=4).shas == parts[0].shas  # round again
