"""Audit: the encrypted links checked: each of them for `verify`, the newest before an
identity that has not read this vault yet seals anything.

A link passes when it decrypts with this identity, is a git bundle whose pack is intact,
needs only what the links before it bring and brings the plain tip the clone applied: what
a new machine holding the identity alone would get back.
"""

import shutil

from memory_vault.errors import VaultError
from memory_vault.store.crypt.chain import (
    Chain,
    link_problem,
    load_chain,
    pack_intact,
    read_header,
    save_chain,
)
from memory_vault.store.crypt.sealed import FETCHED_REF, Sealed, date_of, scratch
from memory_vault.store.git import model


def audit(sealed: Sealed) -> tuple[bool, str]:
    """(every link good, one line saying so, or naming the first bad link and why)."""
    runner = sealed.repo.git
    chain = load_chain(sealed.repo.git_dir)
    if not chain.links and model.read_ref(runner.cwd, FETCHED_REF):
        chain = sealed.apply(runner)  # the chain file was lost: read the links again
    if not chain.links:
        return True, "the remote holds no encrypted version yet"
    previous: str | None = None
    for number, link in enumerate(chain.links, 1):
        folder = scratch(runner)
        try:
            plain, _size = sealed.decrypt(runner, link.sealed, folder)
            header = read_header(plain)
            problem = link_problem(header, pack_intact(plain, header), previous, link.plain,
                                   sealed.repo.local_ref, runner)
        except (VaultError, ValueError) as exc:
            problem = str(exc) if isinstance(exc, VaultError) else "not a git bundle"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if problem is not None:
            return False, (f"the remote's version {link.sealed[:12]} "
                           f"({date_of(runner, link.sealed)}, {number} of "
                           f"{len(chain.links)}): {problem}")
        previous = link.plain
    return True, (f"{len(chain.links)} encrypted bundle(s) on the remote decrypt with "
                  f"{sealed.keys.path} and hold the history up to {(previous or '')[:12]}")


def check_reader(sealed: Sealed, chain: Chain) -> None:
    """An identity that has not opened this chain yet (replaced, or made anew by `init
    --encrypt`) must open its newest link before it seals anything: a version only a new
    key reads would split the vault between two keys (exit 2 naming the file)."""
    if not chain.links or chain.reader == sealed.keys.public_key:
        return
    runner = sealed.repo.git
    folder = scratch(runner)
    try:
        sealed.decrypt(runner, chain.links[-1].sealed, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    chain.reader = sealed.keys.public_key
    save_chain(sealed.repo.git_dir, chain)
