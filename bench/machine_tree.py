"""A machine's agent memory, on disk: the machine case's data (bench/cases/machine.py).

Eight folders as the agents keep them (Claude Code, Codex, Gemini CLI, the MCP memory server,
a project's memory bank, an Aider project, two plain folders of notes), holding 5,000 files
and 1.5 GB at full size: transcripts of 0.2-5 MB in JSON Lines, and many small Markdown and
JSON memory files. Seeded, so every run builds the same bytes; text is words drawn two at a
time from a table by random bytes (about 80 MB/s, and as compressible as prose: zlib makes
it a third), each file written in one buffered write. A built tree is kept in the temporary
folder (`CACHE`, by scale and this module's own hash) and copied from there by later runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024
FULL_FILES = 5_000
FULL_BYTES = 1536 * MB  # 1.5 GB
TRANSCRIPT_BYTES = (int(0.2 * MB), 5 * MB)
SMALL_MEAN = 7_000  # bytes of a small memory file, on average
CACHE = Path(tempfile.gettempdir()) / "memory-vault-bench-machine"
# The default source (MEMORY_VAULT_SOURCE_DIR): a plain folder, its names given here.
DEFAULT_FOLDER = "agents"
DEFAULT_FILES = "*.json,*.md,kb/**/*.md,kb/**/*.json"
_SYLLABLES = ("ka", "to", "ri", "men", "sa", "lo", "vi", "dan", "ex", "pro", "ter", "ion",
              "al", "ing", "ed", "re", "co", "de", "mo", "ny", "git", "py", "th", "qu")


@dataclass(frozen=True)
class SourceSpec:
    """One source of the machine: its name, folder (relative to the tree), and either the
    preset `source add --preset` takes or the patterns `--files` takes."""

    name: str
    folder: str
    preset: str = ""
    files: str = ""

    def add_arguments(self, root: Path) -> list[str]:
        how = ["--preset", self.preset] if self.preset else ["--files", self.files]
        return ["source", "add", str(root / self.folder), "--name", self.name, *how]


# Seven sources added with `source add`; the eighth is the default source (DEFAULT_FOLDER).
SOURCES = (
    SourceSpec("claude-code", ".claude", preset="claude-code"),
    SourceSpec("codex", ".codex", preset="codex"),
    SourceSpec("gemini-cli", ".gemini", preset="gemini-cli"),
    SourceSpec("mcp-memory", ".mcp-memory", preset="mcp-memory"),
    SourceSpec("memory-bank", "projects/webapp", preset="memory-bank"),
    SourceSpec("aider", "projects/cli-tool", preset="aider"),
    SourceSpec("notes", "notes", files="**/*.md,**/*.json"),
)


@dataclass
class Tree:
    """What was built: every file, the transcripts among them (as vault path, disk path)."""

    root: Path
    files: int = 0
    bytes: int = 0
    transcripts: list[tuple[str, Path]] = field(default_factory=list)


class Text:
    """Words, fast: a table of every pair of 256 words, indexed by two random bytes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        words: list[str] = []
        while len(words) < 256:
            word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
            if word not in words:
                words.append(word)
        self.pairs = [f"{a} {b} " for a in words for b in words]

    def words(self, size: int) -> str:
        """About `size` characters of words (letters and spaces only: JSON needs no escape)."""
        index = array("H")
        index.frombytes(self.rng.randbytes(2 * (size // 12 + 1)))
        return "".join(map(self.pairs.__getitem__, index))[:size]

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def transcript_lines(text: Text, agent: str, size: int, session: str) -> list[bytes]:
    """JSON Lines of about `size` bytes, as `agent` writes its transcript: one event a
    line, each a few hundred bytes to 8 KB of text."""
    body = text.words(size)
    lines: list[bytes] = []
    at = written = 0
    while written < size and at < len(body):
        n = text.rng.randint(200, 8000)
        lines.append(event(text, agent, session, body[at:at + n]))
        at += n
        written += len(lines[-1])
    return lines


def event(text: Text, agent: str, session: str, words: str) -> bytes:
    """One line of a transcript."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_780_000_000
                                                             + text.rng.randrange(10**7)))
    if agent == "codex":
        line = {"timestamp": stamp + ".000Z", "type": "response_item",
                "payload": {"type": "message", "role": "assistant",
                            "content": [{"type": "output_text", "text": words}]}}
    elif agent == "gemini":
        line = {"id": text.uuid(), "timestamp": stamp + ".000Z", "type": "gemini",
                "content": words}
    else:
        line = {"parentUuid": text.uuid(), "isSidechain": False, "userType": "external",
                "cwd": "/home/me/src/project", "sessionId": session, "version": "2.1.3",
                "type": "assistant", "message": {"role": "assistant", "content": [
                    {"type": "text", "text": words}]}, "uuid": text.uuid(),
                "timestamp": stamp + ".000Z"}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


class Builder:
    """Writes the tree, counting what it wrote."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.tree = Tree(root)
        self.text = Text(rng)
        self.rng = rng

    def write(self, rel: str, data: bytes) -> Path:
        path = self.tree.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb", buffering=0) as handle:
            handle.write(data)
        self.tree.files += 1
        self.tree.bytes += len(data)
        return path

    def transcript(self, source: str, rel_in_source: str, folder: str, agent: str,
                   size: int) -> None:
        data = b"".join(transcript_lines(self.text, agent, size, self.text.uuid()))
        path = self.write(f"{folder}/{rel_in_source}", data)
        self.tree.transcripts.append((f"{source}/{rel_in_source}", path))

    def markdown(self, rel: str) -> None:
        size = self.rng.randint(1_000, 12_000)
        paragraphs = [self.text.words(self.rng.randint(200, 900)) for _ in range(size // 600 + 1)]
        self.write(rel, ("# " + self.text.words(40) + "\n\n" + "\n\n".join(paragraphs)
                         + "\n").encode())

    def memories_json(self, rel: str) -> None:
        records = [{"id": i, "text": self.text.words(self.rng.randint(60, 400)),
                    "score": round(self.rng.random(), 4)}
                   for i in range(self.rng.randint(4, 30))]
        self.write(rel, json.dumps({"memories": records}, indent=1).encode())


def prepared(root: Path, scale: float) -> Tree:
    """The machine at `scale`, in `root`: copied from the cache, built there first if it is
    not yet (a full-size build writes 1.5 GB; a copy takes seconds)."""
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    cached = CACHE / f"{scale:g}-{key}"
    if not (cached / "tree.json").exists():
        for old in CACHE.glob(f"{scale:g}-*"):  # a half-built tree, or an older build's
            shutil.rmtree(old)
        built = build(cached / "tree", scale)
        (cached / "tree.json").write_text(json.dumps({
            "files": built.files, "bytes": built.bytes,
            "transcripts": [(v, str(p.relative_to(built.root))) for v, p in built.transcripts]}))
    subprocess.run(["cp", "-a", str(cached / "tree"), str(root)], check=True)
    _age(root)
    meta = json.loads((cached / "tree.json").read_text())
    return Tree(root, meta["files"], meta["bytes"],
                [(v, root / rel) for v, rel in meta["transcripts"]])


def build(root: Path, scale: float, seed: int = 26) -> Tree:
    """The machine at `scale` of its full size: files and bytes both scaled, transcripts
    keeping their real sizes (so fewer of them)."""
    make = Builder(root, random.Random(seed))
    total_files = max(40, round(FULL_FILES * scale))
    _fixed(make, scale)
    left = total_files - make.tree.files
    sizes = transcript_sizes(random.Random(seed + 1),
                             int(FULL_BYTES * scale) - make.tree.bytes - left * SMALL_MEAN)
    _small_files(make, max(0, left - len(sizes)))
    _transcripts(make, sizes)
    return make.tree


def transcript_sizes(rng: random.Random, budget: int) -> list[int]:
    """Sizes of 0.2-5 MB, uniformly drawn, that add up to `budget`."""
    sizes: list[int] = []
    while budget > TRANSCRIPT_BYTES[0]:
        sizes.append(min(budget, rng.randint(*TRANSCRIPT_BYTES)))
        budget -= sizes[-1]
    return sizes


def _fixed(make: Builder, scale: float) -> None:
    """The files every machine has once: the agents' instruction files, histories, the
    knowledge graph, an Aider chat history."""
    for rel in (".claude/CLAUDE.md", ".codex/AGENTS.md", ".gemini/GEMINI.md",
                "projects/cli-tool/CONVENTIONS.md", f"{DEFAULT_FOLDER}/README.md"):
        make.markdown(rel)
    for rel, agent in ((".claude/history.jsonl", "claude"), (".codex/history.jsonl", "codex")):
        make.write(rel, b"".join(transcript_lines(make.text, agent, 100_000, "history")))
    graph = [json.dumps({"type": "entity", "name": f"entity-{i}", "entityType": "topic",
                         "observations": [make.text.words(80) for _ in range(4)]},
                        separators=(",", ":")) for i in range(max(50, int(6000 * scale)))]
    make.write(".mcp-memory/memory.jsonl", "\n".join(graph).encode())
    chat = "".join(f"#### {make.text.words(60)}\n\n{make.text.words(700)}\n\n"
                   for _ in range(max(20, int(1500 * scale))))
    make.write("projects/cli-tool/.aider.chat.history.md", chat.encode())


def _small_files(make: Builder, count: int) -> None:
    """Memory files of 1-12 KB, Markdown and JSON, spread over five sources."""
    for i in range(count):
        share = i % 10
        if share < 3:
            make.markdown(f".claude/projects/-home-me-src-p{i % 12}/memory/note-{i:05d}.md")
        elif share < 4:
            make.markdown(f".codex/memories/topic-{i % 9}/m-{i:05d}.md")
        elif share < 6:
            make.markdown(f"projects/webapp/memory-bank/part-{i % 7}/entry-{i:05d}.md")
        elif share < 8:
            (make.markdown if i % 3 else make.memories_json)(
                f"notes/{2020 + i % 6}/{i % 12 + 1:02d}/n-{i:05d}."
                f"{'md' if i % 3 else 'json'}")
        elif i % 2:
            make.markdown(f"{DEFAULT_FOLDER}/kb/topic-{i % 11}/k-{i:05d}.md")
        else:
            make.memories_json(f"{DEFAULT_FOLDER}/kb/topic-{i % 11}/k-{i:05d}.json")


def _transcripts(make: Builder, sizes: list[int]) -> None:
    """Transcripts of these sizes: half Claude Code's, a third Codex's, the rest Gemini
    CLI's, in their folders."""
    for i, size in enumerate(sizes):
        session = make.text.uuid()
        if i % 6 < 3:
            make.transcript("claude-code", f"projects/-home-me-src-p{i % 12}/{session}.jsonl",
                            ".claude", "claude", size)
        elif i % 6 < 5:
            day = f"2026/{i % 12 + 1:02d}/{i % 28 + 1:02d}"
            make.transcript("codex", f"sessions/{day}/rollout-{day.replace('/', '-')}"
                            f"T10-00-{i % 60:02d}-{session}.jsonl", ".codex", "codex", size)
        else:
            make.transcript("gemini-cli", f"tmp/{i % 8:064x}/chats/session-{session}.jsonl",
                            ".gemini", "gemini", size)


def _age(root: Path, seconds: float = 600) -> None:
    """Date every file back, as cron finds them: written minutes before the run."""
    past = time.time() - seconds
    for folder, _dirs, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(folder, name), (past, past))
