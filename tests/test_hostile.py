"""Hostile vaults and odd inputs: the vault's content is data, never a path to follow.

Hostile trees are built with git plumbing (`hash-object`, `mktree`, `commit-tree`) straight
into a bare remote the test owns, as anyone with push access could. Every test checks that
nothing was written outside its folder, that the vault kept its good copies, and that git
stays fsck-clean.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SCRIPT, Vault, assert_fsck_clean, base_env, git, sync_beside_writer


def _remote(vault: Vault, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", f"--git-dir={vault.remote}", *args], input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def _blob(vault: Vault, content: bytes) -> str:
    return _remote(vault, "hash-object", "-w", "--stdin", data=content)


def _tree(vault: Vault, entries: list[tuple[str, str, str, str]]) -> str:
    """entries: (mode, type, sha, name)."""
    lines = b"".join(f"{m} {t} {s}\t".encode() + n.encode("utf-8", "surrogateescape") + b"\0"
                     for m, t, s, n in entries)
    return _remote(vault, "mktree", "-z", data=lines)


def _push_root(vault: Vault, root: str, message: str = "pushed by someone else") -> str:
    parent = _remote(vault, "rev-parse", "main")
    commit = _remote(vault, "-c", "user.name=eve", "-c", "user.email=eve@x", "commit-tree",
                     root, "-p", parent, "-m", message)
    _remote(vault, "update-ref", "refs/heads/main", commit)
    return commit


def _shared_with(vault: Vault, extra: list[tuple[str, str, str, str]]) -> str:
    """The tip's rAgentShared tree plus `extra` entries, as a new root tree."""
    current = _remote(vault, "ls-tree", "main:rAgentShared").splitlines()
    entries = [(*line.split("\t")[0].split(" "), line.split("\t")[1]) for line in current]
    inner = _tree(vault, [(m, t, s, n) for m, t, s, n in entries] + extra)
    return _tree(vault, [("040000", "tree", inner, "rAgentShared")])


def _good_vault(vault: Vault) -> None:
    vault.write("memory.json", '{"good": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0


def _files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


# -- 1. a symlinked subdir --------------------------------------------------------------------

def test_a_symlinked_subdir_in_the_vault_never_redirects_a_sync(vault: Vault,
                                                                tmp_path: Path) -> None:
    _good_vault(vault)
    target = tmp_path / "victim-folder"
    target.mkdir()
    link = _blob(vault, str(target).encode())
    hostile = _push_root(vault, _tree(vault, [("120000", "blob", link, "rAgentShared")]))

    # this machine: its next change meets the hostile tip
    vault.write("memory.json", '{"good": 2}', age=5)
    here = vault.sync()
    assert here.returncode == 3  # skipped with the reason, never written through the link
    assert "memory.json: skipped, rAgentShared is a symbolic link in the vault" in here.stderr
    # a new machine: a fresh clone of that tip
    shutil.rmtree(vault.data)
    fresh = vault.sync()
    assert fresh.returncode == 3
    assert "symbolic link" in fresh.stderr
    assert _files_under(target) == set()  # nothing was written through the link
    assert _remote(vault, "rev-parse", "main") == hostile  # nothing pushed on top of it
    restore = vault.run("restore", "--to", str(tmp_path / "out"))
    assert restore.returncode == 1 and "refused whole" in restore.stderr
    assert _files_under(target) == set() and _files_under(tmp_path / "out") == set()
    assert_fsck_clean(vault.clone)


# -- 2 and 3. `.git`, `..` and `.` entries ----------------------------------------------------

def test_git_entries_are_never_restored_and_odd_entries_do_not_stop_the_rest(
        vault: Vault, tmp_path: Path) -> None:
    _good_vault(vault)
    config = _blob(vault, b'[core]\n\tfsmonitor = "touch ' + str(tmp_path).encode()
                   + b'/PWNED; false"\n')
    dot_git = _tree(vault, [("100644", "blob", config, "config")])
    payload = _blob(vault, b'{"escaped": true}')
    escape = _tree(vault, [("100644", "blob", payload, "escape.json")])
    nested = _tree(vault, [("040000", "tree", dot_git, ".GIT"),
                           ("100644", "blob", payload, "fine.json")])
    _push_root(vault, _shared_with(vault, [
        ("040000", "tree", dot_git, ".git"), ("040000", "tree", escape, ".."),
        ("040000", "tree", escape, "."), ("040000", "tree", nested, "deep")]))

    # a new machine whose source dir is a git work tree
    shutil.rmtree(vault.data)
    for f in vault.source.iterdir():
        f.unlink()
    git("init", "-q", str(vault.source))
    result = vault.run("restore")

    assert result.returncode == 3, result.stdout + result.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"good": 1}'
    assert (vault.source / "deep/fine.json").read_bytes() == b'{"escaped": true}'
    refused = [line for line in result.stdout.splitlines() if line.strip().startswith("refused")]
    assert len(refused) == 4, result.stdout
    assert "fsmonitor" not in (vault.source / ".git/config").read_text()
    assert not (vault.source / "deep/.GIT").exists()
    assert not list(tmp_path.rglob("escape.json"))
    git("status", "--porcelain", cwd=vault.source)
    assert not (tmp_path / "PWNED").exists()

    # and syncs go on, on top of that tree, without checking it out
    vault.write("memory.json", '{"good": 2}', age=5)
    synced = vault.sync()
    assert synced.returncode == 0, synced.stderr
    assert vault.remote_file("memory.json") == b'{"good": 2}'
    assert vault.remote_file("gpt4_memories.json") == b'{"g": 1}'
    assert not (tmp_path / "PWNED").exists()


