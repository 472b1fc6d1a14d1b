"""Secrets and the vault (issue 27): redacted before commit, refused by a host and drained,
purged from the history, allowed, listed, and named when a restore cannot bring one back.

The remote is a real bare repository whose pre-receive hook refuses any push holding a key
of the families below, as GitHub's push protection does (GH013, with each location), or
with a plain message naming no location. The hook's patterns are its own, not ours.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from fakes import fakes, fill

from conftest import Vault, assert_fsck_clean, base_env, git

FAKES = fakes()
ANTHROPIC = FAKES["anthropic-api-key"][1]
GITHUB = FAKES["github-pat"][1]
OPENROUTER = FAKES["openrouter-api-key"][1]
SLACK = FAKES["slack-token"][1]
UNKNOWN = "zqk_live_" + fill(40, "zqk")  # a family the host knows and our rules do not

HOOK = r'''#!{python}
"""A host's push protection: refuse any pushed commit whose new files hold a key."""
import re, subprocess, sys
PATTERN = re.compile(rb"(?:sk-ant-api03-|sk-or-v1-|ghp_|xoxb-|zqk_live_|AKIA)[A-Za-z0-9_-]{{16,}}")
NAMES = {{b"sk-ant-api03-": "Anthropic API Key", b"sk-or-v1-": "OpenRouter API Key",
         b"ghp_": "GitHub Personal Access Token", b"xoxb-": "Slack API Token",
         b"zqk_live_": "Zeta Quark Live Key", b"AKIA": "Amazon AWS Access Key ID"}}
MODE = "{mode}"
def git(*args):
    return subprocess.run(["git", *args], capture_output=True, check=True).stdout
found = []
for line in sys.stdin.read().splitlines():
    old, new, ref = line.split()
    if set(new) == {{"0"}}:
        continue
    for commit in git("rev-list", new, "--not", "--all").split():
        raw = git("diff-tree", "-r", "-z", "--root", "--no-commit-id", "--no-renames", commit)
        fields = raw.split(b"\0")
        for meta, path in zip(fields[0::2], fields[1::2]):
            if not meta.startswith(b":") or meta.split()[4].startswith(b"D"):
                continue
            blob = git("cat-file", "blob", meta.split()[3].decode())
            for number, text in enumerate(blob.split(b"\n"), 1):
                for match in PATTERN.finditer(text):
                    name = next(v for k, v in NAMES.items() if match.group().startswith(k))
                    found.append((name, commit.decode(), path.decode(), number))
if not found:
    sys.exit(0)
if MODE == "plain":
    print("error: push refused: a secret was detected in your changes")
    sys.exit(1)
print(f"error: GH013: Repository rule violations found for {{ref}}.")
print("")
print("- GITHUB PUSH PROTECTION")
print("  Resolve the following violations before pushing again")
print("")
print("    - Push cannot contain secrets")
print("")
for name, commit, path, number in found:
    print(f"      \u2014\u2014 {{name}} \u2014\u2014\u2014\u2014\u2014\u2014")
    print("       locations:")
    print(f"         - commit: {{commit}}")
    print(f"           path: {{path}}:{{number}}")
    print("")
