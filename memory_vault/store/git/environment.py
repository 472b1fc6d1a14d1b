"""The environment of every git we start: no prompt of any kind, plain C messages, the
remote's credentials for our helper only (which answers for the remote's own origin alone),
and glibc's huge pages for large delta chains."""

import os

from memory_vault.store.git.credentials import credential_environment


def allocator_tunables(current: str) -> str:
    """Ask glibc to back git's large buffers with transparent huge pages.

    git rebuilds a version stored as a chain of deltas by applying each link into a freshly
    allocated buffer the size of the file; for a 10 MB database at depth 50 that is half a
    gigabyte of fresh pages, and the page faults, not the copying, were most of the time
    (0.6 s of a 0.8 s `cat-file`; 0.3 s with huge pages, measured on the benchmark's
    machine). Where the kernel or C library has no such thing, the setting does nothing;
    a user's own setting of it wins.
    """
    if "glibc.malloc.hugetlb" in current:
        return current
    return ":".join(filter(None, ("glibc.malloc.hugetlb=1", current)))


def git_environment(base: dict[str, str] | None = None,
                    credentials: tuple[str, str] = ("", ""),
                    credential_origin: str = "") -> dict[str, str]:
    """The environment of every git we start: no prompt of any kind, plain C messages, and
    the remote's credentials (if its URL had any) for our credential helper only, which
    gives them to `credential_origin` alone."""
    env = dict(os.environ if base is None else base)
    env.update(credential_environment(env, *credentials, credential_origin))
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        SSH_ASKPASS_REQUIRE="never",
        GIT_ASKPASS=env.get("GIT_ASKPASS", "true"),
        LC_ALL="C",
        LANGUAGE="C",
    )
    ssh = env.get("GIT_SSH_COMMAND") or "ssh"
    if "BatchMode" not in ssh:
        ssh += " -o BatchMode=yes"
    env["GIT_SSH_COMMAND"] = ssh
    env["GLIBC_TUNABLES"] = allocator_tunables(env.get("GLIBC_TUNABLES", ""))
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    return env


