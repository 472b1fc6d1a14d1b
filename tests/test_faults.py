"""Faults around a run: killed at any moment, overlapping runs, torn writes, a damaged state
file or clone, a full disk. Each asserts that no version is lost and git stays fsck-clean."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SCRIPT, Vault, assert_fsck_clean, git, sync_beside_writer


def _vault_versions(repo: Path, name: str) -> set[str]:
    """sha256 of every version of `name` in the history of `repo`'s main."""
    shas = git("log", "--format=%H", "main", "--", f"rAgentShared/{name}", cwd=repo).split()
    found = set()
    for sha in shas:
        data = subprocess.run(["git", "show", f"{sha}:rAgentShared/{name}"], cwd=repo,
                              capture_output=True, check=False).stdout
        found.add(hashlib.sha256(data).hexdigest())
    return found


def _state_records(vault: Vault) -> dict[str, str]:
    if not vault.state_file.exists():
        return {}
    lines = vault.state_file.read_text().splitlines()
    if not lines or lines[0] != "memory-vault-state 5":
        return {}
    return {f.split("\t")[-1]: f.split("\t")[4] for f in lines if f.startswith("file\t")}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(proc: subprocess.Popen[str], *, with_children: bool) -> None:
    victims = _descendants(proc.pid) if with_children else []
    for pid in [proc.pid, *victims]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def _embedded_leftovers(repo: Path) -> list[Path]:
    return [p for p in repo.rglob("*") if p.name.endswith(".lock")
            or p.name.startswith(("tmp_", "incoming-", ".tmp-"))]


def test_killed_at_random_moments_loses_nothing(embedded: Vault) -> None:
    vault = embedded
    rng = random.Random(20261124)
    names = ["memory.json", "gpt4_memories.json", "claude_opus_memories.json"]
    pad = "x" * 150_000  # big enough that a run takes a while to hash, copy and commit
    for i, name in enumerate(names):
        vault.write(name, json.dumps({"n": 0, "f": i, "pad": pad}), age=10)
    assert vault.sync().returncode == 0
    for round_ in range(1, 31):
        for name in rng.sample(names, rng.randint(1, 3)):
            vault.write(name, json.dumps({"n": round_, "f": name, "pad": pad}))
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=vault.source, env=vault.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        time.sleep(rng.uniform(0.0, 0.5))
        _kill(proc, with_children=round_ % 2 == 0)  # odd rounds: git orphans live on
        for name, digest in _state_records(vault).items():  # never ahead of the vault
            assert digest in _vault_versions(vault.clone, name), (round_, name)

    # The next cron run comes a quarter of an hour later: a killed push's leftovers in the
    # embedded vault are old by then (only then may they be swept: another git may be inside).
    for leftover in _embedded_leftovers(vault.remote):
        os.utime(leftover, (time.time() - 900, time.time() - 900))
    final = vault.run("--now")  # waits for any orphan still holding the lock
    assert final.returncode == 0, final.stderr
    for name in names:
        assert git("show", f"main:rAgentShared/{name}", cwd=vault.clone).encode() == \
            (vault.source / name).read_bytes()
        assert vault.remote_file(name) == (vault.source / name).read_bytes()
    assert_fsck_clean(vault.clone)
    assert_fsck_clean(vault.remote)
    assert vault.run("verify").returncode == 0
    assert not (vault.clone / ".git/memory-vault-staging").exists()  # nothing left staged


def test_overlapping_runs_never_hit_a_git_lock(vault: Vault) -> None:
    """Cron fires while a slow push runs, and a person runs --now meanwhile."""
    hook = vault.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\ncat > /dev/null\nsleep 3\n")
    hook.chmod(0o755)
    vault.write("memory.json", '{"v": 1}', age=10)
    slow = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=vault.source, env=vault.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the slow run is inside its push now
    vault.write("memory.json", '{"v": 2}', age=5)

    started = time.monotonic()
    cron = vault.sync()
    cron_took = time.monotonic() - started
    person = vault.run("--now")
    _, slow_err = slow.communicate(timeout=60)

    assert cron.returncode == 0 and cron_took < 2.5  # left at once
    assert "another sync is running" in vault.log.read_text()
    assert slow.returncode == 0, slow_err
    assert person.returncode == 0, person.stderr  # waited for the lock, then worked
    everything = cron.stderr + person.stderr + slow_err + vault.log.read_text()
    assert ".lock" not in everything and "Unable to create" not in everything
    assert vault.remote_file("memory.json") == b'{"v": 2}'
    assert vault.remote_file("memory.json", "main~1") == b'{"v": 1}'
    assert_fsck_clean(vault.clone, vault.remote)


