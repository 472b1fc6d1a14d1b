"""Journal migrations: each older format of `.last_sync`, brought to the next one.

A numbered step per change of format, as llm's migrations are: a journal written by any
earlier release is carried forward line by line, so that an upgrade in place keeps what the
cache knew, the open shrink alarms above all. Each step takes the lines after the header of
format N and returns the lines of format N+1.
"""

from collections.abc import Callable

from memory_vault.capture.version import RECHECK

Vault = tuple[str, str, str]
Step = Callable[[list[str], "Vault | None"], list[str]]


def _from_2(lines: list[str], vault: Vault | None) -> list[str]:
    """Format 2 (the first release) named no vault and kept no save time, format or record
    count: it is taken as the configured vault's, and each file is read once more (its
    mtime is marked for a recheck) and compared with the vault."""
    from memory_vault.journal.cache import escape

    out = ["vault\t" + "\t".join(escape(part) for part in vault or ("", "", ""))]
    for line in lines:
        kind, _, rest = line.partition("\t")
        if kind == "file":
            size, _mtime, digest, name = rest.split("\t")
            out.append(f"file\t{size}\t{RECHECK}\t{digest}\t0\t\t-1\t{name}")
        elif line:
            out.append(line)
    return out


def _from_3(lines: list[str], _vault: Vault | None) -> list[str]:
    """Format 4 keeps the size of the stored bytes beside the scan's (they differ for a
    database with a `-wal`), and says which release wrote it. Format 3 files of the first
    releases had no format or record count on their file lines."""
    out = ["written\t0\t?"]
    for line in lines:
        kind, _, rest = line.partition("\t")
        if kind == "file":
            fields = rest.split("\t")
            if len(fields) == 5:  # size, mtime, sha256, saved, name
                fields = [*fields[:4], "", "-1", fields[4]]
            size, mtime, digest, saved, fmt, records, name = fields
            out.append(f"file\t{size}\t{mtime}\t{size}\t{digest}\t{saved}\t{fmt}\t{records}\t"
                       f"{name}")
        elif line:
            out.append(line)
    return out


def _from_4(lines: list[str], _vault: Vault | None) -> list[str]:
    """Format 5 keeps each file's change time, which catches a same-size rewrite dated
    back; format 4 had none (0: not compared until the file is next read), and its first
    releases no hash of the bytes read either."""
    out = []
    for line in lines:
        if line.startswith("file\t"):
            *fields, name = line.split("\t")
            read = [] if len(fields) > 8 else ["-"]
            line = "\t".join([*fields, *read, "0", name])
        out.append(line)
    return out


STEPS: dict[int, Step] = {2: _from_2, 3: _from_3, 4: _from_4}


def migrate(found: int, lines: list[str], vault: Vault | None) -> list[str]:
    """The lines of format `found` as lines of the current format (ValueError: unknown)."""
    while found in STEPS:
        lines = STEPS[found](lines, vault)
        found += 1
    from memory_vault.journal.cache import FORMAT

    if found != FORMAT:
        raise ValueError(f"no migration from format {found}")
    return lines
