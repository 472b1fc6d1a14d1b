"""The encrypted vault (issue 29): real age keys, a real bare remote, the real program.

The remote must learn nothing but sizes and times: every object and ref it holds,
decompressed, is searched for the memory's contents, its file names, the subdir, the commit
messages and the hashes the plain vault writes. A new machine with the URL and the identity
alone restores; the README's hand decryption with `age` and git gives the files back; a
missing or wrong identity is exit 2 naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import zlib
from pathlib import Path

import pytest
from fakes import fakes
from pyrage import x25519

from conftest import ROOT, Vault, assert_fsck_clean, base_env, git

NAMES = ("memory.json", "claude_opus_memories.json", "knowledge.jsonl")
SECRET_MEMORY = "Alice takes warfarin daily; her locker code is 7431"
GITHUB = fakes()["github-pat"][1]


def identity_file(folder: Path, name: str = "identity.txt") -> tuple[Path, str]:
    """A real age identity in the age tool's format: (its path, its public key)."""
    identity = x25519.Identity.generate()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    path.chmod(0o600)
    return path, str(identity.to_public())


@pytest.fixture
def sealed(vault: Vault) -> Vault:
    """The vault fixture, encrypted with an identity of its own."""
    path, _public = identity_file(vault.tmp / "keys")
    vault.env.update(MEMORY_VAULT_ENCRYPT="age", MEMORY_VAULT_IDENTITY=str(path))
    return vault


def write_memory(vault: Vault, round_: int) -> dict[str, bytes]:
    files = {
        "memory.json": f'{{"facts": ["{SECRET_MEMORY}", "round {round_}"]}}'.encode(),
        "claude_opus_memories.json": f'{{"prefers": "oolong tea", "n": {round_}}}'.encode(),
        "knowledge.jsonl": "".join(f'{{"entity": "Project Nightjar", "k": {k}}}\n'
                                   for k in range(round_ + 2)).encode(),
    }
    for name, data in files.items():
        vault.write(name, data, age=5)
    return files


def remote_bytes(remote: Path) -> bytes:
    """Everything the remote holds, decompressed: each object as git reads it, each loose
    object inflated, every file of the repository (refs, packed-refs, config, logs)."""
    objects = subprocess.run(["git", f"--git-dir={remote}", "cat-file",
                              "--batch-all-objects", "--batch"], capture_output=True,
                             check=True).stdout
    found = [objects]
    for path in remote.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found.append(path.relative_to(remote).as_posix().encode())
        if path.parent.parent.name == "objects" and len(path.parent.name) == 2:
            data = zlib.decompress(data)
        found.append(data)
    return b"\n".join(found)


