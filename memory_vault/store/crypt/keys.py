"""Keys: the age identity that reads the vault and the recipients it is encrypted to.

The only module that imports `pyrage` (the Rust `rage` implementation of age, in process:
no key ever reaches a command line, a log or `.git/config`). An identity file is the age
tool's own format, so `age -d -i identity.txt` reads what we write. Nothing here is on the
cron path: a run imports it only once it has something to push or fetch.
"""

import os
import stat
import time

from memory_vault.errors import ConfigError
from memory_vault.fsutil import ensure_private_dir, fsync_dir

IDENTITY = "MEMORY_VAULT_IDENTITY"
RECIPIENTS = "MEMORY_VAULT_RECIPIENTS"
SECRET_PREFIX = "AGE-SECRET-KEY-1"  # noqa: S105 (the format, no key)
MAX_IDENTITY_BYTES = 64 * 1024

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrage import x25519


class Keys:
    """The identities that decrypt and the recipients every new version is encrypted to:
    this machine's own public key first, then `MEMORY_VAULT_RECIPIENTS` (a fleet)."""

    __slots__ = ("identities", "path", "public_key", "recipients")

    def __init__(self, path: str, identities: "list[x25519.Identity]",
                 recipients: "list[x25519.Recipient]") -> None:
        self.path = path
        self.identities = identities
        self.recipients = recipients
        self.public_key = str(identities[0].to_public())

    @property
    def fingerprint(self) -> str:
        """The recipients, as a set: what a chain's links were encrypted to (public keys
        only; a hash, so that the chain file stays one short line)."""
        import hashlib

        keys = "\n".join(sorted({str(r) for r in self.recipients}))
        return hashlib.sha256(keys.encode()).hexdigest()[:32]

    def encrypt_file(self, plain: str, sealed: str) -> None:
        import pyrage

        pyrage.encrypt_file(plain, sealed, list(self.recipients))

    def decrypt_file(self, sealed: str, plain: str) -> None:
        """Raises `pyrage.DecryptError` when no identity of the file opens it."""
        import pyrage

        pyrage.decrypt_file(sealed, plain, list(self.identities))


def load_keys(path: str, extra_recipients: tuple[str, ...]) -> Keys:
    """The identity file read (exit 2 naming it when it is missing, unreadable or holds no
    age identity) and the recipients parsed. Never quotes the file's content."""
    from pyrage import IdentityError, RecipientError, x25519

    lines = _identity_lines(path)
    try:
        identities = [x25519.Identity.from_str(line) for line in lines]
    except IdentityError:
        raise _bad_identity(path, "holds a line that is not a valid age identity") from None
    if not identities:
        raise _bad_identity(path, f"holds no age identity (a line {SECRET_PREFIX}...)")
    own = [i.to_public() for i in identities]
    try:
        extra = [x25519.Recipient.from_str(key) for key in extra_recipients]
    except RecipientError:
        raise ConfigError(f"{RECIPIENTS}: a key is not a valid age public key",
                          RECIPIENTS) from None
    return Keys(path, identities, own[:1] + extra)


def _identity_lines(path: str) -> list[str]:
    try:
        fd = os.open(path, os.O_RDONLY)  # a link is followed (agenix, sops-nix, stow)
    except FileNotFoundError:
        raise _bad_identity(path, "no such file (`memory-vault init --encrypt` creates one; "
                                  "on another machine of the vault, copy its identity "
                                  "there)") from None
    except OSError as exc:
        raise _bad_identity(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _bad_identity(path, "is not a regular file")
        data = os.read(fd, MAX_IDENTITY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_IDENTITY_BYTES:
        raise _bad_identity(path, "is too large for an age identity file")
    text = data.decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _bad_identity(path: str, why: str) -> ConfigError:
    return ConfigError(f"{IDENTITY}={path}: {why}", IDENTITY)


def too_open(path: str) -> bool:
    """Can another user read the identity file (group or world bits)?"""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False


def create_identity(path: str) -> tuple[str, bool]:
    """A new age identity at `path` (mode 0600, its folder 0700), unless one is there:
    (its public key, whether it was created now). Never replaces an existing file."""
    from pyrage import x25519

    if os.path.lexists(path):
        return load_keys(path, ()).public_key, False
    ensure_private_dir(os.path.dirname(path) or ".")
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = (f"# created: {stamp} by memory-vault init --encrypt\n# public key: {public}\n"
            f"{identity}\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise _bad_identity(path, f"cannot be created ({exc.strerror or exc})") from None
    try:
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(os.path.dirname(path) or ".")
    return public, True
