"""Doctor text: the `doctor` report as a person reads it: the verdict, each setting with
where it came from, then each finding with what to do about it."""

from memory_vault.fsutil import plural

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.health.doctor import DoctorReport

STATES = {"ok": "ok", "note": "note", "problem": "PROBLEM"}


def doctor_lines(report: "DoctorReport") -> list[str]:
    problems = len(report.problems)
    lines = ["Memory Vault doctor: " + (f"{plural(problems, 'thing')} to do" if problems
                                        else "nothing needs doing")]
    lines.append(f"settings (env file: {report.env_file or 'none'}):")
    width = max(len(s.name) for s in report.settings)
    for s in report.settings:
        origin = s.origin if s.given_as == s.name else f"{s.origin} as {s.given_as}"
        lines.append(f"  {s.name:<{width}}  {origin:<11}  {s.value or '-'}")
    label = max(len(f.name) for f in report.findings)
    for f in report.findings:
        lines.append(f"{STATES[f.state]:<7}  {f.name:<{label}}  {f.detail}")
        if f.todo and f.state != "ok":
            lines.append(f"{'':<7}  {'':<{label}}  -> {f.todo}")
    return lines