# -- 5. in-place writers ----------------------------------------------------------------------

IN_PLACE = r"""
import json, os, sys, time
path, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
n, deadline = 0, time.monotonic() + 300
fd = os.open(path, os.O_RDWR)
with open(log, "w") as record:
    while not os.path.exists(stop) and time.monotonic() < deadline:
        n += 1
        data = json.dumps({"n": "%08d" % n, "facts": ["fact %08d-%d" % (n, i)
                                                      for i in range(3000)]}).encode()
        record.write(data.hex() + "\n"); record.flush()
        for start in range(0, len(data), 4096):      # same size, no truncation, in place
            os.pwrite(fd, data[start:start + 4096], start)
            time.sleep(0.0005)
        time.sleep(0.05)  # an agent between two writes
"""


def test_an_in_place_rewrite_is_never_committed_torn(vault: Vault, tmp_path: Path) -> None:
    import hashlib

    first = json.dumps({"n": f"{0:08d}", "facts": [f"fact {0:08d}-{i}"
                                                   for i in range(3000)]}).encode()
    vault.write("memory.json", first, age=10)
    log = tmp_path / "written.txt"
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", IN_PLACE, str(vault.source / "memory.json"),
                               str(log), str(stop)])
    codes = sync_beside_writer(vault, writer, stop, lambda: len(set(vault.remote_git(
        "log", "--format=%T", "main").split())))
    written = {hashlib.sha256(bytes.fromhex(line)).hexdigest()
               for line in log.read_text().splitlines()}
    written.add(hashlib.sha256(first).hexdigest())
    shas = vault.remote_git("log", "--format=%H", "main").split()
    committed = {hashlib.sha256(vault.remote_file("memory.json", sha)).hexdigest()
                 for sha in shas}
    assert len(committed) >= 3, codes
    assert committed <= written  # only versions the writer wrote whole
    assert set(codes) <= {0, 3}


# -- 6 and 7. odd names -----------------------------------------------------------------------

def test_a_255_byte_name_is_backed_up_and_restored(vault: Vault, tmp_path: Path) -> None:
    long_name = "m" * (255 - len("_memories.json")) + "_memories.json"
    assert len(long_name.encode()) == 255
    vault.write(long_name, '{"long": 1}', age=10)
    vault.write("memory.json", "{}", age=10)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file(long_name) == b'{"long": 1}'
    out = tmp_path / "out"
    assert vault.run("restore", "--to", str(out)).returncode == 0
    assert (out / long_name).read_bytes() == b'{"long": 1}'


