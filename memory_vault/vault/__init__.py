"""The vault: the clone of the backup repository, and everything done to it.

Its modules follow the work: `gitrun` (the one way to start git), `model` (GitPython,
reading only), `trees` (commits built from trees), `clone`, `commit`, `push`, `compact`,
`query`, assembled in `facade`; `tracking` answers `status` with git alone. The package
itself imports nothing: `status` reaches git without GitPython (120 ms to import), and
`Vault`, `reading` and `CommitInfo` load the façade when first asked for.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.vault.facade import CommitInfo, Vault, reading

__all__ = ["CommitInfo", "Vault", "reading"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from memory_vault.vault import facade

        return getattr(facade, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
