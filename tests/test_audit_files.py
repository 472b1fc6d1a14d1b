"""The second audit's findings about files (issue 25): each made to happen for real, with
real files, real writer processes and real git.

3: a symlink swapped in between the scan and the read; 6: an in-place rewrite in two writes
with a pause between them; 7: `./` and `//` in the patterns; 12: an mtime in the future;
13: the root folder as the source dir; 14: symlink loops under `**`; 15: a folder matched
by a glob.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from conftest import Vault, assert_fsck_clean, git


def _every_object(repo: Path) -> bytes:
    """The bytes of every object in `repo`, reachable or not."""
    return subprocess.run(["git", f"--git-dir={repo}", "cat-file", "--batch-all-objects",
                           "--batch"], capture_output=True, check=True).stdout


def _sqlite_db(path: Path, text: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE memory (id INTEGER PRIMARY KEY, fact TEXT)")
        db.execute("INSERT INTO memory (fact) VALUES (?)", (text,))
    db.close()


# -- 3. a symlink swapped in between the scan and the read -----------------------------------

SWAPPER = r"""
import os, sys, time
source, outside, stop = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
stash = os.path.join(source, ".stash")  # the real files, inside the source dir
files = {"memory.json": "secret.json", "agent.db": "secret.db"}
turn = 0
while time.monotonic() < stop:
    turn += 1
    for name, secret in files.items():
        temporary = os.path.join(source, ".swap-" + name)
        if turn % 2:
            os.symlink(os.path.join(outside, secret), temporary)
        else:
            os.link(os.path.join(stash, name), temporary)
        os.replace(temporary, os.path.join(source, name))
    sub, parked, link = (os.path.join(source, n) for n in ("sub", ".sub", ".sub-link"))
    if turn % 2:   # the folder on the path becomes a link to a folder outside, and back
        os.rename(sub, parked)
        os.symlink(os.path.join(outside, "folder"), link)
        os.rename(link, sub)
    else:
        os.rename(sub, link)
        os.unlink(link)
        os.rename(parked, sub)
    time.sleep(0.002)
"""


def test_a_symlink_swapped_in_after_the_scan_never_brings_an_outside_file_in(
        vault: Vault, tmp_path: Path) -> None:
    marker = f"outside-marker-{uuid.uuid4().hex}"
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.json").write_text(json.dumps({"kept": marker + "-file"}))
    (outside / "folder/memory.json").write_text(json.dumps({"kept": marker + "-folder"}))
    _sqlite_db(outside / "secret.db", marker + "-database")
    stash = vault.source / ".stash"
    stash.mkdir()
    (stash / "memory.json").write_text('{"mine": 1}')
    _sqlite_db(stash / "agent.db", "mine")
    for name in ("memory.json", "agent.db"):
        os.link(stash / name, vault.source / name)
    vault.write("sub/memory.json", '{"in a folder": 1}')
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,agent.db,sub/memory.json"
    assert vault.sync().returncode == 0  # the real files, before any swap

    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(vault.source),
                                str(outside), "600"])
    try:
        codes = [vault.run("--now").returncode for _ in range(24)]
    finally:
        swapper.kill()
        swapper.wait()
    assert set(codes) <= {0, 3}, codes
    assert marker.encode() not in _every_object(vault.remote)
    assert marker.encode() not in _every_object(vault.clone / ".git")
    assert_fsck_clean(vault.clone, vault.remote)


# -- 6. an in-place rewrite in two writes with a pause between them --------------------------

TWO_PIECES = r"""
import json, os, sys, time
path, log, stop_file = sys.argv[1], sys.argv[2], sys.argv[3]
fd = os.open(path, os.O_RDWR)
n = 0
with open(log, "w") as record:
    while not os.path.exists(stop_file):
        n += 1
        data = json.dumps({"n": "%08d" % n, "facts": ["fact %08d-%d" % (n, i)
                                                      for i in range(2000)]}).encode()
        record.write(data.hex() + "\n"); record.flush()
        half = len(data) // 2                       # same size, in place, in two writes
        os.pwrite(fd, data[:half], 0)
        time.sleep(0.1)                             # the agent pauses half-way
        os.pwrite(fd, data[half:], half)
        time.sleep(0.5)                             # and between two versions
