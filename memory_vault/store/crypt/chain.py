"""Chain: the encrypted bundles the remote holds, oldest first, and when to merge them.

The remote's branch is a line of commits, each adding one age-encrypted git bundle; the
first is a full bundle, each later one holds the commits the remote lacked before it (its
prerequisites are the previous one's tip). The clone keeps, for each link, the plain tip
its bundle brings and the bundle's size: what a push needs to know which links to merge
into a new one. Kept in one small file of the clone's git folder; it is only a cache (lost,
the links are decrypted again).

The links partition the history: the remote holds each commit once, in one bundle, so
what it keeps reachable is about one full bundle of the history whatever the chain. Merging
only bounds the number of links, geometrically, as git's `repack --geometric`: every link
must be at least `FACTOR` times the size of all newer ones together (the first, a full
bundle, `ROOT_FACTOR` times); the oldest link that is not, and everything after it, are
replaced by one bundle at the next push (the whole chain: one full bundle). So a new machine
applies a few links whatever the history (a year of 15-minute syncs: at most ~20), and a
byte is uploaded again a few times (about 8 over that year: see docs/design.md).
"""

import os

from memory_vault.fsutil import write_atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.store.git.runner import GitRunner

CHAIN_FILE = "memory-vault-sealed-chain"
FACTOR = 0.5
ROOT_FACTOR = 1.0
MAX_LINKS = 40  # whatever the sizes, a new machine applies at most this many bundles
MAX_HEADER_BYTES = 1 << 20
BUNDLE_SIGNATURES = (b"# v2 git bundle\n", b"# v3 git bundle\n")


class Link:
    """One commit of the remote's branch: its sha, the plain tip its bundle brings, the
    size of the encrypted bundle, and the recipients it was encrypted to (a fingerprint the
    bundle itself carries, as a ref name: "" for none)."""

    __slots__ = ("plain", "sealed", "sealed_for", "size")

    def __init__(self, sealed: str, plain: str, size: int, sealed_for: str = "") -> None:
        self.sealed = sealed
        self.plain = plain
        self.size = size
        self.sealed_for = sealed_for


class Chain:
    """The links of the remote's branch as this clone last applied them, oldest first, and
    `reader`, the public key of the identity that last opened one ("": ask again)."""

    __slots__ = ("links", "reader")

    def __init__(self, links: list[Link], *, reader: str = "") -> None:
        self.links = links
        self.reader = reader

    @property
    def sealed_for(self) -> str:
        """The recipients every link was encrypted to ("": they differ, or are unknown)."""
        found = {link.sealed_for for link in self.links}
        return found.pop() if len(found) == 1 else ""

    @property
    def tip(self) -> str | None:
        """The remote's branch when we last applied it: the lease of our next push."""
        return self.links[-1].sealed if self.links else None

    def merge_from(self) -> int:
        """The index of the first link the next push replaces (len: none, 0: all of them
        by one full bundle)."""
        if len(self.links) >= MAX_LINKS:
            return 0
        start, newer = len(self.links), 0
        for index in range(len(self.links) - 1, -1, -1):
            if self.links[index].size < (FACTOR if index else ROOT_FACTOR) * newer:
                start = index
            newer += self.links[index].size
        return start

    def replaced_from(self, start: int, link: Link, *, reader: str) -> "Chain":
        return Chain([*self.links[:start], link], reader=reader)


def load_chain(git_dir: str) -> Chain:
    """The chain file, or an empty chain when it is missing or damaged (a cache)."""
    try:
        with open(os.path.join(git_dir, CHAIN_FILE), encoding="ascii") as handle:
            rows = [line.split() for line in handle]
        reader = next((row[1] for row in rows if row[0] == "#reader" and len(row) == 2), "")
        return Chain([Link(row[0], row[1], int(row[2]), *row[3:4]) for row in rows
                      if not row[0].startswith("#") and len(row) in (3, 4)],
                     reader=reader)
    except (OSError, ValueError, UnicodeDecodeError):
        return Chain([])


def save_chain(git_dir: str, chain: Chain) -> None:
    text = (f"#reader {chain.reader}\n" if chain.reader else "") + "".join(
        f"{link.sealed} {link.plain} {link.size} {link.sealed_for}".rstrip() + "\n"
        for link in chain.links)
    write_atomic(os.path.join(git_dir, CHAIN_FILE), text.encode(), durable=True)


class BundleHeader:
    """What a git bundle's header says: the commits it needs and the refs it brings."""

    __slots__ = ("hash_name", "pack_offset", "prerequisites", "refs")

    def __init__(self) -> None:
        self.hash_name = "sha1"  # the object format: a v3 bundle may say sha256
        self.prerequisites: list[str] = []
        self.refs: dict[str, str] = {}  # ref name -> sha
        self.pack_offset = 0


def read_header(path: str) -> BundleHeader:
    """Parse a bundle's header (v2 or v3); ValueError when it is not a bundle."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_HEADER_BYTES)
    signature = next((s for s in BUNDLE_SIGNATURES if head.startswith(s)), None)
    end = head.find(b"\n\n")
    if signature is None or end < 0:
        raise ValueError("not a git bundle")
    header = BundleHeader()
    header.pack_offset = end + 2
    for line in head[len(signature):end].decode("utf-8", "replace").split("\n"):
        if line.startswith("@"):  # a v3 capability
            if line == "@object-format=sha256":
                header.hash_name = "sha256"
            continue
        if line.startswith("-"):
            header.prerequisites.append(line[1:].split(" ", 1)[0])
            continue
        sha, _space, ref = line.partition(" ")
        if not ref or not sha:
            raise ValueError("not a git bundle")
        header.refs[ref] = sha
    return header


def pack_intact(path: str, header: BundleHeader) -> bool:
    """Does the bundle's pack end with the checksum of its content (nothing truncated or
    altered since it was made)?"""
    import hashlib

    digest = hashlib.new(header.hash_name, usedforsecurity=False)
    trailer = digest.digest_size
    size = os.path.getsize(path)
    if size - header.pack_offset < 12 + trailer:
        return False
    with open(path, "rb") as handle:
        handle.seek(header.pack_offset)
        if handle.read(4) != b"PACK":
            return False
        handle.seek(header.pack_offset)
        remaining = size - header.pack_offset - trailer
        while remaining > 0:
            chunk = handle.read(min(remaining, 1 << 20))
            if not chunk:
                return False
            digest.update(chunk)
            remaining -= len(chunk)
        return digest.digest() == handle.read(trailer)


def link_problem(header: BundleHeader, intact: bool, previous: str | None, plain: str,
                 local_ref: str, runner: "GitRunner") -> str | None:
    """What is wrong with a link whose bundle has this header (None: nothing): it must bring
    the tip the clone applied, after the previous link's, and need only what that holds. A
    host that replays an old link, or splices links, is caught here, key or no key."""
    if not intact:
        return "its pack is damaged"
    from memory_vault.store.tracking import is_ancestor

    if header.refs.get(local_ref) != plain:
        return "it does not bring the tip the clone applied"
    if previous is None:
        return "the first bundle needs commits no bundle brings" if header.prerequisites \
            else None
    if plain == previous or not is_ancestor(runner, previous, plain):
        return "it brings nothing after the bundle before it (an old one replayed?)"
    if not all(is_ancestor(runner, needed, previous) for needed in header.prerequisites):
        return "it needs commits the bundles before it do not bring"
    return None
