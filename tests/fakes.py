"""Fake credentials of every family the scan knows, built at run time.

None of them is a real key, and none is written out whole in the repository: a literal of a
key's shape would make GitHub's push protection refuse the project's own pushes. Each body
is drawn from a generator seeded with the rule's name, so every run builds the same fakes.
"""

from __future__ import annotations

import base64
import json
import random

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def fill(n: int, seed: str, alphabet: str = _ALPHABET) -> str:
    """`n` characters that start with FAKE and look random (the same for the same seed)."""
    draw = random.Random(seed)
    return ("FAKE" + "".join(draw.choice(alphabet) for _ in range(n)))[:n]


def _draw(n: int, seed: str, alphabet: str) -> str:
    draw = random.Random(seed)
    return "".join(draw.choice(alphabet) for _ in range(n))


def _b64(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def pem(seed: str = "pem", kind: str = "RSA PRIVATE KEY") -> str:
    """A PEM block: three 64-character lines of body."""
    body = "\n".join(fill(64, f"{seed}{i}", _ALPHABET + "+/") for i in range(3))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


def fakes() -> dict[str, tuple[str, str]]:
    """rule -> (the text holding the secret, the secret itself)."""
    hex64 = _draw(64, "hex", "0123456789abcdef")
    digits = _draw(30, "digits", "0123456789")
    aws_secret = _draw(38, "aws-secret", _ALPHABET + "+/") + "7/"
    password = "Fk" + fill(10, "password") + "42"
    found = {
        "anthropic-api-key": "sk-ant-api03-" + fill(93, "ant") + "AA",
        "anthropic-admin-api-key": "sk-ant-admin01-" + fill(93, "admin") + "AA",
        "anthropic-oauth-token": "sk-ant-oat01-" + fill(93, "oat") + "AA",
        "openai-project-key": "sk-proj-" + fill(74, "proj") + "T3BlbkFJ" + fill(74, "proj2"),
        "openai-service-account-key": "sk-svcacct-" + fill(58, "svc") + "T3BlbkFJ"
                                      + fill(58, "svc2"),
        "openai-admin-key": "sk-admin-" + fill(58, "oadm") + "T3BlbkFJ" + fill(58, "oadm2"),
        "openai-api-key": "sk-" + fill(20, "legacy") + "T3BlbkFJ" + fill(20, "legacy2"),
        "openrouter-api-key": "sk-or-v1-" + hex64,
        "github-pat": "ghp_" + fill(36, "ghp"),
        "github-oauth-token": "gho_" + fill(36, "gho"),
        "github-app-token": "ghs_" + fill(36, "ghs"),
        "github-refresh-token": "ghr_" + fill(36, "ghr"),
        "github-fine-grained-pat": "github_pat_" + fill(22, "fg") + "_" + fill(59, "fg2"),
        "gitlab-pat": "glpat-" + fill(20, "glpat"),
        "gitlab-token": "glrt-" + fill(20, "glrt"),
        "gitlab-runner-registration-token": "GR1348941" + fill(20, "gr"),
        "aws-access-key-id": "AKIA" + _draw(16, "akia", _UPPER),
        "gcp-api-key": "AIza" + fill(35, "aiza"),
        "private-key": pem(),
        "slack-token": "xoxb-" + digits[:12] + "-" + digits[12:25] + "-" + fill(24, "xoxb"),
        "slack-app-token": "xapp-1-A" + _draw(10, "xapp", _UPPER) + "-" + digits[:13] + "-"
                           + hex64,
        "slack-webhook-url": "https://hooks.slack.com/services/T" + _draw(8, "t", _UPPER)
                             + "/B" + _draw(8, "b", _UPPER) + "/" + fill(24, "hook"),
        "stripe-secret-key": "sk_" + "live_" + fill(24, "stripe"),
        "stripe-restricted-key": "rk_" + "test_" + fill(24, "rk"),
        "webhook-signing-secret": "whsec_" + fill(32, "whsec"),
        "supabase-access-token": "sbp_" + hex64[:40],
        "supabase-secret-key": "sb_secret_" + fill(22, "sbs") + "_" + fill(8, "sbs2"),
        "supabase-service-role-key": _b64({"alg": "HS256", "typ": "JWT"}) + "."
        + _b64({"iss": "supabase", "ref": fill(20, "ref"), "role": "service_role"}) + "."
        + fill(43, "sig"),
        "telegram-bot-token": "1" + digits[:8] + ":A" + fill(34, "tg"),
        "huggingface-token": "hf_" + fill(34, "hf"),
        "huggingface-org-token": "api_org_" + fill(34, "org"),
    }
    pairs = {rule: (secret, secret) for rule, secret in found.items()}
    pairs["aws-secret-access-key"] = ("aws_secret_access_key = " + aws_secret, aws_secret)
    pairs["url-with-password"] = (f"postgres://vault_user:{password}@db.internal:5432/mem",
                                  password)
    key = pem("gcp", "PRIVATE KEY")
    pairs["gcp-service-account-key"] = ('"private_key": ' + json.dumps(key), key)
    return pairs