"""


def test_an_in_place_rewrite_with_a_pause_half_way_is_never_committed_mixed(
        vault: Vault, tmp_path: Path) -> None:
    first = json.dumps({"n": f"{0:08d}", "facts": [f"fact {0:08d}-{i}"
                                                   for i in range(2000)]}).encode()
    vault.write("memory.json", first, age=10)
    log, stop = tmp_path / "written.txt", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", TWO_PIECES,
                               str(vault.source / "memory.json"), str(log), str(stop)])
    try:
        codes = [vault.run("--now").returncode for _ in range(20)]
    finally:
        stop.touch()
        writer.wait(timeout=10)
    written = {hashlib.sha256(bytes.fromhex(line)).hexdigest()
               for line in log.read_text().splitlines()}
    written.add(hashlib.sha256(first).hexdigest())
    committed = {hashlib.sha256(vault.remote_file("memory.json", sha)).hexdigest()
                 for sha in vault.remote_commits()}
    assert set(codes) <= {0, 3}, codes
    assert len(committed) >= 5, codes  # the syncs did back the writer's versions up
    assert committed <= written, f"{len(committed - written)} mixed versions committed"


# -- 12. an mtime in the future --------------------------------------------------------------

def test_a_file_with_an_mtime_in_the_future_is_backed_up(vault: Vault) -> None:
    path = vault.write("memory.json", '{"from": "a machine ahead"}')
    tomorrow = time.time() + 86400
    os.utime(path, (tomorrow, tomorrow))
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"from": "a machine ahead"}'


# -- 7. patterns spelled with `./` and `//` --------------------------------------------------

def test_patterns_with_dot_slash_and_double_slash_store_one_clean_path(vault: Vault,
                                                                     tmp_path: Path) -> None:
    git("config", "receive.fsckObjects", "true", cwd=vault.remote)
    vault.env["MEMORY_VAULT_FILES"] = "./memory.json,sub//x.json,./*.json,sub/./y.json"
    vault.write("memory.json", '{"v": 1}', age=10)
    vault.write("sub/x.json", '{"x": 1}', age=10)
    vault.write("sub/y.json", '{"y": 1}', age=10)
    for version in (1, 2):
        vault.write("memory.json", f'{{"v": {version}}}', age=10 - version)
        result = vault.sync()
        assert result.returncode == 0, result.stderr
    paths = vault.remote_git("ls-tree", "-r", "--name-only", "main").split()
    assert paths == ["rAgentShared/memory.json", "rAgentShared/sub/x.json",
                     "rAgentShared/sub/y.json"]
    assert vault.remote_file("memory.json") == b'{"v": 2}'  # the remote took every push
    assert vault.remote_git("rev-parse", "main") == git("rev-parse", "main", cwd=vault.clone)
    clone = tmp_path / "fresh"
    git("clone", "-q", str(vault.remote), str(clone))
    assert_fsck_clean(vault.clone, vault.remote, clone)


def test_patterns_that_leave_the_source_dir_or_name_git_are_refused(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    for pattern in ("a/../memory.json", ".", ".//", "sub/.GIT/x.json", "git~1/x.json"):
        result = vault.sync(env={"MEMORY_VAULT_FILES": f"memory.json,{pattern}"})
        assert result.returncode == 2, (pattern, result.stderr)
        assert "MEMORY_VAULT_FILES" in result.stderr and repr(pattern) in result.stderr
    assert not vault.remote_commits()


# -- 13. the root folder as the source dir ---------------------------------------------------

def test_the_root_folder_as_source_dir_backs_up_a_file_in_a_subfolder(vault: Vault) -> None:
    path = vault.write("sub/memory.json", '{"under": "root"}', age=10)
    relative = os.path.relpath(path, "/")
    vault.env.update(MEMORY_VAULT_SOURCE_DIR="/", MEMORY_VAULT_FILES=relative)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file(relative) == b'{"under": "root"}'


# -- 14. symlink loops under `**` ------------------------------------------------------------

def test_symlink_loops_under_globstar_store_each_file_once(vault: Vault) -> None:
    for name in ("memory.json", "sub/a.json", "sub/deeper/b.json", "other/c.json"):
        vault.write(name, json.dumps({"name": name}), age=10)
    (vault.source / "sub/loop").symlink_to("..")
    (vault.source / "sub/deeper/up").symlink_to("../..")
    (vault.source / "other/back").symlink_to("../sub")
    vault.env["MEMORY_VAULT_FILES"] = "**/*.json"
    started = time.monotonic()
    result = vault.sync(timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    paths = vault.remote_git("ls-tree", "-r", "--name-only", "main").split()
    assert paths == ["rAgentShared/memory.json", "rAgentShared/other/c.json",
                     "rAgentShared/sub/a.json", "rAgentShared/sub/deeper/b.json"]


# -- 15. a folder matched by a glob ----------------------------------------------------------

def test_a_folder_matched_by_a_glob_is_an_error_and_the_rest_backs_up(vault: Vault) -> None:
    vault.write("memory.json", '{"ok": 1}', age=10)
    vault.write("x_memories.json/inside.json", '{"not": "tracked"}', age=10)
    result = vault.sync()
    assert result.returncode == 3, result.stderr
    errors = [line for line in vault.err_lines() if "x_memories.json" in line]
    assert errors and "not a regular file (a directory)" in errors[-1]
    assert vault.remote_file("memory.json") == b'{"ok": 1}'