def test_now_gives_up_after_waiting_for_the_lock(vault: Vault) -> None:
    import fcntl

    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import memory_vault.pipeline.sync as s;"
             "s.NOW_LOCK_WAIT = 1.0; from memory_vault.entry import main;"
             "sys.exit(main(['--now']))")
    with open(vault.data / "sync.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = subprocess.run([sys.executable, "-c", probe, str(SCRIPT.parent)],
                                cwd=vault.source, env=vault.env, capture_output=True,
                                text=True, check=False)
    assert result.returncode == 1
    assert "another run still holds" in result.stderr


def test_file_written_while_read_is_never_torn(vault: Vault, tmp_path: Path) -> None:
    """An agent rewrites memory.json in place, in pieces, while syncs run."""
    versions_file = tmp_path / "written.txt"
    writer_code = r"""
import json, os, sys, time
path, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
n, deadline = 0, time.monotonic() + 300
with open(log, "w") as record:
    while not os.path.exists(stop) and time.monotonic() < deadline:
        n += 1
        data = json.dumps({"n": n, "facts": ["fact %d" % i for i in range(4000 + n % 7)]})
        record.write(data + "\n"); record.flush()
        with open(path, "w") as out:            # truncate, then write in pieces
            for start in range(0, len(data), 8192):
                out.write(data[start:start + 8192]); out.flush()
                time.sleep(0.001)
        time.sleep(0.05)  # an agent between two writes
"""
    vault.write("memory.json", '{"n": 0}', age=10)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", writer_code,
                               str(vault.source / "memory.json"), str(versions_file), str(stop)])
    codes = sync_beside_writer(vault, writer, stop,
                               lambda: len(_vault_versions(vault.remote, "memory.json")))
    assert writer.returncode == 0
    assert vault.sync().returncode in (0, 3)

    written = {hashlib.sha256(line.encode()).hexdigest()
               for line in versions_file.read_text().splitlines()}
    written.add(hashlib.sha256(b'{"n": 0}').hexdigest())
    committed = _vault_versions(vault.remote, "memory.json")
    assert len(committed) >= 3, codes
    assert committed <= written  # every committed version is one the writer wrote whole
    assert set(codes) <= {0, 3}
    assert_fsck_clean(vault.clone, vault.remote)


def test_a_file_rewritten_just_after_its_first_read_is_committed_as_rewritten(
        vault: Vault) -> None:
    """A file written a moment before the run is read early and proven later (issue 26):
    rewritten in place in between, the early read never counts; the version committed is
    the one the file settled on, read whole."""
    vault.write("memory.json", '{"v": 0}', age=10)
    assert vault.sync().returncode == 0
    path = vault.source / "memory.json"
    path.write_text('{"v": 1}')
    sync = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=vault.source, env=vault.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.15)  # the run has read it, early, by now (or reads the rewrite)
    with path.open("r+b") as f:
        f.write(b'{"v": 2}')
    _out, err = sync.communicate(timeout=60)
    assert sync.returncode == 0, err
    assert vault.remote_file("memory.json") == b'{"v": 2}'
    assert vault.remote_file("memory.json", "main~1") == b'{"v": 0}'


@pytest.mark.parametrize("damage", [
    "missing", "empty", "garbage", "truncated", "old-json", "old-timestamp", "binary"])
