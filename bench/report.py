"""The benchmark's written report: bench/RESULTS.md and the README's cost table, from one
run's results (never typed by hand; `python bench/run.py --all` regenerates both). The rows
are bench/targets.py's, the same the run prints."""

from __future__ import annotations

from harness import ROOT, Results
from targets import rows

README_BEGIN = "<!-- costs: written by `python bench/run.py --all` -->"
README_END = "<!-- end of costs -->"
WHY = """\
## Why the misses miss

- **A sync of a 10 MB SQLite database.** Our side (backup API copy, integrity check, row
  count, hashing, and GitPython's import) takes about 0.2 s; git storing the image as a
  loose object 0.08 s (uncompressed since the clone's `core.looseCompression=0`: it was
  0.155 s); the rest is the push. git computes the delta of the new image against the
  previous one, which it first rebuilds through its delta chain (up to 50 links), twice in
  the clone's `pack-objects` (a delta over 64 KB is beyond `pack.deltaCacheLimit`'s
  maximum, so the write phase computes it again) and once in the vault's `index-pack`;
  a profile of `index-pack` is half `memmove` and page faults of that rebuild. The newest
  version, the one every push needs, sits at the end of the chain, because a pushed delta
  points back to the version before it and compaction reuses deltas rather than searching
  again. Bounding the chain (`pack.depth=20`) was tried: the SQLite median improved a
  little, but JSON Lines storage went to 2.55x a packed copy, so it was not kept.
- **Peak memory of a SQLite sync.** The peak is git `pack-objects` on the push: 74-77 MB
  for one 10 MB version (the new version, the rebuilt base and the delta index), whatever
  `pack.window`, `core.deltaBaseCacheLimit`, `pack.deltaCacheSize` or `pack.threads` say.
- Anything else marked NO above is explained in the commit that recorded it.
"""


def results_md(results: Results, command: str, seconds: float) -> str:
    m = results.machine
    found = rows(results.cases)
    lines = [
        "# Benchmark results", "",
        f"Written by `{command}` itself on {m.get('date', '?')} (the whole run took "
        f"{seconds / 60:.1f} minutes), on:", "",
        f"- CPU: {m.get('cpu')}, {m.get('cores')} cores; Linux {m.get('kernel')}",
        f"- Python {m.get('python')}, {m.get('git')}, {m.get('restic')}", "",
        "Every figure is a median of several runs of its case, each command run as cron or a "
        "person runs it (a new process), and every ratio is against a baseline measured in "
        "the same run: `python3 -c pass` (interpreter start-up, same interpreter) and "
        "`bench/peer_sync.sh` (the cp/add/commit/push script a user would write). Peak memory "
        "is the largest resident set of any process of a run (Python or a git it starts), "
        "read by `wait4(2)` from a small launcher. The raw figures are in "
        "`bench/out/results.json`.", "",
        "## Against the targets", "",
        "| target | measured | limit | holds |", "|---|---|---|---|",
        *(f"| {what} | {measured} | {limit} | {'yes' if ok == 'yes' else '**no**'} |"
          for what, measured, limit, ok in found),
        "",
    ]
    if (year := results.cases.get("a_year_of_history")) is not None:
        lines += ["## A year of history, in detail", "",
                  "| operation | 100 syncs | 35,040 syncs |", "|---|---|---|"]
        small, big = year["small"], year["year"]
        for key in ("build_s", "first_sync_s", "no_change_s", "change_s", "status_s",
                    "history_20_s", "history_file_s", "restore_at_middle_s", "verify_s",
                    "git_fsck_s", "new_machine_restore_s", "clone_mb", "remote_mb",
                    "fully_packed_mb"):
            unit = "MB" if key.endswith("_mb") else "s"
            lines.append(f"| {key.rsplit('_', 1)[0].replace('_', ' ')} | "
                         f"{small[key]:.3f} {unit} | {big[key]:.3f} {unit} |")
        lines.append("")
    return "\n".join([*lines, WHY])


def readme_table(results: Results) -> str:
    found = rows(results.cases)
    body = [README_BEGIN, "| target | measured | limit | holds |", "|---|---|---|---|"]
    body += [f"| {what} | {measured} | {limit} | {ok} |" for what, measured, limit, ok in found]
    return "\n".join([*body, README_END])


def write(results: Results, command: str, seconds: float) -> None:
    (ROOT / "bench" / "RESULTS.md").write_text(results_md(results, command, seconds))
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_BEGIN in text and README_END in text:
        begin = text.index(README_BEGIN)
        end = text.index(README_END) + len(README_END)
        readme.write_text(text[:begin] + readme_table(results) + text[end:])