def test_names_that_are_not_utf8_or_hold_a_backslash_round_trip(vault: Vault,
                                                               tmp_path: Path) -> None:
    vault.env["LC_ALL"] = "C.UTF-8"
    vault.env["MEMORY_VAULT_FILES"] = "*.json"
    raw = b"caf\xe9_memories.json"  # Latin-1, not UTF-8
    with open(os.path.join(os.fsencode(vault.source), raw), "wb") as handle:
        handle.write(b'{"latin": 1}')
    vault.write("back\\slash.json", '{"b": 1}', age=10)
    vault.write("memory.json", "{}", age=10)

    synced = vault.run("--now")
    assert synced.returncode == 0, synced.stderr
    assert vault.remote_commits()  # pushed
    status = vault.run("status")
    history = vault.run("history", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert history.returncode == 0, history.stderr
    json.loads(history.stdout)
    out = tmp_path / "out"
    restored = vault.run("restore", "--to", str(out))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert (out / "back\\slash.json").read_bytes() == b'{"b": 1}'
    assert (os.path.join(os.fsencode(out), raw)).__class__ is bytes
    with open(os.path.join(os.fsencode(out), raw), "rb") as handle:
        assert handle.read() == b'{"latin": 1}'


# -- 8. a rewritten embedded vault ------------------------------------------------------------

def test_a_branch_rewritten_in_the_embedded_vault_leaves_the_clone_fsck_clean(
        embedded: Vault, tmp_path: Path) -> None:
    vault = embedded
    for n in range(3):
        vault.write("memory.json", json.dumps({"n": n, "pad": "x" * 40000}), age=10 - n)
        assert vault.sync().returncode == 0
    # someone rewrites the branch: an orphan history with other content
    other = tmp_path / "rewriter"
    git("init", "-q", "--initial-branch=main", str(other))
    (other / "rAgentShared").mkdir()
    (other / "rAgentShared/other_memories.json").write_text('{"rewritten": true}')
    git("add", ".", cwd=other)
    git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "rewrite", cwd=other)
    git("push", "-q", "--force", str(vault.remote), "main", cwd=other)

    for n in range(3, 7):
        vault.write("memory.json", json.dumps({"n": n, "pad": "y" * 40000}), age=10 - n)
        result = vault.sync()
        assert result.returncode == 0, result.stderr
    assert_fsck_clean(vault.clone, vault.remote)
    assert vault.remote_file("other_memories.json") == b'{"rewritten": true}'
    assert json.loads(vault.remote_file("memory.json"))["n"] == 6
    verify = vault.run("verify")
    assert verify.returncode == 0, verify.stdout


# -- 9. a full disk after the backup ----------------------------------------------------------

