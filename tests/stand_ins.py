"""Stand-ins for the schedulers, on PATH, so that no test changes the machine's real ones.

`crontab` keeps the table in `$CRONTAB_FILE`; `systemctl --user` keeps our timer's state in
`$SYSTEMCTL_STATE` (and fails as a missing session bus does with `SYSTEMCTL_NO_BUS=1`).
"""

from __future__ import annotations

from pathlib import Path

from conftest import Vault

CRONTAB = """#!/bin/sh
# A stand-in for crontab(1) that keeps the table in $CRONTAB_FILE.
case "$1" in
  -l) if [ -f "$CRONTAB_FILE" ]; then cat "$CRONTAB_FILE"; else
        echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""

SYSTEMCTL = """#!/bin/sh
# A stand-in for systemctl(1) --user: our timer's state in $SYSTEMCTL_STATE.
if [ -n "$SYSTEMCTL_NO_BUS" ]; then
  echo "Failed to connect to bus: No medium found" >&2; exit 1
fi
case "$*" in
  "--user daemon-reload") ;;
  "--user enable --now memory-vault.timer") echo enabled > "$SYSTEMCTL_STATE" ;;
  "--user disable --now memory-vault.timer") echo disabled > "$SYSTEMCTL_STATE" ;;
  "--user is-enabled memory-vault.timer")
    state=$(cat "$SYSTEMCTL_STATE" 2>/dev/null || echo disabled); echo "$state"
    [ "$state" = enabled ] ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def install_stand_ins(vault: Vault, folder: Path) -> Path:
    """Put both stand-ins first on the vault's PATH; the crontab file they keep."""
    bindir = folder / "bin"
    bindir.mkdir(exist_ok=True)
    for name, script in (("crontab", CRONTAB), ("systemctl", SYSTEMCTL)):
        (bindir / name).write_text(script)
        (bindir / name).chmod(0o755)
    vault.env["PATH"] = f"{bindir}:{vault.env['PATH']}"
    vault.env["CRONTAB_FILE"] = str(folder / "crontab.txt")
    vault.env["SYSTEMCTL_STATE"] = str(folder / "systemctl.state")
    return folder / "crontab.txt"
