"""Credentials for git: the remote's user and password handed to git through its environment,
and only for the remote's own origin.

A process's environment is readable only by its owner, its command line by every local user:
so the URL git sees carries no secret, and our own credential helper, configured through
GIT_CONFIG_KEY_n variables, answers git from variables of its environment.

Git asks its helper about whatever URL it is talking to, including one a redirect sent it to
(`http.followRedirects` follows the first request's redirects by default); plain git with
the token in the URL would never send it there. So the helper compares the `protocol=` and
`host=` git asks about with the remote's origin (`MV_GIT_ORIGIN`) and says nothing to any
other: the token reaches the remote's own scheme, host and port, or nobody.
"""

from memory_vault.urls import asks_for_credentials, split_credentials, url_origin

# A credential helper that answers git's `get` from variables of its environment, for the
# remote's origin alone (a default port spelled out, `host:443`, is the same origin).
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; p=; h=; '
    'while IFS= read -r l && test -n "$l"; do case "$l" in '
    'protocol=*) p="${l#protocol=}";; host=*) h="${l#host=}";; esac; done; '
    'case "$p://$h" in https://*:443) h="${h%:443}";; http://*:80) h="${h%:80}";; esac; '
    'test -n "$p" && test "$p://$h" = "$MV_GIT_ORIGIN" || exit 0; '
    'test -z "$MV_GIT_USERNAME" || printf "username=%s\\n" "$MV_GIT_USERNAME"; '
    'test -z "$MV_GIT_PASSWORD" || printf "password=%s\\n" "$MV_GIT_PASSWORD"; }; f'
)


def remote_credentials(url: str) -> tuple[str, str, str]:
    """(user, password, the origin `scheme://host[:port]` they are for) of the remote's URL,
    as git may be given them; empty for a URL git never asks a helper about (ssh: see
    `ignored_password`)."""
    _, user, password = split_credentials(url)
    if not (user or password) or not asks_for_credentials(url):
        return "", "", ""
    return user, password, url_origin(url)


def ignored_password(url: str) -> str | None:
    """The warning for a password git cannot use (in an ssh URL), or None: ssh runs in batch
    mode and never types one, so it is left out of every URL git and ssh see."""
    if asks_for_credentials(url) or not split_credentials(url)[2]:
        return None
    return ("the remote URL carries a password, which ssh cannot use (it runs in batch mode, "
            "without prompts): it is left out of every URL git and ssh see; give ssh a key "
            "instead (ssh-agent, or IdentityFile in ~/.ssh/config)")


def credential_environment(env: dict[str, str], user: str, password: str,
                           origin: str = "") -> dict[str, str]:
    """Config entries, passed as GIT_CONFIG_KEY_n/VALUE_n, that hand git the URL's
    credentials through our helper alone (the empty value first drops other helpers), for
    `origin` only (without one, the helper answers nobody)."""
    if not user and not password:
        return {}
    start = int(env.get("GIT_CONFIG_COUNT") or 0)
    entries = (("credential.helper", ""), ("credential.helper", CREDENTIAL_HELPER))
    added = {"GIT_CONFIG_COUNT": str(start + len(entries)), "MV_GIT_ORIGIN": origin,
             "MV_GIT_USERNAME": user, "MV_GIT_PASSWORD": password}
    for offset, (key, value) in enumerate(entries):
        added[f"GIT_CONFIG_KEY_{start + offset}"] = key
        added[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    return added
