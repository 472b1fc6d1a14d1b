"""Secret rules: the credential formats the scan knows, one rule per family, and the
post-filters that keep examples and placeholders out.

Patterns follow gitleaks' `config/gitleaks.toml` (MIT, Copyright (c) 2019 Zachary Rice),
trufflehog's detectors and GitHub's secret-scanning list, rewritten for Python's `re` on
bytes. Each one is linear in its input: it starts with a literal (which `re` searches
fast), checks its left edge right after that literal (so a token inside a longer run of
token characters is not a start, and a long run costs one attempt, not one per byte), bounds
every repeat, and has no nested quantifier that can backtrack. A private key's body is
matched possessively up to the first `-----` (gitleaks' own `[\\s\\S-]{64,}?` took 14 s on
5,000 `BEGIN` lines without `END`). Rules that share a literal start are one pattern whose
groups name them, so a scan is twenty passes over the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from memory_vault.content import formats

Hit = tuple[str, int, int]  # rule, start, end of the secret in the bytes scanned
_T = "A-Za-z0-9_-"  # token characters: an edge is where they stop


def _tok(prefix: str, width: int, *rules: str, right: str = _T) -> str:
    """`prefix` (`width` bytes, a literal first) not preceded by a token character (a JSON
    escape `\\n`, `\\r`, `\\t` before it is an edge too), one of `rules`, then a right edge."""
    return (rf"{prefix}(?:(?<![{_T}].{{{width}}})|(?<=\\[nrt].{{{width}}}))"
            rf"(?:{'|'.join(rules)})(?![{right}])")


def _g(rule: str, pattern: str) -> str:
    """`pattern` as the group named after `rule`: a match names its rule (`lastgroup`)."""
    return f"(?P<{rule.replace('-', '_')}>{pattern})"


_W = f"[{_T}]"
_B64 = "A-Za-z0-9/+"
_AWS = rf"""['"]?\s{{0,3}}[:=]\s{{0,3}}['"]?(?P<secret>[{_B64}]{{40}})(?![{_B64}=])"""
_PEM = (r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"(?P<body>[^-]*+(?:-(?!----)[^-]*+)*+)"
        r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_TABLE = (  # in order: on the same start, the rule listed first wins
    _tok("sk-", 3, _g("anthropic-api-key", rf"ant-api\d\d-{_W}{{80,300}}"),
         _g("anthropic-admin-api-key", rf"ant-admin\d\d-{_W}{{80,300}}"),
         _g("anthropic-oauth-token", rf"ant-o[ar]t\d\d-{_W}{{80,300}}"),
         _g("openrouter-api-key", "or-v1-[0-9a-f]{64}"),
         _g("openai-project-key", rf"proj-{_W}{{40,400}}"),
         _g("openai-service-account-key", rf"svcacct-{_W}{{40,400}}"),
         _g("openai-admin-key", rf"admin-{_W}{{40,400}}"),
         _g("openai-api-key", rf"{_W}{{20,300}}T3BlbkFJ{_W}{{20,300}}")),
    _tok("gh", 2, _g("github-pat", "p_[A-Za-z0-9]{36,251}"),
         _g("github-oauth-token", "o_[A-Za-z0-9]{36,251}"),
         _g("github-app-token", "[us]_[A-Za-z0-9]{36,251}"),
         _g("github-refresh-token", "r_[A-Za-z0-9]{36,251}")),
    _tok("github_pat_", 11, _g("github-fine-grained-pat", "[A-Za-z0-9_]{82,251}")),
    _tok("gl", 2, _g("gitlab-pat", rf"pat-{_W}{{20,300}}(?:\.[0-9a-z]{{9}})?"),
         _g("gitlab-token", rf"(?:dt|ft|soat|rt|ffct|imt|agent|oas|cbt|ptt)-{_W}{{20,300}}")),
    _tok("GR1348941", 9, _g("gitlab-runner-registration-token", rf"{_W}{{20,300}}")),
    _g("aws-access-key-id", rf"IA(?<=A[KSB]IA)(?:(?<![{_T}]....)|(?<=\\[nrt]....))"
                            rf"[A-Z2-7]{{16}}(?![{_T}])"),  # AKIA, ASIA, ABIA: found by IA
    _tok("ACCA", 4, _g("aws-access-key-id", "[A-Z2-7]{16}")),
    _tok("A3T", 3, _g("aws-access-key-id", "[A-Z0-9][A-Z2-7]{16}")),
    _g("aws-secret-access-key", r"ecret(?<=[Ss]ecret)_?(?:[Aa]ccess)?_?[Kk]ey" + _AWS),
    _g("aws-secret-access-key", r"SECRET_?(?:ACCESS)?_?KEY" + _AWS),
    _tok("AIza", 4, _g("gcp-api-key", rf"{_W}{{35}}")),
    _g("private-key", _PEM),
    _tok("xox", 3, _g("slack-token", r"(?:[abposr]-[0-9]{1,20}-[A-Za-z0-9-]{10,300}"
                                     r"|e\.xox[bp]-[0-9]-[A-Za-z0-9]{160,400}"
                                     r"|e-[0-9]-[A-Za-z0-9]{140,400})")),
    _tok("xapp-", 5, _g("slack-app-token", "[0-9]-[A-Z0-9]{1,32}-[0-9]{1,20}-[a-z0-9]{32,128}")),
    _g("slack-webhook-url", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/"
                            r"[A-Za-z0-9_/+]{30,200}(?![A-Za-z0-9_/+])"),
    _tok("sk_", 3, _g("stripe-secret-key", "(?:live|test|prod)_[A-Za-z0-9]{20,247}")),
    _tok("rk_", 3, _g("stripe-restricted-key", "(?:live|test|prod)_[A-Za-z0-9]{20,247}")),
    _tok("whsec_", 6, _g("webhook-signing-secret", f"[{_B64}=]{{32,88}}"), right=f"{_B64}="),
    _tok("sb", 2, _g("supabase-access-token", "p_[0-9a-f]{40}"),
         _g("supabase-secret-key", rf"_secret_{_W}{{20,128}}")),
    _tok("eyJ", 3, _g("supabase-service-role-key",
                      rf"{_W}{{10,512}}\.eyJ{_W}{{10,4096}}\.{_W}{{16,1024}}")),
    _g("telegram-bot-token", rf":A(?<=[0-9]:A){_W}{{34}}(?![{_T}])"),
    _tok("hf_", 3, _g("huggingface-token", "[A-Za-z0-9]{34}")),
    _tok("api_org_", 8, _g("huggingface-org-token", "[A-Za-z0-9]{34}")),
    _g("url-with-password",
       r"""://[^\s:/?#@'"<>]{0,256}:(?P<secret>[^\s/?#@'"<>]{3,256})@[A-Za-z0-9.\[-]"""),
)
# every rule a finding can name (a private key in a `"private_key"` field is a service account's)
RULES = (*dict.fromkeys(name.replace("_", "-") for pattern in _TABLE
                        for name in re.findall(r"\(\?P<(\w+)>", pattern)
                        if name not in ("body", "secret")), "gcp-service-account-key")

_compiled: list[re.Pattern[bytes]] = []
_Check = Callable[[str, bytes | bytearray, "re.Match[bytes]"], "Hit | None"]


def _rules() -> list[re.Pattern[bytes]]:
    """The table compiled, once, on the first scan."""
    if not _compiled:
        _compiled.extend(re.compile(pattern.encode()) for pattern in _TABLE)
    return _compiled


def find(data: bytes | bytearray) -> list[Hit]:
    """Every secret in `data`, in order, none overlapping (the earlier start wins, then the
    rule listed first), examples and placeholders left out."""
    hits: list[tuple[int, int, int, str]] = []
    for order, regex in enumerate(_rules()):
        for match in regex.finditer(data):
            rule = str(match.lastgroup).replace("_", "-")
            hit = _CHECKS.get(rule, _plain)(rule, data, match)
            if hit is not None and _kept(data, hit):
                hits.append((hit[1], order, hit[2], hit[0]))
    ids = [(start, end) for start, _order, end, rule in hits if rule == "aws-access-key-id"]
    hits.extend((start, len(_TABLE), end, "aws-secret-access-key")
                for start, end in _aws_neighbours(data, ids)
                if _kept(data, ("aws-secret-access-key", start, end)))
    found: list[Hit] = []
    for start, _order, end, rule in sorted(hits):
        if not found or start >= found[-1][2]:
            found.append((rule, start, end))
    return found


def _plain(rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    start, end = match.span("secret" if "secret" in match.re.groupindex else 0)
    return rule, start, end


_PLACEHOLDER = re.compile(rb"""\$\{?\w+\}?|<[^>]*>|\{\{.*\}\}|%\(?\w*\)?s|\*+|[xX.]{3,}.*""")
_WORDS = (b"example", b"placeholder", b"changeme", b"your", b"redacted:", b"\xc2\xab")
_WEAK = {b"password", b"passwd", b"pass", b"pwd", b"secret", b"token", b"apikey", b"api_key",
         b"xxx", b"dummy", b"test", b"foo", b"bar"}
_ALNUM = re.compile(rb"[A-Za-z0-9]+")


def _kept(data: bytes | bytearray, hit: Hit) -> bool:
    """Not a placeholder (`${VAR}`, `<token>`, `changeme`, `your_key`, ours), not a documented
    example (`...EXAMPLE`), not a body of too few distinct characters (`ghp_xxxx...`)."""
    rule, start, end = hit
    value = bytes(data[start:end])
    lower = value.lower()
    if (_PLACEHOLDER.fullmatch(value) or lower in _WEAK
            or any(word in lower for word in _WORDS)):
        return False
    if rule == "url-with-password":
        return True
    longest = max(_ALNUM.findall(value), key=len, default=b"")
    return len(set(longest)) >= 6


def _url(_rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    """A password in a URL whose scheme is a word (`postgres://`, not `://` alone)."""
    if not _SCHEME.search(bytes(data[max(0, match.start() - 32):match.start()])):
        return None
    return "url-with-password", *match.span("secret")


_SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]{1,30}\Z")
_DIGITS = re.compile(rb"(?:\A|[^0-9])([0-9]{8,10})\Z")
_GCP_KEY = re.compile(rb'"private_key"\s{0,3}:\s{0,3}"$')


def _private_key(_rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    """A whole PEM block whose body has 64 bytes or more; a service account's when it is
    the value of `"private_key"` (Google's JSON key file)."""
    if match.end("body") - match.start("body") < 64:
        return None
    start = match.start()
    before = bytes(data[max(0, start - 24):start])
    rule = "gcp-service-account-key" if _GCP_KEY.search(before) else "private-key"
    return rule, start, match.end()


def _telegram(_rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    """`<8-10 digits>:A<34>`, the digits not part of a longer number."""
    digits = _DIGITS.search(bytes(data[max(0, match.start() - 11):match.start()]))
    return ("telegram-bot-token", match.start() - len(digits[1]), match.end()) if digits else None


def _jwt(_rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    """A JWT is a secret here only as Supabase's `service_role` key (an `anon` key is
    public, and most JWTs in memory are short-lived sessions)."""
    import base64
    import json

    payload = bytes(match.group()).split(b".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if isinstance(claims, dict) and claims.get("role") == "service_role":
        return "supabase-service-role-key", match.start(), match.end()
    return None


def _aws_secret(_rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    """`aws_secret_access_key = ...`, `"SecretAccessKey": "..."`: the name says AWS, or
    `aws` stands just before it."""
    name = bytes(data[match.start():match.start("secret")]).lower()
    context = bytes(data[max(0, match.start() - 24):match.start()]).lower()
    if b"access" in name or b"aws" in context:
        return "aws-secret-access-key", *match.span("secret")
    return None


_NEIGHBOUR = re.compile(rb"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _aws_neighbours(data: bytes | bytearray, ids: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The secret access key beside an access key id: 40 base64 characters within 300 bytes,
    mixing upper case, lower case and digits, with 16 distinct characters or more."""
    windows: list[list[int]] = []
    for start, end in sorted(ids):
        if windows and start - 300 <= windows[-1][1]:
            windows[-1][1] = end + 300
        else:
            windows.append([max(0, start - 300), end + 300])
    found = []
    for low, high in windows:
        for match in _NEIGHBOUR.finditer(data, low, min(high + 41, len(data))):
            cut = match.end() < len(data) and data[match.end()] in _BASE64  # longer than 40
            if not cut and len(set(match.group())) >= 16 and _MIXED.match(match.group()):
                found.append(match.span())
    return found


_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=")
_MIXED = re.compile(rb"(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])(?=[^0-9]*[0-9])")


def _aws_id(rule: str, data: bytes | bytearray, match: re.Match[bytes]) -> Hit | None:
    """An access key id found by its `IA` starts two bytes before."""
    return rule, match.start() - 2 * (match.group()[:2] == b"IA"), match.end()


_CHECKS: dict[str, _Check] = {
    "url-with-password": _url, "private-key": _private_key, "telegram-bot-token": _telegram,
    "supabase-service-role-key": _jwt, "aws-secret-access-key": _aws_secret,
    "aws-access-key-id": _aws_id,
}


_STRING = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')


def in_json_strings(view: bytes | bytearray, hits: list[Hit], *, lines: bool = False
                    ) -> list[Hit]:
    """The hits inside one JSON string literal (the literals walked once, with the hits); in
    JSON Lines (`lines`) also those on a line that is not JSON, kept as it is by a backup."""
    kept: list[Hit] = []
    literals = _STRING.finditer(view)
    literal, torn = next(literals, None), dict[int, bool]()
    for hit in hits:
        while literal is not None and literal.end() <= hit[1]:
            literal = next(literals, None)
        if literal is not None and literal.start() < hit[1] and hit[2] < literal.end():
            kept.append(hit)
        elif lines:
            start = view.rfind(b"\n", 0, hit[1]) + 1
            if start not in torn:
                end = view.find(b"\n", start) % (len(view) + 1)
                torn[start] = formats.json_lines(view[start:end]).problem is not None
            if torn[start]:
                kept.append(hit)
    return kept


def unescaped(raw: bytes | bytearray) -> bytes:
    """A secret found in a JSON string with its escapes decoded (a key is the same key in a
    JSON file and in a note); as it is when it has none, or they do not decode."""
    if b"\\" in raw:
        import json

        try:
            return str(json.loads(b'"' + raw + b'"')).encode("utf-8", "surrogatepass")
        except ValueError:
            pass
    return bytes(raw)


def placeholder(rule: str, print_: str) -> bytes:
    """What a secret becomes in the vault's copy: `«redacted:<rule>:<fingerprint>»`."""
    return f"«redacted:{rule}:{print_}»".encode()


_MARK = re.compile(rb"(?:\xc2\xab|\\u00[aA][bB])redacted:([a-z0-9]+(?:-[a-z0-9]+)*):"
                   rb"([0-9a-f]{12})(?:\xc2\xbb|\\u00[bB][bB])")


def placeholders(data: bytes | bytearray) -> list[tuple[str, str]]:
    return list(dict.fromkeys((m.group(1).decode(), m.group(2).decode())
                              for m in _MARK.finditer(data)))
