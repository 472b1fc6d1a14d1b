"""The benchmark's targets, in one table: for each, its name as printed, the figure it reads
from the results, its limit, and whether that holds.

run.py's table, bench/RESULTS.md and the README's cost table are all made from TARGETS, and
the limits results.json records are taken from it too, so no limit is written twice. A case
module measures; it never says what it is held to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

Case = dict[str, Any]


@dataclass(frozen=True)
class Limit:
    """What a figure is held to: as printed, the test, and the bound results.json records."""

    text: str
    holds: Callable[[Any], bool]
    bound: float | None = None


def at_most(bound: float, unit: str = "", text: str | None = None) -> Limit:
    return Limit(text or f"<= {bound:g}{unit}", lambda v: v <= bound, bound)


def below(bound: float, unit: str) -> Limit:
    return Limit(f"< {bound:g}{unit}", lambda v: v < bound, bound)


def reported(text: str = "(reported)") -> Limit:
    """A figure shown beside the targets, held to nothing."""
    return Limit(text, lambda _v: True)


def memory(file_mb: float | None = None) -> Callable[[Case], Limit]:
    """Peak memory: twice the largest file plus 60 MB (the case's own `file_mb` if no
    size is given)."""
    def limit(case: Case) -> Limit:
        bound = 2 * (file_mb if file_mb is not None else float(case["file_mb"])) + 60
        return Limit(f"<= {bound:.0f} MB", lambda v: v <= bound, bound)
    return limit


def always(_case: Case) -> bool:
    return True


@dataclass(frozen=True)
class Target:
    """One row of the table for each case it reads."""

    what: str  # as printed: the case's fields ("{syncs}") and its "{name}" filled in
    case: str  # the case's name in the results, or a pattern of names ("*_syncs_of_sqlite")
    value: Callable[[Case], Any]  # the figure held to the limit
    shown: Callable[[Case], str]  # the measured figure, as printed
    limit: Limit | Callable[[Case], Limit]
    field: str | None = None  # the key results.json records the bound under
    when: Callable[[Case], bool] = always  # the row is left out for a case without it

    def limit_of(self, case: Case) -> Limit:
        return self.limit if isinstance(self.limit, Limit) else self.limit(case)


def _of(key: str) -> Callable[[Case], float]:
    return lambda c: float(c[key])


def _has(key: str) -> Callable[[Case], bool]:
    return lambda c: c.get(key) is not None


# Limits more than one row is held to.
START_UP = at_most(1.5, "x")  # a no-change run against `python3 -c pass`
INSTALLED = at_most(1.2, "x")  # the same, as cron runs the installed program, or a person
PACKED = at_most(2.0, "x")  # the vault against the same history fully packed by git
NO_CHANGE = "no_change_8_seed_files"
PEAK = "peak memory, {name}"
YEAR = "a_year_of_history"
WATCH = "watch_a_local_remote"
STORE = "store_chroma_*_documents"
MACHINE = "machine_*_files"
MB = 1024 * 1024


def _peak(c: Case) -> str:
    return f"{c['peak_mb']:.0f} MB (Python alone {c['python_peak_mb']:.0f} MB)"


def _cron_line(c: Case) -> str:
    counted = c.get("cron_line_instructions_ratio")
    return (f"{c['cron_line_ms']:.1f} ms = {c['cron_line_ratio']:.2f}x"
            + (f", {float(counted):.2f}x by instructions (callgrind)" if counted else ""))


def _console(c: Case) -> str:
    counted = c.get("console_script_instructions_ratio")
    return (f"{c['console_script_ms']:.1f} ms = {c['console_script_ratio']:.2f}x"
            + (f", {float(counted):.2f}x by instructions (callgrind)" if counted else ""))


def _formats(case: str, kind: str, sync_time: Limit) -> list[Target]:
    """The rows of the SQLite and the JSON Lines cases, alike but for the time of a sync."""
    return [
        Target(f"{kind}, {{syncs}} syncs: vault vs fully packed", case, _of("ratio_vs_packed"),
               lambda c: f"{c['ratio_vs_packed']:.2f}x ({c['ours_final_mb']:.1f} MB vs "
                         f"{c['fully_packed_final_mb']:.1f} MB)", PACKED),
        Target(f"{kind}: time a sync (median, as cron runs it)", case, _of("sync_median_s"),
               lambda c: f"{c['sync_median_s']:.2f} s", sync_time),
        Target(f"{kind}: restic after {{restic_syncs}} syncs", case, _of("restic_mb"),
               lambda c: f"{c['restic_mb']:.1f} MB vs ours {c['ours_mb_at_restic_syncs']:.1f} MB",
               reported(), when=_has("restic_mb")),
    ]


def _writer(c: Case) -> str:
    whole = ("every one a version it wrote" if c["writer_versions_all_written"]
             else "NOT every one a version it wrote")
    return (f"{c['writer_commits']} commits of {c['writer_writes']} writes, one every "
            f"{c['writer_gap_min_s']:.1f}-{c['writer_gap_max_s']:.1f} s, {whole}")


def _year(key: str, what: str, limit: Limit) -> Target:
    """An operation timed on a year of history, shown beside the same on 100 syncs."""
    return Target(f"a year: {what}", YEAR, lambda c: float(c["year"][key]),
                  lambda c: f"{c['year'][key]:.2f} s (100 syncs: {c['small'][key]:.2f} s)",
                  limit)


def _verify(c: Case) -> str:
    y, small = c["year"], c["small"]
    return (f"{y['verify_s']:.2f} s, reading 1 of {int(y.get('verify_parts', 1))} parts of the "
            f"content (a full git fsck: {float(y.get('git_fsck_s', 0)):.2f} s; 100 syncs: "
            f"{small['verify_s']:.2f} s)")


def _fleet(c: Case) -> str:
    return (f"{c['commits_on_remote']} of {c['expected_commits']} versions on the remote, "
            f"{c['failed_runs']} failed runs, {c['partial_runs']} waited, "
            f"{c['catch_up_runs']} catch-up round(s), {c['round_median_s']:.1f} s a round")


def _encrypted(c: Case) -> str:
    return (f"{c['ratio']:.2f}x ({c['encrypted_mb']:.1f} MB vs {c['plain_mb']:.1f} MB, "
            f"{c['encrypted_links']} links)")


ENCRYPTED = "encrypted_*_syncs_of_5_MB"
ENCRYPTED_YEAR = "encrypted_a_year_of_the_seed_files"

TARGETS: tuple[Target, ...] = (
    Target("no change, 8 seed files", NO_CHANGE, _of("ratio"),
           lambda c: f"{c['ours_ms']:.1f} ms vs python3 -c pass {c['baseline_a_ms']:.1f} ms = "
                     f"{c['ratio']:.2f}x", START_UP, field="target_ratio"),
    Target("no change, the installed cron line", NO_CHANGE, _of("cron_line_ratio"), _cron_line,
           INSTALLED, when=_has("cron_line_ratio")),
    Target("no change, `memory-vault` as typed", NO_CHANGE, _of("console_script_ratio"),
           _console, INSTALLED, when=_has("console_script_ratio")),
    Target("no change: git processes, GitPython imported", NO_CHANGE,
           lambda c: (c["git_processes"], c["gitpython_imported"]),
           lambda c: f"{c['git_processes']}, {c['gitpython_imported']}",
           Limit("0, False", lambda v: v[0] == 0 and not v[1])),
    Target("change 8 x 5 MB", "change_8_files_of_5_MB", _of("ratio"),
           lambda c: f"{c['ours_s']:.2f} s vs peer_sync.sh {c['baseline_b_s']:.2f} s = "
                     f"{c['ratio']:.2f}x", at_most(1.2, "x"), field="target_ratio"),
    Target("10,000 files, no change", "tracked_10000_files", _of("no_change_s"),
           lambda c: f"{c['no_change_s']:.3f} s", at_most(1.0, " s"),
           field="no_change_target_s"),
    Target("10,000 files, one change", "tracked_10000_files", _of("one_change_s"),
           lambda c: f"{c['one_change_s']:.3f} s", at_most(1.5, " s"),
           field="one_change_target_s"),
    Target(PEAK, NO_CHANGE, _of("peak_mb"), _peak, memory(0.02), field="memory_target_mb"),
    Target(PEAK, "change_8_files_of_5_MB", _of("peak_mb"), _peak, memory(5),
           field="memory_target_mb"),
    Target(PEAK, "one_file_of_100_MB", _of("peak_mb"), _peak, memory(), field="memory_target_mb"),
    Target(PEAK, "*_syncs_of_sqlite", _of("peak_mb"), _peak, memory(), field="memory_target_mb"),
    Target(PEAK, "*_syncs_of_jsonl", _of("peak_mb"), _peak, memory(), field="memory_target_mb"),
    Target("{syncs} syncs: vault vs fully packed, worst", "*_syncs_of_5_MB_1pct_changes",
           _of("worst_ratio_any_sync_interpolated"),
           lambda c: f"{c['worst_ratio_any_sync_interpolated']:.2f}x (final "
                     f"{c['ours_final_mb']:.1f} MB vs {c['fully_packed_final_mb']:.1f} MB)",
           PACKED, field="target_ratio"),
    Target("{syncs} syncs: loose objects, most at any point", "*_syncs_of_5_MB_1pct_changes",
           _of("max_loose_objects"), lambda c: str(c["max_loose_objects"]),
           reported("(kept packed)")),
    Target("{syncs} syncs: time per sync (median)", "*_syncs_of_5_MB_1pct_changes",
           _of("sync_as_cron_median_s"),
           lambda c: f"{c['sync_in_process_median_s']:.2f} s in-process, "
                     f"{c['sync_as_cron_median_s']:.2f} s as cron runs it", reported()),
    Target("restic after {restic_syncs} syncs", "*_syncs_of_5_MB_1pct_changes",
           _of("restic_mb"),
           lambda c: f"{c['restic_mb']:.1f} MB vs ours {c['ours_mb_at_restic_syncs']:.1f} MB = "
                     f"{c['restic_vs_ours']:.0f}x larger", reported(), when=_has("restic_mb")),
    *_formats("*_syncs_of_sqlite", "SQLite 10 MB", sync_time=below(1.0, " s")),
    *_formats("*_syncs_of_jsonl", "JSON Lines 5 MB", sync_time=reported()),
    Target("diff of two 5 MB JSON Lines versions", "diff_and_history_5_MB_jsonl", _of("diff_s"),
           lambda c: f"{c['diff_s']:.2f} s", below(1.0, " s")),
    Target("history FILE, 50 versions of 5 MB (first run)", "diff_and_history_5_MB_jsonl",
           _of("history_50_cold_s"),
           lambda c: f"{c['history_50_cold_s']:.2f} s (then {c['history_50_warm_s']:.2f} s, "
                     f"cached)", below(2.0, " s")),
    Target("a year (35,040 syncs): no-change run vs 100 syncs", YEAR, _of("no_change_ratio"),
           lambda c: f"{c['year']['no_change_s'] * 1000:.0f} ms vs "
                     f"{c['small']['no_change_s'] * 1000:.0f} ms = {c['no_change_ratio']:.2f}x",
           at_most(1.2, text="unchanged")),
    Target("a year: change run vs 100 syncs", YEAR, _of("change_ratio"),
           lambda c: f"{c['year']['change_s']:.2f} s vs {c['small']['change_s']:.2f} s = "
                     f"{c['change_ratio']:.2f}x", at_most(1.2, "x")),
    _year("status_s", "status", below(0.3, " s")),
    _year("history_20_s", "history --limit 20", below(0.5, " s")),
    _year("history_file_s", "history FILE", below(2.0, " s")),
    _year("restore_at_middle_s", "restore --at the middle", below(1.0, " s")),
    # Bounded: verify reads a part of the content a run, or all of it in under a second.
    Target("a year: verify", YEAR,
           lambda c: (int(c["year"].get("verify_parts", 1)), float(c["year"]["verify_s"])),
           _verify, Limit("bounded", lambda v: v[0] > 1 or v[1] < 1.0)),
    Target("a year: new-machine restore", YEAR, lambda c: c["year"]["new_machine_restore_s"],
           lambda c: f"{c['year']['new_machine_restore_s']:.1f} s, clone "
                     f"{c['year']['clone_mb']:.1f} MB", reported()),
    Target("a year: vault vs fully packed", YEAR,
           lambda c: float(c["year"]["remote_mb"]) / float(c["year"]["fully_packed_mb"]),
           lambda c: f"{c['year']['remote_mb']:.1f} MB vs {c['year']['fully_packed_mb']:.1f} MB",
           PACKED),
    # "A sync costs <= 2x copying the folder": copied as a backup is, into a version kept and
    # pushed (cp -a, git add, commit, push); a bare cp -a keeps no version, shown beside it.
    Target("a store of {documents:,} Chroma documents, written meanwhile: a sync vs the "
           "folder copied into git by hand", STORE, _of("ratio_vs_copy_into_git"),
           lambda c: f"{c['sync_median_s']:.2f} s vs {c['copy_into_git_median_s']:.2f} s = "
                     f"{c['ratio_vs_copy_into_git']:.2f}x", at_most(2.0, "x"),
           field="target_ratio"),
    Target("a store, written meanwhile: a sync vs cp -a alone (no version kept)", STORE,
           _of("ratio_vs_cp"),
           lambda c: f"{c['sync_median_s']:.2f} s vs cp -a {c['cp_median_s'] * 1000:.0f} ms = "
                     f"{c['ratio_vs_cp']:.0f}x", reported()),
    Target("a store, written meanwhile: versions that restore usable", STORE,
           lambda c: (c["usable_versions"], c["versions"]),
           lambda c: f"{c['usable_versions']} of {c['versions']} ({c['skipped_syncs']} of "
                     f"{c['rounds']} syncs found it moving)",
           Limit("every version", lambda v: v[0] == v[1] > 0)),
    Target("watch: a change on the remote after the writer stops (median of "
           "{latency_rounds})", WATCH, _of("latency_median_s"),
           lambda c: f"{c['latency_median_s']:.2f} s (slowest {c['latency_max_s']:.2f} s)",
           at_most(3.0, " s")),
    Target("watch: idle {idle_s:.0f} s, CPU of one core", WATCH, _of("idle_cpu_percent"),
           lambda c: f"{c['idle_cpu_percent']:.3f}%", below(0.1, "%")),
    Target("watch: idle, memory", WATCH, lambda c: max(c["idle_rss_mb"], c["idle_peak_mb"]),
           lambda c: f"{c['idle_rss_mb']:.1f} MB (peak {c['idle_peak_mb']:.1f} MB)",
           below(30, " MB")),
    Target("watch: a writer every 100 ms for {writer_s:.0f} s", WATCH,
           lambda c: (c["writer_gap_min_s"], c["writer_gap_max_s"],
                      c["writer_versions_all_written"]), _writer,
           Limit("every 2-10 s, whole versions",
                 lambda v: v[0] is not None and v[0] >= 2 and v[1] <= 10 and v[2])),
    Target("encrypted, {syncs} syncs of 5 MB (1% churn): remote vs plain, as hosts keep them",
           ENCRYPTED, _of("ratio"), _encrypted, at_most(3.0, "x")),
    Target("encrypted, 5 MB: a change run vs the same unencrypted", ENCRYPTED,
           _of("change_ratio"),
           lambda c: f"{c['sync_encrypted_s']:.2f} s vs {c['sync_plain_s']:.2f} s = "
                     f"{c['change_ratio']:.2f}x", at_most(1.5, "x")),
    Target("encrypted, 5 MB: restic after the same {syncs} versions", ENCRYPTED,
           _of("restic_mb"),
           lambda c: f"{c['restic_mb']:.1f} MB = {c['restic_vs_plain']:.0f}x the plain vault",
           reported(), when=_has("restic_mb")),
    Target("encrypted, a year of the seed files ({synced} syncs pushed one by one): remote "
           "vs plain", ENCRYPTED_YEAR, _of("ratio"), _encrypted, at_most(2.0, "x")),
    Target("encrypted, a year: uploaded by those syncs, time a push", ENCRYPTED_YEAR,
           _of("uploaded_by_the_syncs_mb"),
           lambda c: f"{c['uploaded_by_the_syncs_mb']:.1f} MB, {c['push_median_s']:.2f} s",
           reported()),
    Target("a machine ({sources} sources, {files:,} files, {total_gb:.2f} GB): no change, the "
           "installed cron line", MACHINE, _of("cron_line_ratio"),
           lambda c: f"{c['cron_line_ms']:.1f} ms vs python3 -c pass {c['baseline_a_ms']:.1f} ms "
                     f"= {c['cron_line_ratio']:.2f}x", START_UP),
    Target("a machine: one line appended to one transcript, in the vault (median of "
           "{appends})", MACHINE, _of("append_median_s"),
           lambda c: f"{c['append_median_s']:.2f} s (slowest {c['append_max_s']:.2f} s; "
                     f"peer_sync.sh {c['peer_append_median_s']:.1f} s)", at_most(0.5, " s")),
    Target("a machine: the first full sync vs peer_sync.sh (median of {first_syncs})", MACHINE,
           _of("first_sync_ratio"),
           lambda c: f"{c['first_sync_s']:.1f} s vs {c['peer_first_sync_s']:.1f} s = "
                     f"{c['first_sync_ratio']:.2f}x", at_most(1.5, "x")),
    Target("a machine: the vault's growth over {compacted_after} appends, as its compaction "
           "leaves it, vs the bytes appended", MACHINE, _of("growth_ratio"),
           lambda c: f"{c['compacted_growth_bytes'] / 1024:,.0f} KB vs "
                     f"{c['compacted_appended_bytes'] / 1024:,.0f} KB = "
                     f"{c['growth_ratio']:.2f}x", at_most(2.0, "x"), when=_has("growth_ratio")),
    Target("a machine: the vault's growth at most, between two compactions ({appends} appends)",
           MACHINE, _of("most_growth_bytes"),
           lambda c: f"{c['most_growth_bytes'] / MB:,.1f} MB vs "
                     f"{c['appended_bytes'] / 1024:,.0f} KB appended in all", reported()),
    Target("fleet: {machines} machines x {rounds} rounds, all at once",
           "fleet_8_machines_50_rounds",
           lambda c: (c["commits_on_remote"] == c["expected_commits"], c["failed_runs"]), _fleet,
           Limit("every version, no failure", lambda v: v[0] and v[1] == 0)),
)


class Row(NamedTuple):
    what: str
    measured: str
    limit: str
    ok: str  # "yes" or "NO"


def rows(cases: dict[str, Case]) -> list[Row]:
    """One row per target and case it reads, in the table's order."""
    found = []
    for target in TARGETS:
        for name, case in cases.items():
            if fnmatchcase(name, target.case) and target.when(case):
                limit = target.limit_of(case)
                found.append(Row(target.what.format_map({**case, "name": name}),
                                 target.shown(case), limit.text,
                                 "yes" if limit.holds(target.value(case)) else "NO"))
    return found


def limits(name: str, values: Case) -> Case:
    """The bounds a case is held to, under the keys results.json has always had them."""
    return {target.field: target.limit_of(values).bound for target in TARGETS
            if target.field and fnmatchcase(name, target.case)}


def table(cases: dict[str, Case]) -> str:
    """The table run.py prints: one aligned line per row."""
    head = Row("target", "measured", "limit", "ok")
    found = rows(cases)
    widths = [max(len(r[i]) for r in [head, *found]) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in [head, Row(*("-" * w for w in widths)), *found])