sys.exit(1)
'''


def protect(vault: Vault, mode: str = "github") -> None:
    hook = vault.remote / "hooks" / "pre-receive"
    hook.write_text(HOOK.format(python=sys.executable, mode=mode))
    hook.chmod(0o755)


def remote_holds(vault: Vault, secret: str) -> bool:
    """Does any object of the remote (every blob of every commit, and the messages) hold it?"""
    return _holds(vault.remote, secret)


def _holds(repo: Path, secret: str) -> bool:
    objects = subprocess.run(["git", f"--git-dir={repo}", "cat-file", "--batch-all-objects",
                              "--batch"], capture_output=True, check=True).stdout
    return secret.encode() in objects


def reachable_holds(repo: Path, secret: str) -> bool:
    """Does a commit any ref reaches hold it (`git log --all -S`)?"""
    out = git(f"--git-dir={repo}", "log", "--all", "--format=%H", f"-S{secret}")
    return bool(out.strip())


def memory(*notes: str) -> str:
    return json.dumps({"memories": ["the user likes tabs", *notes]}, indent=2)


def vault_json(vault: Vault, name: str = "memory.json") -> object:
    return json.loads(vault.remote_file(name))


def findings(vault: Vault, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    result = vault.run("secrets", "--json", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == 1
    return list(document["secrets"])


# -- redact (the default) --------------------------------------------------------------------

def test_each_format_is_redacted_valid_and_said_once(vault: Vault) -> None:
    vault.write("memory.json", memory(f"key: {ANTHROPIC}"), age=5)
    graph = [{"type": "entity", "name": "ci", "entityType": "tool",
              "observations": [f"token {GITHUB}"]},
             {"type": "entity", "name": "user", "entityType": "person",
              "observations": ["likes tabs"]}]
    vault.write("memory.jsonl", "\n".join(json.dumps(e) for e in graph) + "\n", age=5)
    vault.write("CLAUDE.md", f"# Notes\n\nrouter key {OPENROUTER}\n\n## More\n- tabs\n", age=5)
    db = vault.source / "notes.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO notes (text) VALUES (?)",
                         [("tabs",), (f"slack {SLACK}",), ("spaces",)])
    conn.close()
    files = "memory.json,memory.jsonl,CLAUDE.md,notes.db"
    sources = {p: p.read_bytes() for p in vault.source.iterdir()}
    result = vault.sync(env={"MEMORY_VAULT_FILES": files})
    assert result.returncode == 0, result.stderr
    for secret in (ANTHROPIC, GITHUB, OPENROUTER, SLACK):
        assert not remote_holds(vault, secret)
        assert secret not in result.stderr
    for name, rule in (("memory.json", "anthropic-api-key"), ("memory.jsonl", "github-pat"),
                       ("CLAUDE.md", "openrouter-api-key"), ("notes.db", "slack-token")):
        assert any(name in line and rule in line for line in result.stderr.splitlines()), (
            name, result.stderr)
    stored = vault_json(vault)
    assert isinstance(stored, dict)
    assert stored["memories"][0] == "the user likes tabs"
    assert stored["memories"][1].startswith("key: «redacted:anthropic-api-key:")
    lines = [json.loads(line) for line in vault.remote_file("memory.jsonl").splitlines()]
    assert len(lines) == 2 and "«redacted:github-pat:" in lines[0]["observations"][0]
    assert b"## More" in vault.remote_file("CLAUDE.md")
    copy = vault.tmp / "copy.db"
    copy.write_bytes(vault.remote_file("notes.db"))
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = [r[0] for r in conn.execute("SELECT text FROM notes ORDER BY id")]
    conn.close()
    assert rows[0] == "tabs" and rows[2] == "spaces" and "«redacted:slack-token:" in rows[1]
    assert {p: p.read_bytes() for p in vault.source.iterdir()} == sources  # never touched
    again = vault.sync(env={"MEMORY_VAULT_FILES": files})
    assert again.returncode == 0 and again.stderr == ""
    assert len(vault.remote_commits()) == 1
    listed = findings(vault, env={"MEMORY_VAULT_FILES": files})
    assert {(f["file"], f["rule"], f["state"]) for f in listed} == {
        ("memory.json", "anthropic-api-key", "redacted"),
        ("memory.jsonl", "github-pat", "redacted"),
        ("CLAUDE.md", "openrouter-api-key", "redacted"),
        ("notes.db", "slack-token", "redacted")}
    shown = vault.run("secrets", env={"MEMORY_VAULT_FILES": files}).stdout
    for secret in (ANTHROPIC, GITHUB, OPENROUTER, SLACK):
        assert secret not in shown


def test_refuse_skips_the_file_and_keeps_the_last_good_copy(vault: Vault) -> None:
    env = {"MEMORY_VAULT_SECRETS": "refuse"}
    vault.write("memory.json", memory("plain"), age=5)
    assert vault.sync(env=env).returncode == 0
    vault.write("memory.json", memory("plain", f"key {ANTHROPIC}"), age=3)
    result = vault.sync(env=env)
    assert result.returncode == 3, result.stderr
    assert "anthropic-api-key" in result.stderr and ANTHROPIC not in result.stderr
    assert vault_json(vault) == {"memories": ["the user likes tabs", "plain"]}
    assert not remote_holds(vault, ANTHROPIC)
    status = json.loads(vault.run("status", "--json", env=env).stdout)
    assert "memory.json" in {p["file"] for p in status["problems"] if p["kind"] == "skipped"}


def test_restore_names_the_secrets_it_cannot_bring_back(vault: Vault) -> None:
    vault.write("memory.json", memory(f"key {ANTHROPIC}"), age=5)
    assert vault.sync().returncode == 0
    fingerprint = findings(vault)[0]["fingerprint"]
    out = vault.tmp / "out"
    result = vault.run("restore", "memory.json", "--to", str(out))
    assert result.returncode == 0, result.stderr
    assert f"anthropic-api-key {fingerprint}" in result.stdout
    assert "not brought back" in result.stdout
    as_json = json.loads(vault.run("restore", "memory.json", "--to", str(vault.tmp / "o2"),
                                   "--json").stdout)
    assert as_json["files"][0]["secrets_not_restored"] == [
        {"rule": "anthropic-api-key", "fingerprint": fingerprint}]


def test_an_allowed_fingerprint_is_kept_as_it_is(vault: Vault) -> None:
    vault.write("memory.json", memory(f"key {GITHUB}"), age=5)
    assert vault.sync().returncode == 0
    fingerprint = str(findings(vault)[0]["fingerprint"])
    allowed = vault.run("secrets", "allow", fingerprint)
    assert allowed.returncode == 0, allowed.stderr
    assert fingerprint in allowed.stdout
    record = vault.home / ".config/memory-vault/secrets-allowed"
    assert fingerprint in record.read_text()  # a file a person can read
    assert vault.sync().returncode == 0
    assert GITHUB in json.dumps(vault_json(vault))
    row = findings(vault)[0]
    assert (row["state"], row["allowed"]) == ("in-vault", True)
    assert vault.run("secrets", "allow", "not-a-print").returncode == 2


# -- a host that refuses a push for a secret -------------------------------------------------

def test_a_refused_queue_drains_in_the_same_run(vault: Vault) -> None:
    """The issue's case: commits holding a key queued while the remote was away (or before
    this version), then a host whose push protection refuses them: one run drains it."""
    env = {"MEMORY_VAULT_SECRETS": "off"}
    vault.write("memory.json", memory("plain"), age=30)
    assert vault.sync(env=env).returncode == 0
    protect(vault)
    for number in range(3):
        vault.write("memory.json", memory("plain", f"key {ANTHROPIC}", f"n{number}"),
                    age=20 - number)
        assert vault.sync(env={**env, "MEMORY_VAULT_PUSH": "false"}).returncode == 0
    result = vault.sync(env=env)
    assert result.returncode == 0, result.stderr
    assert "refused the push" in result.stderr and "memory.json" in result.stderr
    assert not remote_holds(vault, ANTHROPIC)
    assert len(vault.remote_commits()) == 4
    assert vault_json(vault)["memories"][3] == "n2"  # type: ignore[index]
    originals = git("for-each-ref", "--format=%(refname)", "refs/memory-vault/unredacted/",
                    cwd=vault.clone).split()
    assert len(originals) == 1
    assert ANTHROPIC.encode() in subprocess.run(
        ["git", "show", f"{originals[0]}:rAgentShared/memory.json"], cwd=vault.clone,
        capture_output=True, check=True).stdout  # kept here, never pushed
    status = vault.run("status", "--json", env=env)
    assert status.returncode == 0, status.stdout
    assert vault.run("verify", env=env).returncode == 0
    assert_fsck_clean(vault.clone, vault.remote)


def test_a_family_only_the_host_knows_is_redacted_where_it_says(vault: Vault) -> None:
    protect(vault)
    vault.write("CLAUDE.md", f"# Notes\n\n- tabs\n- deploy with {UNKNOWN} today\n", age=5)
    result = vault.sync(env={"MEMORY_VAULT_FILES": "CLAUDE.md"})
    assert result.returncode == 0, result.stderr
    assert not remote_holds(vault, UNKNOWN)
    stored = vault.remote_file("CLAUDE.md").decode()
    assert "«redacted:zeta-quark-live-key:" in stored and "- tabs" in stored


def test_a_refusal_nothing_can_resolve_is_shown_until_it_is(vault: Vault) -> None:
    protect(vault, mode="plain")
    vault.write("CLAUDE.md", f"# Notes\n\n- deploy with {UNKNOWN}\n", age=5)
    env = {"MEMORY_VAULT_FILES": "CLAUDE.md"}
    result = vault.sync(env=env)
    assert result.returncode == 3
    status = vault.run("status", "--json", env=env)
    assert status.returncode == 1
    kinds = {p["kind"]: p["message"] for p in json.loads(status.stdout)["problems"]}
    assert "secret-refused" in kinds and "a secret was detected" in kinds["secret-refused"]
    assert not remote_holds(vault, UNKNOWN)


def test_a_plain_refusal_is_drained_by_our_own_scan(vault: Vault) -> None:
    protect(vault, mode="plain")
    vault.write("memory.json", memory(f"key {ANTHROPIC}"), age=5)
    result = vault.sync(env={"MEMORY_VAULT_SECRETS": "off"})
    assert result.returncode == 0, result.stderr
    assert not remote_holds(vault, ANTHROPIC)


# -- purge -----------------------------------------------------------------------------------

def test_purge_takes_a_secret_out_of_every_commit_here_and_on_the_remote(
        vault: Vault, tmp_path: Path) -> None:
    env = {"MEMORY_VAULT_SECRETS": "off"}
    vault.write("memory.json", memory("plain"), age=40)
    assert vault.sync(env=env).returncode == 0
    vault.write("memory.json", memory("plain", f"key {ANTHROPIC}"), age=30)
    assert vault.sync(env=env).returncode == 0
    vault.write("memory.json", memory("plain", f"key {ANTHROPIC}", "more"), age=20)
    assert vault.sync(env=env).returncode == 0
    other = _second_machine(vault, tmp_path)  # holds the old history in its clone
    assert reachable_holds(vault.remote, ANTHROPIC)
    row = next(f for f in findings(vault, env) if f["state"] == "in-vault")
    fingerprint = str(row["fingerprint"])
    asked = vault.run("secrets", "purge", fingerprint, env=env, stdin=subprocess.DEVNULL)
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert reachable_holds(vault.remote, ANTHROPIC)  # nothing rewritten without a yes
    result = vault.run("secrets", "purge", fingerprint, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "rotate" in result.stdout
    for repo in (vault.clone / ".git", vault.remote):
        assert not reachable_holds(repo, ANTHROPIC)
    assert not _holds(vault.clone / ".git", ANTHROPIC)  # pruned here, not only unreachable
    stored = vault_json(vault)
    assert stored["memories"][2].startswith("key «redacted:anthropic-api-key:")  # type: ignore[index]
    assert "Secret-Purged" in vault.remote_git("log", "-1", "--format=%B", "main")
    assert_fsck_clean(vault.clone, vault.remote)
    other.write("memory.json", memory("plain", "from the other machine"), age=5)
    synced = other.sync(env=env)
    assert synced.returncode == 0, synced.stderr
    assert not reachable_holds(vault.remote, ANTHROPIC)
    status = json.loads(other.run("status", "--json", env=env).stdout)
    assert "remote-rewritten" not in {p["kind"] for p in status["problems"]}
    unknown = vault.run("secrets", "purge", "0123456789ab", "--yes", env=env)
    assert unknown.returncode == 2 and "0123456789ab" in unknown.stderr


def _second_machine(vault: Vault, tmp_path: Path) -> Vault:
    """Another machine of the fleet, its clone made while the remote held the secret."""
    home, source = tmp_path / "home2", tmp_path / "agents2"
    home.mkdir()
    source.mkdir()
    other = Vault(tmp=tmp_path, source=source, home=home,
                  data=home / ".local/share/memory-vault", remote=vault.remote,
                  log=tmp_path / "logs2/sync.log", err=tmp_path / "logs2/sync.err")
    other.env = {**base_env(home), "MEMORY_VAULT_SOURCE_DIR": str(source),
                 "MEMORY_VAULT_REMOTE": str(vault.remote), "MEMORY_VAULT_LOG_FILE": str(other.log),
                 "MEMORY_VAULT_ERR_FILE": str(other.err)}
    other.write("gpt4_memories.json", memory("second"), age=10)
    assert other.sync(env={"MEMORY_VAULT_SECRETS": "off"}).returncode == 0
    assert os.path.isdir(other.clone)
    return other


def test_a_transcript_stored_in_pieces_is_scanned_piece_by_piece(vault: Vault) -> None:
    env = {"MEMORY_VAULT_MAX_FILE_MB": "0.05", "MEMORY_VAULT_FILES": "session.jsonl"}
    lines = [json.dumps({"role": "user", "n": n, "text": "x" * 200}) for n in range(600)]
    lines[3] = json.dumps({"role": "tool", "text": f"export KEY={ANTHROPIC}"})
    vault.write("session.jsonl", "\n".join(lines) + "\n", age=10)
    result = vault.sync(env=env)
    assert result.returncode == 0, result.stderr
    assert "anthropic-api-key" in result.stderr and "session.jsonl" in result.stderr
    assert not remote_holds(vault, ANTHROPIC)
    pieces = vault.remote_git("ls-tree", "--name-only", "main",
                              "rAgentShared/session.jsonl.pieces/").split()
    assert len(pieces) > 2
    first = vault.remote_git("rev-parse", "main:rAgentShared/session.jsonl.pieces/000001")
    with (vault.source / "session.jsonl").open("a") as handle:
        handle.write(json.dumps({"role": "user", "text": "one more"}) + "\n")
    os.utime(vault.source / "session.jsonl", (1, 1))
    again = vault.sync(env=env)
    assert again.returncode == 0 and "anthropic" not in again.stderr, again.stderr
    assert vault.remote_git("rev-parse", "main:rAgentShared/session.jsonl.pieces/000001") == first
    assert not remote_holds(vault, ANTHROPIC)
    out = vault.tmp / "restored"
    restored = vault.run("restore", "session.jsonl", "--to", str(out), env=env)
    assert restored.returncode == 0, restored.stderr
    back = (out / "session.jsonl").read_text().splitlines()
    assert len(back) == 601 and "«redacted:anthropic-api-key:" in back[3]
    assert vault.run("verify", env=env).returncode == 0
