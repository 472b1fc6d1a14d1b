"""git's words: the reason of a failure, its kind, and the environment git gets."""

from __future__ import annotations

import pytest

from memory_vault.errors import KIND_AUTH, KIND_GIT, KIND_NETWORK, KIND_REFUSED
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