def test_damaged_state_file_loses_nothing_and_commits_nothing_spurious(
    vault: Vault, damage: str
) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.write("gpt4_memories.json", '{"b": 1}', age=10)
    assert vault.sync().returncode == 0
    good = vault.state_file.read_text()
    damaged = {
        "missing": None,
        "empty": "",
        "garbage": "\x00\x01 not a state file at all",
        "truncated": good[: len(good) // 2],
        "old-json": json.dumps({"memory.json": "abc", "last_sync": "2025-01-01"}),
        "old-timestamp": "2025-01-01 12:00:00\n",
        "binary": None,
    }[damage]
    if damage == "missing":
        vault.state_file.unlink()
    elif damage == "binary":
        vault.state_file.write_bytes(os.urandom(300))
    else:
        vault.state_file.write_text(damaged or "")

    result = vault.sync()

    assert result.returncode == 0, result.stderr
    assert len(vault.remote_commits()) == 1  # no spurious commit
    assert vault.state_file.read_text().startswith("memory-vault-state 5\n")  # rebuilt
    assert set(_state_records(vault)) == {"memory.json", "gpt4_memories.json"}
    vault.write("memory.json", '{"a": 2}')  # and backups go on
    assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == b'{"a": 2}'
    assert vault.remote_file("memory.json", "main~1") == b'{"a": 1}'
    assert_fsck_clean(vault.clone, vault.remote)


@pytest.mark.parametrize("damage", ["missing", "not-a-repo", "wrong-branch"])
def test_damaged_clone_is_repaired_and_never_pushes_elsewhere(
    vault: Vault, tmp_path: Path, damage: str
) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    elsewhere = tmp_path / "elsewhere.git"
    git("init", "-q", "--bare", str(elsewhere))
    if damage == "missing":
        subprocess.run(["rm", "-rf", str(vault.clone)], check=True)
    elif damage == "not-a-repo":
        subprocess.run(["rm", "-rf", str(vault.clone / ".git")], check=True)
        (vault.clone / ".git").write_text("garbage: not a repository\n")
    else:
        git("checkout", "-q", "-b", "other", cwd=vault.clone)
    vault.write("memory.json", '{"a": 2}')

    result = vault.sync()

    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"a": 2}'
    assert vault.remote_file("memory.json", "main~1") == b'{"a": 1}'
    assert git("for-each-ref", cwd=elsewhere, check=False) == ""  # nothing went there
    if damage != "missing":
        assert any("damaged" in line and "set-aside" in line for line in vault.err_lines())
        assert len(list(vault.data.glob("clone.set-aside-*"))) == 1
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=vault.clone).strip() == "main"
    assert_fsck_clean(vault.clone)


def test_stale_git_locks_from_a_killed_run_are_removed(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    (vault.clone / ".git/index.lock").write_text("")
    (vault.clone / ".git/refs/heads/main.lock").write_text("")
    vault.write("memory.json", '{"a": 2}')
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"a": 2}'
    assert not (vault.clone / ".git/index.lock").exists()
    assert any("index.lock" in line for line in vault.err_lines())
    assert_fsck_clean(vault.clone, vault.remote)


def _root_as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_read_only_clone_fails_clearly_and_keeps_sources(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"a": 2}')
    subprocess.run(["chmod", "-R", "a-w", str(vault.clone)], check=True)
    try:
        result = subprocess.run([*_root_as_user(), sys.executable, str(SCRIPT)],
                                cwd=vault.source, env=vault.env, capture_output=True,
                                text=True, check=False)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(vault.clone)], check=True)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "clone" in result.stderr and "ermission denied" in result.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"a": 2}'
    assert vault.remote_file("memory.json") == b'{"a": 1}'
    assert vault.sync().returncode == 0  # once writable again, the backup catches up
    assert vault.remote_file("memory.json") == b'{"a": 2}'
    assert_fsck_clean(vault.clone, vault.remote)


def test_full_disk_fails_clearly_and_keeps_sources(vault: Vault) -> None:
    """No room for the copy: a file-size limit makes every large write fail, as a full
    disk would (Python and git ignore SIGXFSZ and get EFBIG instead)."""
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    big = json.dumps({"pad": "y" * 400_000}).encode()
    vault.write("memory.json", big, age=5)
    limit = ("import resource, sys, os; resource.setrlimit(resource.RLIMIT_FSIZE, "
             "(65536, 65536)); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
    result = subprocess.run([sys.executable, "-c", limit, str(SCRIPT)], cwd=vault.source,
                            env=vault.env, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr
    assert "File too large" in result.stderr or "No space" in result.stderr
    assert "unexpected" not in result.stderr and "clone" in result.stderr
    assert (vault.source / "memory.json").read_bytes() == big
    assert vault.remote_file("memory.json") == b'{"a": 1}'
    assert_fsck_clean(vault.clone)
    assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == big