def test_a_full_disk_during_housekeeping_is_a_warning(embedded: Vault) -> None:
    vault = embedded
    for n in range(4):  # a main pack of a few megabytes
        vault.write(f"agent{n}_memories.json", json.dumps(os.urandom(350_000).hex()), age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", json.dumps(os.urandom(500_000).hex()), age=5)  # > 1/4 of it
    limit = ("import resource, sys, os; resource.setrlimit(resource.RLIMIT_FSIZE, "
             "(1_500_000, 1_500_000)); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
    result = subprocess.run([sys.executable, "-c", limit, str(SCRIPT)], cwd=vault.source,
                            env=vault.env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == (vault.source / "memory.json").read_bytes()
    warnings = [line for line in vault.err_lines() if "housekeeping" in line]
    assert warnings and " WARNING " in warnings[-1]
    assert vault.run("status").returncode == 0
    assert_fsck_clean(vault.clone, vault.remote)


# -- 10 and 11. restore -----------------------------------------------------------------------

def test_restore_at_a_moment_before_1970_exits_2(vault: Vault) -> None:
    _good_vault(vault)
    result = vault.run("restore", "--at", "1969-07-20T20:17:00Z")
    assert result.returncode == 2
    assert "no backup at or before" in result.stderr


def test_restore_is_streamed_and_keeps_modes(vault: Vault, tmp_path: Path) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "big.bin,memory.json"
    big = vault.write("big.bin", os.urandom(90 * 2**20), age=10)
    vault.write("memory.json", '{"m": 1}', age=10)
    assert vault.sync().returncode == 0
    (vault.source / "memory.json").chmod(0o640)
    vault.write("memory.json", '{"m": "local"}')
    (vault.source / "memory.json").chmod(0o640)
    expected = big.read_bytes()
    big.unlink()
    # VmHWM is this process's own peak: ru_maxrss would carry the (large) test process's
    # high-water mark across fork and exec.
    peak = ("import os, runpy, sys; sys.argv = sys.argv[1:]\n"
            "sys.path.insert(0, os.path.dirname(sys.argv[0]))\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "except SystemExit as exc:\n    code = exc.code\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "sys.stderr.write('PEAK_KB %s\\n' % hwm.split()[1])\nsys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", peak, str(SCRIPT), "restore"],
                            cwd=vault.source, env=vault.env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert big.read_bytes() == expected
    peak_mb = int(result.stderr.split("PEAK_KB ")[1].split()[0]) / 1024
    # Held whole, the 90 MB file would come on top of the interpreter and its libraries
    # (with coverage of every process in CI, about 70 MB): well past this bound.
    assert peak_mb < 88, f"restore held {peak_mb:.0f} MB for a 90 MB file"
    assert big.stat().st_mode & 0o777 == 0o600  # new: private
    assert (vault.source / "memory.json").stat().st_mode & 0o777 == 0o640  # replaced: kept


# -- 12. bad settings -------------------------------------------------------------------------

@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("MEMORY_VAULT_GIT_TIMEOUT", "1e12", "at most 86400"),
    ("MEMORY_VAULT_BRANCH", "a..b", "check-ref-format"),
    ("MEMORY_VAULT_BRANCH", "-x", "check-ref-format"),
    ("MEMORY_VAULT_BRANCH", "x.lock", "check-ref-format"),
    ("MEMORY_VAULT_BRANCH", "a/.hidden", "check-ref-format"),
    ("MEMORY_VAULT_SUBDIR", ":(top)x", "pathspec magic"),
    ("MEMORY_VAULT_SUBDIR", "x" * 300, "over 255 bytes"),
    ("MEMORY_VAULT_STATE_FILE", "/dev/null", "not a regular file"),
])
def test_bad_settings_exit_2_before_anything_is_touched(vault: Vault, variable: str,
                                                        value: str, expected: str) -> None:
    vault.write("memory.json", "{}", age=10)
    result = vault.sync(env={variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and "(from the environment)" in lines[0]
    assert expected in lines[0]
    assert not vault.data.exists()
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_clone_dir_that_is_the_embedded_vault_is_refused(embedded: Vault) -> None:
    embedded.write("memory.json", "{}", age=10)
    assert embedded.sync().returncode == 0
    before = sorted(p.name for p in embedded.data.iterdir())
    result = embedded.sync(env={"MEMORY_VAULT_CLONE_DIR": str(embedded.data / "vault.git")})
    assert result.returncode == 2
    assert "MEMORY_VAULT_CLONE_DIR" in result.stderr and "embedded vault" in result.stderr
    assert sorted(p.name for p in embedded.data.iterdir()) == before


def test_a_bad_value_in_an_env_file_names_the_file(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "vault.env"
    env_file.write_text("MEMORY_VAULT_BRANCH=a..b\n")
    env = base_env(vault.home)
    env.update(MEMORY_VAULT_SOURCE_DIR=str(vault.source))
    result = subprocess.run([sys.executable, str(SCRIPT), "--env-file", str(env_file)],
                            cwd=vault.source, env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert f"(from the env file {env_file})" in result.stderr


def test_overlapping_restores_and_syncs_write_nothing_outside(vault: Vault,
                                                              tmp_path: Path) -> None:
    """A sync and a restore into a folder with a planted symlink, at once."""
    _good_vault(vault)
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "memory.json").symlink_to(outside / "memory.json")
    threads = [threading.Thread(target=vault.run, args=("restore", "--to", str(out))),
               threading.Thread(target=vault.sync)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _files_under(outside) == set()
    time.sleep(0)
