"""Credentials for git: the remote's user and password handed to git through its environment.

A process's environment is readable only by its owner, its command line by every local user:
so the URL git sees carries no secret, and our own credential helper, configured through
GIT_CONFIG_KEY_n variables, answers git from two variables of its environment.
"""

# A credential helper that answers git from two variables of its environment: a process's
# environment is readable only by its owner, its command line by every local user.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'test -z "$MV_GIT_USERNAME" || printf "username=%s\\n" "$MV_GIT_USERNAME"; '
    'test -z "$MV_GIT_PASSWORD" || printf "password=%s\\n" "$MV_GIT_PASSWORD"; }; f'
)


def credential_environment(env: dict[str, str], user: str, password: str) -> dict[str, str]:
    """Config entries, passed as GIT_CONFIG_KEY_n/VALUE_n, that hand git the URL's
    credentials through our helper alone (the empty value first drops other helpers)."""
    if not user and not password:
        return {}
    start = int(env.get("GIT_CONFIG_COUNT") or 0)
    entries = (("credential.helper", ""), ("credential.helper", CREDENTIAL_HELPER))
    added = {"GIT_CONFIG_COUNT": str(start + len(entries)),
             "MV_GIT_USERNAME": user, "MV_GIT_PASSWORD": password}
    for offset, (key, value) in enumerate(entries):
        added[f"GIT_CONFIG_KEY_{start + offset}"] = key
        added[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    return added


