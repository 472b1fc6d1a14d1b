"""Heartbeat: tell a monitor (healthchecks.io, Uptime Kuma, Cronitor...) each run happened.

The worst day of a backup is the one you learn it stopped months ago; a monitor that expects
a ping every 15 minutes says so the day it stops. The protocol of healthchecks.io and its
peers: `URL/start` when a run begins work, `URL` when it succeeds, `URL/fail` when it fails
(exit 1) or is partial (exit 3), each with the run's summary line as the body. A no-change
run sends one request. A ping never fails or holds up the backup: 10 s at most, no retry
loop, and any trouble is one warning. `urllib.request` is imported only when a URL is set.
"""

from memory_vault.logfile import RunLog

TIMEOUT = 10.0
BODY_LIMIT = 10_000


class Heartbeat:
    """The pings of one sync run."""

    __slots__ = ("log", "started", "url")

    def __init__(self, url: str, log: RunLog) -> None:
        self.url = url.rstrip("/")
        self.log = log
        self.started = False

    def start(self) -> None:
        """The run begins work (it found something to read, commit or push)."""
        if not self.started:
            self.started = True
            self._ping("/start", "")

    def finish(self, exit_code: int, summary: str) -> None:
        self._ping("" if exit_code == 0 else "/fail", summary)

    def _ping(self, suffix: str, body: str) -> None:
        import urllib.request

        from memory_vault.urls import split_credentials

        url, user, password = split_credentials(self.url + suffix)
        headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": "memory-vault"}
        if user or password:
            import base64

            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        data = self.log.redactor.clean(body)[:BODY_LIMIT].encode("utf-8", "replace")
        request = urllib.request.Request(  # noqa: S310 (the user's own http(s) URL)
            url, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                response.read(1024)
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts are OSErrors
            self.log.warning(f"heartbeat {self.log.redactor.clean(url)} failed: {exc}; the "
                             "backup itself is not affected")
