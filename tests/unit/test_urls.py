"""Credentials in URLs: split out for git, masked everywhere else."""

from __future__ import annotations

from memory_vault.urls import Redactor, mask_url_credentials, remote_identity, split_credentials


def test_url_credentials() -> None:
    url = "https://vault:tok%40en@host/x.git"
    assert split_credentials(url) == ("https://host/x.git", "vault", "tok@en")
    assert split_credentials("git@host:x.git") == ("git@host:x.git", "", "")
    assert split_credentials("ssh://git@host/x") == ("ssh://git@host/x", "", "")
    assert remote_identity(url) == "https://host/x.git"
    assert mask_url_credentials(f"see {url} now") == "see https://vault:***@host/x.git now"
    assert Redactor.for_remote(url).clean("said tok@en and tok%40en") == "said *** and ***"

