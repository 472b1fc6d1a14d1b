"""doctor: what is set and where it came from, whether a job runs it and when it last ran,
whether the remote answers and the vault is off this machine; what to do about each.

It changes nothing (no clone, no journal, no lock): it reads the settings, the schedulers'
tables, the journal and asks the remote once. Exit 1 when a finding is a problem; a note
(the embedded vault, say) is said with its remedy but needs nothing today.
"""

import os
import shlex
import time
from pathlib import Path

from memory_vault.errors import EXIT_FAILED, EXIT_OK, ConfigError
from memory_vault.fsutil import plural, utc_stamp
from memory_vault.health.effective import (
    Effective,
    as_the_job_sees,
    differences,
    effective_settings,
)
from memory_vault.health.finding import NOTE, OK, PROBLEM, Finding
from memory_vault.health.reach import Reach, copy_finding, remote_finding
from memory_vault.journal.cache import OUTCOME_FAILED, OUTCOME_PARTIAL, load_journal
from memory_vault.logfile import RunLog
from memory_vault.results import command_name
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.triggers.installed import Installed, installed_jobs


class DoctorReport:
    """Every finding, with the settings in force and the jobs found; exit 1 on a problem."""

    __slots__ = ("env_file", "findings", "jobs", "last_run", "reach", "settings")

    def __init__(self, config: Config, settings: list[Effective]) -> None:
        self.env_file = config.env_file
        self.settings = settings
        self.findings: list[Finding] = []
        self.jobs: list[Installed] = []
        self.last_run: str | None = None
        self.reach = Reach(config)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.state == PROBLEM]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.problems else EXIT_OK

    def as_dict(self) -> dict[str, object]:
        return {"ok": not self.problems, "env_file": self.env_file,
                "settings": [s.as_dict() for s in self.settings],
                "jobs": [j.as_dict() for j in self.jobs], "last_run": self.last_run,
                "remote": self.reach.as_dict(),
                "findings": [f.as_dict() for f in self.findings]}


def run_doctor(config: Config, log: RunLog) -> DoctorReport:
    report = DoctorReport(config, effective_settings(config))
    report.jobs, trouble = installed_jobs()
    report.findings += [*_unknown(config), _source(config), _job_view(config, report.jobs),
                        *_schedule(report.jobs, trouble), _last_run(config, report)]
    report.findings += [remote_finding(config, report.reach),
                        copy_finding(config, report.reach)]
    log.info(f"doctor: {plural(len(report.problems), 'problem')}")
    return report


def _unknown(config: Config) -> list[Finding]:
    return [Finding("settings", PROBLEM, f"{name} is not a setting and is ignored (from "
                                         f"{config.origins.get(name, 'somewhere')})",
                    "correct its name or remove it (the README's Configuration table lists "
                    "every setting)") for name in config.unknown_settings]


def _source(config: Config) -> Finding:
    from memory_vault.sources.registry import configured_sources
    from memory_vault.sources.scan import scan_source
    from memory_vault.sources.source import nothing_tracked

    if not Path(config.source_dir).is_dir():
        return Finding("source", PROBLEM, f"the source dir {config.source_dir} does not exist",
                       f"`{command_name()} init --source DIR` names the folder that holds "
                       "the memory files")
    try:
        sources = configured_sources(config)
    except ConfigError as exc:
        return Finding("source", PROBLEM, str(exc), "correct the sources file it names")
    found = sum(len(scan_source(s, {}, read_all=True).present) for s in sources)
    if not found:
        return Finding("source", PROBLEM, nothing_tracked(sources),
                       f"`{command_name()} discover` finds the agents' memory on this machine")
    return Finding("source", OK, f"{plural(found, 'tracked file')} in "
                                 f"{plural(len(sources), 'source')}")


