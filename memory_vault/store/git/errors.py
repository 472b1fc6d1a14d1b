"""Git's errors in words: the reason lines of a failure and the kind of trouble they mean.

Git and ssh explain a failure in a few lines among boilerplate and progress meters; these
pure functions keep the reason (the server's own words included) and sort it into network,
authentication or a refusal, for `status` to repeat. Unit-tested on literal bytes.
"""

from memory_vault.errors import KIND_AUTH, KIND_GIT, KIND_NETWORK, KIND_REFUSED

# Lowercase fragments of git's (and ssh's) messages, by the kind of trouble they mean.
AUTH_HINTS = (
    "authentication failed",
    "permission denied",
    "host key verification failed",
    "terminal prompts disabled",
    "could not read username",
    "could not read password",
    "invalid username or password",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "no matching host key",
    "remote host identification has changed",
)
REFUSAL_HINTS = (
    "[remote rejected]",
    "pre-receive hook declined",
    "denied",
    "protected branch",
    "push protection",
    "rule violations",
    "exceeds",
    "file size limit",
    "large files",
    "hook declined",
)
NETWORK_HINTS = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "failed to connect",
    "could not read from remote repository",
    "unable to access",
    "network is unreachable",
    "no route to host",
    "the remote end hung up",
    "does not appear to be a git repository",
    "repository not found",
    "early eof",
    "unable to connect",
    "connection reset",
    "connection closed",
)
# Lines git adds around the reason; dropped so that the reason itself is what we keep.
_BOILERPLATE = (
    "please make sure you have the correct access rights",
    "and the repository exists.",
    "error: failed to push some refs",
    "to ",
    "hint:",
    "done",
    "everything up-to-date",
)
REASON_LINES = 4
PROGRESS_COMMANDS = ("fetch", "push")  # network commands that report progress
# Progress meter lines: activity, not reasons.
_PROGRESS = ("enumerating objects", "counting objects", "compressing objects",
             "writing objects", "receiving objects", "resolving deltas", "total ",
             "delta compression", "unpacking objects")


def reason_lines(stderr: bytes, stdout: bytes = b"") -> list[str]:
    """Git's reason for a failure, boilerplate dropped, the server's own words kept.

    >>> reason_lines(b"Host key verification failed.\r\nfatal: Could not read from remote "
    ...              b"repository.\n\nPlease make sure you have the correct access rights\n")
    ['Host key verification failed.', 'fatal: Could not read from remote repository.']
    """
    lines: list[str] = []
    for raw in (stderr + b"\n" + _rejected_refs(stdout)).decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.lower().startswith("remote:"):
            line = line[7:].strip()
        lowered = line.lower()
        if not line or lowered.startswith(_BOILERPLATE + _PROGRESS) or line in lines:
            continue
        lines.append(line)
    return lines[:REASON_LINES]


def _rejected_refs(stdout: bytes) -> bytes:
    """`git push --porcelain` puts a refused ref on stdout: `!<TAB>src:dst<TAB>[reason]`."""
    return b"\n".join(line.split(b"\t")[-1] for line in stdout.splitlines()
                      if line.startswith(b"!"))


def written_bytes(line: bytes) -> int:
    """How much git said it wrote, from one line of its progress meter (`Writing objects:
    100% (3/3), 223.02 KiB`): the kernel may buffer all of it at once and send it for a long,
    silent while on a slow link. The remote's words (`remote: ...`) are not our upload and
    count for nothing: a server cannot buy itself time.

    >>> written_bytes(b"Writing objects: 100% (3/3), 223.02 KiB | 8.92 MiB/s, done.")
    228372
    >>> written_bytes(b"remote: Writing objects: 100% (3/3), 9.00 GiB")
    0
    """
    import re

    size = re.match(rb"Writing objects:[^\r\n]*?, ([0-9]+(?:\.[0-9]+)?) (bytes|KiB|MiB|GiB)", line)
    if size is None:
        return 0
    units = {b"bytes": 1, b"KiB": 1024, b"MiB": 1024**2, b"GiB": 1024**3}
    return int(float(size[1]) * units[size[2]])


def classify(text: str) -> str:
    """The kind of a remote failure from git's words: authentication, refusal or network."""
    lowered = text.lower()
    if any(h in lowered for h in AUTH_HINTS):
        return KIND_AUTH
    if any(h in lowered for h in REFUSAL_HINTS):
        return KIND_REFUSED
    if any(h in lowered for h in NETWORK_HINTS):
        return KIND_NETWORK
    return KIND_GIT


