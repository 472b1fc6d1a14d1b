"""The hosts' own words when they refuse a push for a secret (verbatim shapes: GitHub's GH013
and GH009, with the dashes some terminals mangle; GitLab's two line forms; a plain hook)."""

from memory_vault.store.refusal import SecretRefused, parse

GITHUB = """remote: error: GH013: Repository rule violations found for refs/heads/master.
remote:\x20
remote: - GITHUB PUSH PROTECTION
remote:   \u2014\u2014\u2014\u2014\u2014\u2014\u2014\u2014\u2014
remote:     Resolve the following violations before pushing again
remote:\x20
remote:     - Push cannot contain secrets
remote:\x20
remote:       \u2014\u2014 GitHub Personal Access Token \u2014\u2014\u2014\u2014\u2014\u2014
remote:        locations:
remote:          - commit: 31d495b283be4377cf3386913b7508723987afa2
remote:            path: README.md:2
remote:          - commit: 3af7f9fb2e49ba4888990b79fa085cd0e1d89383
remote:            path: notes/a b.md:14
remote:\x20
remote:        (?) To push, remove secret from commit(s) or follow this URL to allow the secret.
remote:        https://github.com/o/r/security/secret-scanning/unblock-secret/2wEO3pOdce1x
remote:\x20
To https://github.com/o/r
 ! [remote rejected] master -> master (push declined due to repository rule violations)
error: failed to push some refs to 'https://github.com/o/r'
"""


def test_github_names_each_location_and_rule() -> None:
    found = parse(GITHUB.encode())
    assert found is not None
    assert [(loc.rule, loc.commit[:7], loc.path, loc.line) for loc in found.locations] == [
        ("GitHub Personal Access Token", "31d495b", "README.md", 2),
        ("GitHub Personal Access Token", "3af7f9f", "notes/a b.md", 14)]
    assert "GH013" in found.said and "unblock" not in found.said
    message = str(SecretRefused(found))
    assert "README.md line 2" in message and "GitHub Personal Access Token" in message


def test_mangled_dashes_and_colour_codes_still_name_the_rule() -> None:
    mangled = GITHUB.replace("\u2014", "\xe2\x80\x94").replace(
        "remote:       ", "remote: \x1b[K      ")
    found = parse(mangled.encode("utf-8", "surrogateescape"))
    assert found is not None
    assert found.locations[0].rule == "GitHub Personal Access Token"


def test_the_older_gh009_is_read_too() -> None:
    said = GITHUB.replace("GH013: Repository rule violations found for refs/heads/master.",
                          "GH009: Secrets detected! This push failed.")
    found = parse(said.encode())
    assert found is not None and len(found.locations) == 2


def test_gitlab_both_line_forms() -> None:
    for line in ("remote: -- test.txt:2 GitLab Personal Access Token",
                 "remote: -- test.txt:2 | GitLab Personal Access Token"):
        said = ("remote: PUSH BLOCKED: Secrets detected in code changes\n"
                "remote: Secret push protection found the following secrets in commit: "
                "37e54de5e78c31d9e3c3821fd15f7069e3d375b6\nremote:\n" + line + "\n"
                " ! [remote rejected] main -> main (pre-receive hook declined)\n")
        found = parse(said.encode())
        assert found is not None
        assert [(loc.rule, loc.path, loc.line) for loc in found.locations] == [
            ("GitLab Personal Access Token", "test.txt", 2)]


def test_a_plain_hook_that_names_a_secret_is_a_refusal_without_locations() -> None:
    said = (b"remote: error: push refused: a secret was detected in your changes\n"
            b" ! [remote rejected] main -> main (pre-receive hook declined)\n")
    found = parse(said)
    assert found is not None and found.locations == []
    assert "a secret was detected" in found.said


def test_other_refusals_are_not_about_secrets() -> None:
    for said in (b" ! [rejected] main -> main (fetch first)\n",
                 b"remote: error: File big.bin is 120 MB; this exceeds the file size limit\n"
                 b" ! [remote rejected] main -> main (pre-receive hook declined)\n",
                 b"fatal: Authentication failed for 'https://example.org/r.git'\n"):
        assert parse(said) is None
