"""Pushing: a rejection told from a refusal, and a replayed commit's identity."""

from __future__ import annotations

from memory_vault.store import remote as push


def test_push_rejection_and_identity() -> None:
    assert push.was_rejected(b" ! [rejected] main -> main (fetch first)")
    assert not push.was_rejected(b"[remote rejected] (pre-receive hook declined)")
    ident = push.identity_of("A\x00a@x\x00100 +0000\x00C\x00c@x\x00200 +0100")
    assert ident["GIT_COMMITTER_DATE"] == "200 +0100"

