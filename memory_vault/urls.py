"""Credentials in remote URLs: the one place that knows where they sit and keeps them out
of everything we print, log, store or put on a command line.

A remote such as `https://user:TOKEN@host/repo.git` carries a secret. Git and its helpers
echo URLs in their messages, so every line we emit goes through `Redactor.clean`, which masks
the userinfo of any URL it sees and, as a second net, every known secret string. The clone
stores the URL without its userinfo (`split_credentials`); git gets the secret from a
credential helper fed through the environment (`store/git/credentials.py`), and only for
the remote's own origin (`url_origin`); an ssh URL keeps its user and loses its password.
"""

MASK = "***"
_URL_END = " \t\r\n'\"<>`),;"
_USER_ONLY_SECRET_SCHEMES = ("http", "https", "ftp", "ftps")


def mask_url_credentials(text: str) -> str:
    """Mask `scheme://user:secret@` as `scheme://user:***@` (and a bare http token user)."""
    out: list[str] = []
    pos = 0
    while True:
        sep = text.find("://", pos)
        if sep < 0:
            out.append(text[pos:])
            return "".join(out)
        start = sep + 3
        end = start
        while end < len(text) and text[end] not in _URL_END and text[end] != "/":
            end += 1
        netloc = text[start:end]
        at = netloc.rfind("@")
        out.append(text[pos:start])
        if at >= 0:
            userinfo = netloc[:at]
            scheme = _scheme_before(text, sep)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":" + MASK
            elif scheme in _USER_ONLY_SECRET_SCHEMES:
                userinfo = MASK
            out.append(userinfo + netloc[at:])
        else:
            out.append(netloc)
        pos = end


def _scheme_before(text: str, sep: int) -> str:
    begin = sep
    while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] in "+.-"):
        begin -= 1
    return text[begin:sep].lower()


def secrets_in_url(url: str | None) -> list[str]:
    """The secret parts of a URL (password, or a bare http(s) user that may be a token)."""
    if not url or "://" not in url:
        return []
    scheme, rest = url.split("://", 1)
    netloc = rest.split("/", 1)[0]
    if "@" not in netloc:
        return []
    userinfo = netloc.rsplit("@", 1)[0]
    if ":" in userinfo:
        secret = userinfo.split(":", 1)[1]
    elif scheme.lower() in _USER_ONLY_SECRET_SCHEMES:
        secret = userinfo
    else:
        return []
    found = [secret] if secret else []
    if "%" in secret:
        from urllib.parse import unquote

        found.append(unquote(secret))
    return [s for s in found if len(s) >= 3]


class Redactor:
    """Masks URL credentials and the configured remote's secrets in any text."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets = sorted(set(secrets or []), key=len, reverse=True)

    @classmethod
    def for_remote(cls, url: str | None, *others: str | None) -> "Redactor":
        """Masks the secrets of the remote's URL (and of any other URL given)."""
        return cls([s for u in (url, *others) for s in secrets_in_url(u)])

    def clean(self, text: str) -> str:
        if "://" in text:
            text = mask_url_credentials(text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def split_credentials(url: str) -> tuple[str, str, str]:
    """(URL for git, the user taken out of it, the password taken out of it).

    An http(s)/ftp URL loses its whole userinfo: git asks our credential helper, which
    answers for this URL's own origin only (`url_origin`). Any other URL keeps its user, an
    account name (`ssh://git@host/x`), but never its password: ssh runs in batch mode and
    cannot use one, and the URL git gets reaches ssh's command line and `.git/config`.
    Percent-escapes are decoded, as git itself would.
    """
    if "://" not in url:
        return url, "", ""
    scheme, rest = url.split("://", 1)
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url, "", ""
    userinfo, host = netloc.rsplit("@", 1)
    user, colon, password = userinfo.partition(":")
    from urllib.parse import unquote

    if scheme.lower() in _USER_ONLY_SECRET_SCHEMES:
        return f"{scheme}://{host}{slash}{path}", unquote(user), unquote(password)
    if not colon:
        return url, "", ""
    return f"{scheme}://{user}@{host}{slash}{path}", "", unquote(password)


_DEFAULT_PORTS = {"http": ":80", "https": ":443", "ftp": ":21", "ftps": ":990"}


def url_origin(url: str) -> str:
    """`scheme://host[:port]` of a URL (no userinfo, no default port): the one origin a
    credential in the URL is for. A redirect elsewhere gets no credential (git's helper and
    the heartbeat both compare origins). "" for a URL that has none (a path, scp syntax).

    >>> url_origin("https://user:tok@Host.example:443/x.git")
    'https://Host.example'
    """
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return f"{scheme}://{host}"


def asks_for_credentials(url: str) -> bool:
    """Does git ask a credential helper for this URL's user and password (http(s), ftp)?
    Over ssh it never does: ssh authenticates by key, in batch mode."""
    return "://" in url and url.split("://", 1)[0].lower() in _USER_ONLY_SECRET_SCHEMES


def remote_identity(url: str) -> str:
    """What names a remote whatever token it carries: the URL without userinfo, a local path
    resolved, no trailing slash."""
    import os

    if "://" in url:
        scheme, rest = url.split("://", 1)
        netloc, _, path = rest.partition("/")
        return f"{scheme}://{netloc.rsplit('@', 1)[-1]}/{path}".rstrip("/")
    if os.path.isabs(url):
        return os.path.realpath(url)
    return url.rstrip("/")