def _job_view(config: Config, jobs: list[Installed]) -> Finding:
    """Does a scheduled job (a bare environment, the env file alone) see these settings?"""
    environ = dict(os.environ)
    named = next((j.env_file for j in jobs if j.env_file), None)
    env_file = named or config.env_file or paths.config_env_file(environ)
    todo = f"`{command_name()} init" + (
        "`" if env_file == paths.config_env_file(environ)
        else f" --env-file {shlex.quote(env_file)}`") + (
        " saves the settings this command uses there, for the job")
    try:
        job = as_the_job_sees(env_file if Path(env_file).is_file() or named else None,
                              environ)
    except ConfigError as exc:
        return Finding("settings", PROBLEM, f"a scheduled job would stop: {exc}", todo)
    changed = differences(config, job)
    if not Path(env_file).is_file():
        return Finding("settings", PROBLEM if changed else NOTE,
                       f"no settings file at {env_file}: a scheduled job runs with the "
                       "defaults" + (f", not with {', '.join(changed)}" if changed else ""),
                       todo)
    if changed:
        return Finding("settings", PROBLEM, f"a scheduled job, which reads only {env_file}, "
                                            f"would run with other values of "
                                            f"{', '.join(changed)}", todo)
    verb = "runs" if jobs else "would run"  # no job installed yet: `schedule install`'s
    return Finding("settings", OK, f"a scheduled job {verb} with these settings ({env_file})")


def _schedule(jobs: list[Installed], trouble: list[str]) -> list[Finding]:
    found = [Finding("job", NOTE, f"cannot ask the scheduler: {why}") for why in trouble]
    if not jobs:
        return [*found, Finding("job", PROBLEM, "no scheduled job: a backup happens only when "
                                                "you run one",
                                f"`{command_name()} schedule install` runs it every 15 "
                                "minutes")]
    for job in jobs:
        if not job.active:
            found.append(Finding("job", PROBLEM, f"the {job.kind} job is written but not "
                                                 f"active: {', '.join(job.where)}",
                                 "`systemctl --user enable --now memory-vault.timer`, or "
                                 f"`{command_name()} schedule install --with cron`"))
        else:
            found.append(Finding("job", OK, f"{job.kind}: {' '.join(job.where)}"))
    if len(jobs) > 1:
        kinds = [j.kind for j in jobs]
        found.append(Finding("job", NOTE, f"{len(jobs)} schedulers run it ({', '.join(kinds)}):"
                                          " the lock keeps them apart, one is enough",
                             f"`{command_name()} schedule remove --with {kinds[-1]}`"))
    return found


def _last_run(config: Config, report: DoctorReport) -> Finding:
    try:
        journal = load_journal(config.state_file)
    except ConfigError as exc:
        return Finding("last run", PROBLEM, str(exc), "upgrade Memory Vault")
    if not journal.last_run:
        return Finding("last run", PROBLEM, "no sync has run yet",
                       f"`{command_name()} --now` makes a first backup")
    report.last_run = when = utc_stamp(journal.last_run)
    age = max(0, int(time.time()) - journal.last_run)
    said = f"{when}, {_ago(age)}"
    if journal.last_outcome == OUTCOME_FAILED:
        return Finding("last run", PROBLEM, f"the last run ({said}) failed: "
                                            f"{journal.last_error}",
                       f"`{command_name()} --now -v` says why; `{command_name()} status` "
                       "lists every problem")
    if age > config.stale_after_minutes * 60 and any(j.active for j in report.jobs):
        return Finding("last run", PROBLEM, f"the last run was {said}: the job has not run "
                                            f"since (MEMORY_VAULT_STALE_AFTER="
                                            f"{config.stale_after_minutes:g} minutes)",
                       f"is the scheduler running? read {config.err_file} and "
                       f"{config.log_file}; `{command_name()} --now` meanwhile")
    if journal.last_outcome == OUTCOME_PARTIAL:
        return Finding("last run", NOTE, f"the last run ({said}) was partial: "
                                         f"{journal.last_error}",
                       f"`{command_name()} status` says what to do about each")
    return Finding("last run", OK, f"{said}: {journal.last_outcome or 'ok'}")


def _ago(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} minutes ago"
    if seconds < 172800:
        return f"{seconds // 3600} hours ago"
    return f"{seconds // 86400} days ago"