def test_the_remote_learns_nothing_but_sizes_and_times(sealed: Vault) -> None:
    sealed.env["MEMORY_VAULT_FILES"] = ",".join(NAMES)
    written: dict[str, bytes] = {}
    for round_ in range(4):
        written = write_memory(sealed, round_)
        if round_ == 2:
            sealed.write("memory.json", f'{{"token": "{GITHUB}", "round": 2}}', age=5)
        result = sealed.sync("--now")
        assert result.returncode == 0, result.stderr
    held = remote_bytes(sealed.remote)
    clone = sealed.clone / ".git"
    messages = git("--git-dir", str(clone), "log", "--format=%B", "main")
    forbidden = [SECRET_MEMORY, "oolong", "Nightjar", "rAgentShared", *NAMES, GITHUB,
                 "Memory vault sync"]
    if len(os.uname().nodename) >= 8:  # a short host name ("vm") is in random bytes by chance
        forbidden.append(os.uname().nodename)
    forbidden += [hashlib.sha256(data).hexdigest() for data in written.values()]
    forbidden += [m for m in re.findall(r"[0-9a-f]{64}", messages)]  # the plain sha256 lines
    for word in forbidden:
        assert word.encode() not in held, word
    plain_commits = git("--git-dir", str(clone), "rev-list", "main").split()
    assert not any(sha.encode() in held for sha in plain_commits)  # no plain object id either
    assert sealed.remote_git("ls-tree", "-r", "--name-only", "main").split() == ["bundle.age"]
    assert set(sealed.remote_git("log", "--format=%an <%ae>|%s", "main").splitlines()) == {
        "Memory Vault <vault@memory-vault>|Memory Vault encrypted bundle"}
    # The secret was redacted before anything was encrypted: the plain clone never held it.
    assert GITHUB.encode() not in subprocess.run(
        ["git", f"--git-dir={clone}", "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True, check=True).stdout
    assert_fsck_clean(sealed.remote, sealed.clone)


def new_machine(vault: Vault, name: str, identity: Path) -> Vault:
    """Another machine: its own HOME, no clone, the URL and the identity only."""
    home, source = vault.tmp / name / "home", vault.tmp / name / "agents"
    home.mkdir(parents=True)
    source.mkdir(parents=True)
    other = Vault(tmp=vault.tmp, source=source, home=home,
                  data=home / ".local/share/memory-vault", remote=vault.remote,
                  log=vault.tmp / name / "log", err=vault.tmp / name / "err")
    other.env = base_env(home)
    other.env.update(MEMORY_VAULT_SOURCE_DIR=str(source), MEMORY_VAULT_REMOTE=str(vault.remote),
                     MEMORY_VAULT_LOG_FILE=str(other.log), MEMORY_VAULT_ERR_FILE=str(other.err),
                     MEMORY_VAULT_ENCRYPT="age", MEMORY_VAULT_IDENTITY=str(identity),
                     MEMORY_VAULT_FILES=",".join(NAMES))
    return other


def test_a_new_machine_restores_with_the_url_and_the_identity_alone(sealed: Vault) -> None:
    sealed.env["MEMORY_VAULT_FILES"] = ",".join(NAMES)
    versions = []
    for round_ in range(6):  # enough pushes for the chain to merge some links
        versions.append(write_memory(sealed, round_))
        assert sealed.sync("--now").returncode == 0
    chain_length = len(sealed.remote_git("rev-list", "main").split())
    assert chain_length < 6
    fresh = new_machine(sealed, "laptop", Path(sealed.env["MEMORY_VAULT_IDENTITY"]))
    result = fresh.run("restore")
    assert result.returncode == 0, result.stderr
    for name, data in versions[-1].items():
        assert (fresh.source / name).read_bytes() == data
    history = fresh.run("history", "knowledge.jsonl", "--json")
    assert history.returncode == 0, history.stderr
    import json

    entries = json.loads(history.stdout)
    entries = entries if isinstance(entries, list) else entries["history"]
    assert [e["records"] for e in entries] == [7, 6, 5, 4, 3, 2]
    oldest = entries[-1]["commit"]
    back = fresh.run("restore", "knowledge.jsonl", "--commit", oldest, "--to",
                     str(fresh.tmp / "old"))
    assert back.returncode == 0, back.stderr
    assert (fresh.tmp / "old" / "knowledge.jsonl").read_bytes() == versions[0]["knowledge.jsonl"]
    diff = fresh.run("diff", "knowledge.jsonl", "--from", oldest)
    assert diff.returncode == 0 and "+5" in diff.stdout, diff.stdout
    verify = fresh.run("verify")
    assert "ok    decrypt" in verify.stdout, verify.stdout


def test_the_readme_hand_decryption_gives_the_files_back(sealed: Vault) -> None:
    """The README's lines, run as written (the remote and the identity filled in)."""
    sealed.env["MEMORY_VAULT_FILES"] = ",".join(NAMES)
    written: dict[str, bytes] = {}
    for round_ in range(3):
        written = write_memory(sealed, round_)
        assert sealed.sync("--now").returncode == 0
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- hand decryption -->")[1].split("```sh\n")[1].split("```")[0]
    lines = block.strip().splitlines()
    assert len(lines) <= 10
    assert lines[0].startswith("REMOTE=")
    lines[0] = (f"REMOTE={sealed.remote} "
                f"IDENTITY={sealed.env['MEMORY_VAULT_IDENTITY']}")
    work = sealed.tmp / "by-hand"
    work.mkdir()
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=work,
                            capture_output=True, text=True, check=False,
                            env=base_env(sealed.home))
    assert result.returncode == 0, result.stderr
    for name, data in written.items():
        assert (work / "plain" / "rAgentShared" / name).read_bytes() == data


def test_a_missing_or_wrong_identity_is_exit_2_naming_the_file(sealed: Vault) -> None:
    sealed.write("memory.json", '{"a": 1}', age=5)
    assert sealed.sync("--now").returncode == 0
    identity = Path(sealed.env["MEMORY_VAULT_IDENTITY"])
    missing = sealed.tmp / "nowhere" / "identity.txt"
    sealed.write("memory.json", '{"a": 2}', age=5)
    result = sealed.sync(env={"MEMORY_VAULT_IDENTITY": str(missing)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].count(str(missing)) == 1
    garbage = sealed.tmp / "garbage.txt"
    garbage.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    result = sealed.sync(env={"MEMORY_VAULT_IDENTITY": str(garbage)})
    assert result.returncode == 2 and str(garbage) in result.stderr
    assert "NOTAKEY" not in result.stderr + sealed.log.read_text()  # never quoted
    # A real identity that is not a recipient: a new machine cannot read the vault.
    stranger, _public = identity_file(sealed.tmp / "stranger")
    fresh = new_machine(sealed, "stranger", stranger)
    result = fresh.run("restore")
    assert result.returncode == 2, result.stderr
    assert str(stranger) in result.stderr and "cannot decrypt" in result.stderr
    assert not list(fresh.source.iterdir())
    # verify on a clone that could read it once names the version it cannot decrypt.
    assert sealed.sync().returncode == 0
    result = sealed.run("verify", env={"MEMORY_VAULT_IDENTITY": str(stranger)})
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if " decrypt " in x)
    assert line.startswith("FAIL") and "version" in line and str(stranger) in line
    assert sealed.run("verify").returncode == 0
    secret = identity.read_text().splitlines()[-1]
    for place in (sealed.log, sealed.clone / ".git" / "config"):
        assert secret not in place.read_text()
    status = sealed.run("status", "--json")
    assert secret not in status.stdout and str(identity) not in status.stdout


def test_a_fleet_each_machine_its_own_identity(sealed: Vault) -> None:
    """Two machines, each with its own identity and the other's public key: each pushes,
    each reads what the other pushed."""
    laptop_key, laptop_public = identity_file(sealed.tmp / "laptop-keys")
    own = Path(sealed.env["MEMORY_VAULT_IDENTITY"])
    own_public = str(x25519.Identity.from_str(own.read_text().splitlines()[-1]).to_public())
    sealed.env["MEMORY_VAULT_RECIPIENTS"] = laptop_public
    sealed.write("memory.json", '{"from": "desktop"}', age=5)
    assert sealed.sync("--now").returncode == 0
    laptop = new_machine(sealed, "laptop", laptop_key)
    laptop.env.update(MEMORY_VAULT_RECIPIENTS=own_public, MEMORY_VAULT_FILES="notes.md",
                      MEMORY_VAULT_SUBDIR="rAgentShared/laptop")
    laptop.write("notes.md", "# from the laptop\n", age=5)
    result = laptop.sync("--now")
    assert result.returncode == 0, result.stderr
    sealed.write("memory.json", '{"from": "desktop", "again": true}', age=5)
    assert sealed.sync("--now").returncode == 0
    shown = sealed.run("restore", "laptop/notes.md", "--to", str(sealed.tmp / "got"))
    assert shown.returncode == 0, shown.stderr
    assert (sealed.tmp / "got" / "laptop" / "notes.md").read_text() == "# from the laptop\n"


def test_a_plain_vault_moves_to_an_encrypted_remote_with_its_history(vault: Vault) -> None:
    for round_ in range(3):
        vault.write("memory.json", f'{{"round": {round_}}}', age=5)
        assert vault.sync("--now").returncode == 0
    plain_history = vault.remote_git("log", "--format=%s", "main").splitlines()
    identity, _public = identity_file(vault.tmp / "keys")
    encrypted = vault.tmp / "encrypted.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(encrypted))
    # The same plain remote cannot simply become encrypted: it says how to do it.
    same = vault.sync("--now", env={"MEMORY_VAULT_ENCRYPT": "age",
                                    "MEMORY_VAULT_IDENTITY": str(identity)})
    assert same.returncode == 2 and "new, empty repository" in same.stderr
    vault.env.update(MEMORY_VAULT_ENCRYPT="age", MEMORY_VAULT_IDENTITY=str(identity),
                     MEMORY_VAULT_REMOTE=str(encrypted))
    vault.write("memory.json", '{"round": 3}', age=5)
    result = vault.sync("--now")
    assert result.returncode == 0, result.stderr
    assert f"the plain remote {vault.remote} is left" in result.stderr
    status = vault.run("status")
    assert f"{vault.remote} still holds the unencrypted history" in status.stdout
    fresh = new_machine(vault, "other", identity)
    fresh.env["MEMORY_VAULT_REMOTE"] = str(encrypted)
    history = fresh.run("history")
    assert history.returncode == 0, history.stderr
    assert len(history.stdout.strip().splitlines()) == len(plain_history) + 1
    # A plain machine pointed at the encrypted remote is told, and writes nothing there.
    plain = new_machine(vault, "plain", identity)
    plain.env.update(MEMORY_VAULT_REMOTE=str(encrypted), MEMORY_VAULT_ENCRYPT="off")
    plain.write("memory.json", '{"plain": true}', age=5)
    before = git(f"--git-dir={encrypted}", "rev-parse", "main")
    result = plain.sync("--now")
    assert result.returncode == 2 and "MEMORY_VAULT_ENCRYPT=age" in result.stderr
    assert git(f"--git-dir={encrypted}", "rev-parse", "main") == before


def test_init_encrypt_creates_the_identity_once(vault: Vault) -> None:
    del vault.env["MEMORY_VAULT_REMOTE"]
    first = vault.run("init", "--encrypt", "--remote", str(vault.remote))
    assert first.returncode == 0, first.stderr
    identity = vault.home / ".config" / "memory-vault" / "identity.txt"
    assert identity.stat().st_mode & 0o777 == 0o600
    assert identity.parent.stat().st_mode & 0o777 == 0o700
    public = next(line.split()[-1] for line in first.stdout.splitlines()
                  if "public key:" in line)
    assert public.startswith("age1") and "Keep a copy" in first.stdout
    secret = identity.read_text().splitlines()[-1]
    assert secret.startswith("AGE-SECRET-KEY-1") and secret not in first.stdout
    settings = (vault.home / ".config" / "memory-vault" / ".env").read_text()
    assert "MEMORY_VAULT_ENCRYPT=age" in settings and str(identity) in settings
    again = vault.run("init", "--encrypt", "--remote", str(vault.remote))
    assert again.returncode == 0 and public in again.stdout
    assert "Keep a copy" not in again.stdout  # said once, when it was created
    assert identity.read_text().splitlines()[-1] == secret
    vault.write("memory.json", '{"a": 1}', age=5)
    assert vault.sync("--now").returncode == 0
    assert vault.remote_git("ls-tree", "--name-only", "main").split() == ["bundle.age"]


@pytest.mark.parametrize(("settings", "variable"), [
    ({"MEMORY_VAULT_ENCRYPT": "aes"}, "MEMORY_VAULT_ENCRYPT"),
    ({"MEMORY_VAULT_ENCRYPT": "age", "MEMORY_VAULT_REMOTE": None}, "MEMORY_VAULT_ENCRYPT"),
    ({"MEMORY_VAULT_ENCRYPT": "age", "MEMORY_VAULT_RECIPIENTS": "age1short"},
     "MEMORY_VAULT_RECIPIENTS"),
])
def test_bad_encryption_settings_are_exit_2(vault: Vault, settings: dict[str, str | None],
                                            variable: str) -> None:
    vault.write("memory.json", '{"a": 1}', age=5)
    result = vault.sync(env=settings)
    assert result.returncode == 2
    assert variable in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_no_change_run_of_an_encrypted_vault_imports_nothing_more(sealed: Vault) -> None:
    """Nothing to encrypt, nothing imported: the cron path is the plain one, no pyrage."""
    import sys

    from test_fast_path import CRON_PATH, NEVER, PROBE

    from conftest import SCRIPT

    sealed.write("memory.json", '{"a": 1}', age=10)
    assert sealed.sync().returncode == 0
    env = {k: v for k, v in sealed.env.items() if not k.startswith("COVERAGE_")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(SCRIPT.parent),
                          " ".join({*NEVER, "pyrage"})], env=env, cwd=sealed.source,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "0"
    assert set(out[1].split()) == CRON_PATH
    assert out[2].split() == []


def test_purge_and_shrink_alarms_work_on_an_encrypted_vault(sealed: Vault) -> None:
    """`secrets purge` replaces the remote's chain by one full bundle of the rewritten
    history; a shrink alarm is raised and read back as on a plain vault."""
    import json

    env = {"MEMORY_VAULT_SECRETS": "off"}
    records = [f"fact {i}" for i in range(10)]
    sealed.write("memory.json", json.dumps({"m": [*records, f"key {GITHUB}"]}), age=30)
    assert sealed.sync(env=env).returncode == 0
    sealed.write("memory.json", json.dumps({"m": [*records, f"key {GITHUB}", "x"]}), age=20)
    assert sealed.sync(env=env).returncode == 0
    listed = json.loads(sealed.run("secrets", "--json", env=env).stdout)
    rows = listed["secrets"]
    fingerprint = next(r["fingerprint"] for r in rows if r["state"] == "in-vault")
    result = sealed.run("secrets", "purge", fingerprint, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert len(sealed.remote_git("rev-list", "main").split()) == 1  # one full bundle
    fresh = new_machine(sealed, "after-purge", Path(sealed.env["MEMORY_VAULT_IDENTITY"]))
    fresh.env["MEMORY_VAULT_FILES"] = "memory.json"
    assert fresh.run("restore").returncode == 0
    restored = (fresh.source / "memory.json").read_text()
    assert GITHUB not in restored and "«redacted:" in restored
    history = fresh.run("history")
    assert len(history.stdout.strip().splitlines()) == 2  # both versions, rewritten
    assert "Secret-Purged" in git("-C", str(fresh.clone), "log", "-1", "--format=%B", "main")
    sealed.write("memory.json", json.dumps({"m": ["fact 0"]}), age=5)
    shrunk = sealed.sync(env=env)
    assert shrunk.returncode == 0 and "memory.json" in shrunk.stderr
    status = json.loads(sealed.run("status", "--json", env=env).stdout)
    assert status["encrypted"] is True
    assert "shrink" in {p["kind"] for p in status["problems"]}


def test_a_new_identity_on_an_existing_clone_is_exit_2_and_pushes_nothing(
        sealed: Vault) -> None:
    """An identity file replaced (or made anew by `init --encrypt`) cannot read what the
    remote holds: its first push would split the vault between two keys. Exit 2 naming
    the file, the remote as it was; the right identity back, the run goes on."""
    sealed.write("memory.json", '{"a": 1}', age=5)
    assert sealed.sync("--now").returncode == 0
    identity = Path(sealed.env["MEMORY_VAULT_IDENTITY"])
    kept = identity.read_bytes()
    tip = sealed.remote_git("rev-parse", "main")
    replacement, _public = identity_file(sealed.tmp / "replacement")
    identity.write_bytes(replacement.read_bytes())
    sealed.write("memory.json", '{"a": 2}', age=5)
    result = sealed.sync()
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert str(identity) in last and "cannot decrypt" in last
    assert sealed.remote_git("rev-parse", "main") == tip
    identity.write_bytes(kept)
    result = sealed.sync()
    assert result.returncode == 0, result.stderr
    assert sealed.remote_git("rev-parse", "main") != tip
    fresh = new_machine(sealed, "check", identity)
    assert fresh.run("restore").returncode == 0
    assert (fresh.source / "memory.json").read_text() == '{"a": 2}'


def test_the_fetch_names_no_plain_commit_to_the_host(sealed: Vault) -> None:
    """git's negotiation says `have <sha>` of the commits a fetch already holds: of an
    encrypted vault's clone, only the sealed commits the host gave it (GIT_TRACE_PACKET
    records what was said)."""
    sealed.env["MEMORY_VAULT_FILES"] = "memory.json"
    sealed.write("memory.json", '{"from": "desktop", "n": 0}', age=5)
    assert sealed.sync("--now").returncode == 0
    laptop = new_machine(sealed, "laptop", Path(sealed.env["MEMORY_VAULT_IDENTITY"]))
    laptop.env.update(MEMORY_VAULT_FILES="notes.md", MEMORY_VAULT_SUBDIR="rAgentShared/laptop")
    laptop.write("notes.md", "# laptop 0\n", age=5)
    assert laptop.sync("--now").returncode == 0
    sealed.write("memory.json", '{"from": "desktop", "n": 1}', age=5)
    assert sealed.sync("--now").returncode == 0  # the remote moves on: the laptop fetches
    trace = laptop.tmp / "laptop-packets.txt"
    laptop.write("notes.md", "# laptop 1\n", age=5)
    result = laptop.sync("--now", env={"GIT_TRACE_PACKET": str(trace)})
    assert result.returncode == 0, result.stderr
    said = trace.read_text()
    haves = set(re.findall(r"have ([0-9a-f]{40})", said))
    assert haves, "the laptop fetched nothing: the test proves nothing"
    clone = laptop.clone / ".git"
    plain = set(git("--git-dir", str(clone), "rev-list", "--exclude=refs/memory-vault/sealed*",
                    "--all").split())
    plain |= set(git("--git-dir", str(clone), "rev-list", "main").split())
    assert plain and not haves & plain
    leaked = [line for line in said.splitlines() if any(sha in line for sha in plain)]
    assert not leaked, leaked[:5]


def _hostile_commit(vault: Vault, bundle: bytes, parent: str) -> str:
    """What a host can do without a key: a commit of its own on the branch, holding the
    bytes it chooses as `bundle.age`."""
    remote = str(vault.remote)
    blob = subprocess.run(["git", f"--git-dir={remote}", "hash-object", "-w", "--stdin"],
                          input=bundle, capture_output=True, check=True).stdout.decode().strip()
    tree = subprocess.run(["git", f"--git-dir={remote}", "mktree"],
                          input=f"100644 blob {blob}\tbundle.age\n".encode(),
                          capture_output=True, check=True).stdout.decode().strip()
    who = {"GIT_AUTHOR_NAME": "host", "GIT_AUTHOR_EMAIL": "host@example.invalid",
           "GIT_COMMITTER_NAME": "host", "GIT_COMMITTER_EMAIL": "host@example.invalid"}
    commit = subprocess.run(["git", f"--git-dir={remote}", "commit-tree", tree, "-p", parent,
                             "-m", "x"], env={**os.environ, **who}, capture_output=True,
                            check=True, text=True).stdout.strip()
    git(f"--git-dir={remote}", "update-ref", "refs/heads/main", commit)
    return commit


@pytest.mark.parametrize("attack", ["damaged", "replayed"])
def test_a_damaged_or_replayed_version_is_refused_naming_it(sealed: Vault,
                                                             attack: str) -> None:
    """A byte flipped in a bundle's encrypted body, or an old bundle served again as a new
    version: a new machine restores nothing and names the version; the clone that wrote
    the vault refuses it too and keeps its own history."""
    sealed.env["MEMORY_VAULT_FILES"] = "memory.json"
    for n in range(2):
        sealed.write("memory.json", f'{{"n": {n}}}', age=5)
        assert sealed.sync("--now").returncode == 0
    tip = sealed.remote_git("rev-parse", "main").strip()
    first = sealed.remote_git("rev-list", "--reverse", "main").split()[0]
    if attack == "damaged":
        body = bytearray(subprocess.run(
            ["git", f"--git-dir={sealed.remote}", "cat-file", "blob", f"{tip}:bundle.age"],
            capture_output=True, check=True).stdout)
        body[len(body) - 40] ^= 0x01  # in the last chunk's ciphertext, past the header
        forged = _hostile_commit(sealed, bytes(body), tip)
    else:
        old = subprocess.run(
            ["git", f"--git-dir={sealed.remote}", "cat-file", "blob", f"{first}:bundle.age"],
            capture_output=True, check=True).stdout
        forged = _hostile_commit(sealed, old, tip)
    fresh = new_machine(sealed, "victim", Path(sealed.env["MEMORY_VAULT_IDENTITY"]))
    fresh.env["MEMORY_VAULT_FILES"] = "memory.json"
    result = fresh.run("restore")
    assert result.returncode != 0
    assert forged[:12] in result.stderr, result.stderr
    assert not (fresh.source / "memory.json").exists()
    sealed.write("memory.json", '{"n": 2}', age=5)
    result = sealed.sync()
    assert result.returncode != 0 and forged[:12] in result.stderr, result.stderr
    assert sealed.run("restore", "--to", str(sealed.tmp / "mine")).returncode == 0
    assert (sealed.tmp / "mine" / "memory.json").read_text() == '{"n": 2}'


def test_a_machine_added_to_the_fleet_later_reads_the_whole_history(sealed: Vault) -> None:
    """A laptop's key added to MEMORY_VAULT_RECIPIENTS after the vault was written: the next
    push sends the whole history again, encrypted to both, and the laptop reads every
    version, the oldest included."""
    sealed.env["MEMORY_VAULT_FILES"] = "memory.json"
    for n in range(3):
        sealed.write("memory.json", f'{{"n": {n}}}', age=5)
        assert sealed.sync("--now").returncode == 0
    laptop_key, laptop_public = identity_file(sealed.tmp / "laptop-keys")
    laptop = new_machine(sealed, "laptop", laptop_key)
    laptop.env["MEMORY_VAULT_FILES"] = "memory.json"
    assert laptop.run("restore").returncode == 2  # not a recipient yet
    sealed.env["MEMORY_VAULT_RECIPIENTS"] = laptop_public
    sealed.write("memory.json", '{"n": 3}', age=5)
    result = sealed.sync("--now")
    assert result.returncode == 0, result.stderr
    assert "recipients changed" in sealed.log.read_text()
    assert len(sealed.remote_git("rev-list", "main").split()) == 1  # one full bundle
    import shutil

    shutil.rmtree(laptop.home)  # the refused attempt left nothing the next one needs
    laptop.home.mkdir()
    result = laptop.run("restore")
    assert result.returncode == 0, result.stderr
    assert (laptop.source / "memory.json").read_text() == '{"n": 3}'
    history = laptop.run("history", "memory.json")
    assert len(history.stdout.strip().splitlines()) == 4, history.stdout
    sealed.write("memory.json", '{"n": 4}', age=5)
    assert sealed.sync("--now").returncode == 0
    assert len(sealed.remote_git("rev-list", "main").split()) == 2  # no second full resend


def test_an_init_that_fails_after_making_the_identity_still_says_to_keep_it(
        sealed: Vault) -> None:
    """A second machine's `init --encrypt` against a vault its new identity cannot read
    stops (exit 2), but the identity it made is the one it will need: said once, there."""
    sealed.write("memory.json", '{"a": 1}', age=5)
    assert sealed.sync("--now").returncode == 0
    fresh = new_machine(sealed, "second", sealed.tmp / "second-identity.txt")
    del fresh.env["MEMORY_VAULT_IDENTITY"]
    result = fresh.run("init", "--encrypt")
    identity = fresh.home / ".config" / "memory-vault" / "identity.txt"
    assert result.returncode == 2, result.stdout + result.stderr
    assert identity.is_file() and str(identity) in result.stderr
    assert "keep a copy of the new age identity" in result.stderr
    again = fresh.run("init", "--encrypt")
    assert again.returncode == 2 and "keep a copy" not in again.stderr  # made once, said once
