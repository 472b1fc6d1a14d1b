"""Heartbeat: tell a monitor (healthchecks.io, Uptime Kuma, Cronitor...) each run happened.

The worst day of a backup is the one you learn it stopped months ago; a monitor that expects
a ping every 15 minutes says so the day it stops. The protocol of healthchecks.io and its
peers: `URL/start` when a run begins work, `URL` when it succeeds, `URL/fail` when it fails
(exit 1) or is partial (exit 3), each with the run's summary line as the body. A no-change
run sends one request.

A ping never fails or holds up the backup. Each goes out on a daemon thread, so `/start`
never delays the work; a socket timeout bounds each read, not the whole, and a monitor that
answers one byte every few seconds would hold a ping forever: `finish` waits for the pings
at most `TIMEOUT` in all, then the run ends whatever the monitor does (an unfinished ping
dies with the process). Any trouble is one warning, written by the run's own thread. The
URL's credentials go to the monitor's own origin only, never to where it redirects.
`urllib.request` is imported only when a URL is set.
"""

import threading
import time
from typing import TYPE_CHECKING

from memory_vault.logfile import RunLog
from memory_vault.urls import split_credentials, url_origin

if TYPE_CHECKING:
    import urllib.request

TIMEOUT = 10.0
BODY_LIMIT = 10_000


class Heartbeat:
    """The pings of one sync run."""

    __slots__ = ("in_flight", "log", "started", "url")

    def __init__(self, url: str, log: RunLog) -> None:
        self.url = url.rstrip("/")
        self.log = log
        self.started = False
        self.in_flight: _Ping | None = None

    def start(self) -> None:
        """The run begins work (it found something to read, commit or push): `/start` goes
        out in the background and the work goes on at once."""
        if not self.started:
            self.started = True
            self.in_flight = _Ping(self.url + "/start", "")

    def finish(self, exit_code: int, summary: str) -> None:
        """The outcome, after `/start` (a monitor reads them in order); returns within
        `TIMEOUT` whatever the monitor does."""
        deadline = time.monotonic() + TIMEOUT
        pings = [self.in_flight] if self.in_flight is not None else []
        for ping in pings:
            ping.wait(deadline)
        if time.monotonic() < deadline:
            body = self.log.redactor.clean(summary)[:BODY_LIMIT]
            pings.append(_Ping(self.url + ("" if exit_code == 0 else "/fail"), body))
            pings[-1].wait(deadline)
        self.in_flight = None
        for ping in pings:
            if ping.problem is not None:
                self.log.warning(f"heartbeat {self.log.redactor.clean(ping.url)} failed: "
                                 f"{ping.problem}; the backup itself is not affected")


class _Ping:
    """One request to the monitor, on a daemon thread, with a deadline of its own."""

    __slots__ = ("deadline", "problem", "thread", "url")

    def __init__(self, url: str, body: str) -> None:
        self.url = url
        self.deadline = time.monotonic() + TIMEOUT
        self.problem: str | None = None
        self.thread = threading.Thread(target=self._send, args=(body,), daemon=True,
                                       name="heartbeat")
        self.thread.start()

    def wait(self, deadline: float) -> bool:
        """Wait for the answer until `deadline` (or this ping's own); True when it came."""
        self.thread.join(max(0.0, min(deadline, self.deadline) - time.monotonic()))
        if self.thread.is_alive():
            self.problem = f"no answer in time ({TIMEOUT:g} s for the pings in all)"
            return False
        return True

    def _send(self, body: str) -> None:
        import urllib.request

        url, user, password = split_credentials(self.url)
        headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": "memory-vault"}
        if user or password:
            import base64

            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(  # noqa: S310 (the user's own http(s) URL)
            url, data=body.encode("utf-8", "replace"), method="POST", headers=headers)
        try:
            with _opener().open(request, timeout=TIMEOUT) as response:
                response.read(1024)
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts are OSErrors
            self.problem = in_words(exc, url)


def in_words(exc: BaseException, url: str) -> str:
    """What went wrong with a ping, as a person says it (urllib says `<urlopen error
    [Errno 111] Connection refused>`)."""
    import socket
    import ssl
    import urllib.error
    from urllib.parse import urlsplit

    if isinstance(exc, urllib.error.HTTPError):
        return f"the monitor answered HTTP {exc.code} {exc.reason}".rstrip()
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    parts = urlsplit(url)
    where = parts.netloc.rpartition("@")[2] or url
    host = parts.hostname or where
    if isinstance(reason, ConnectionRefusedError):
        return f"nothing answers at {where} (connection refused)"
    if isinstance(reason, socket.gaierror):
        return f"the host name {host} cannot be resolved ({reason.strerror or reason})"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"{host}'s TLS certificate is not trusted ({reason.verify_message})"
    if isinstance(reason, ssl.SSLError):
        return f"the TLS connection to {where} failed ({reason.reason or reason})"
    if isinstance(reason, TimeoutError):
        return f"{where} did not answer within {TIMEOUT:g} s"
    if isinstance(reason, ConnectionResetError):
        return f"{where} closed the connection before answering"
    if isinstance(reason, OSError) and reason.strerror:
        return f"cannot reach {where}: {reason.strerror[:1].lower()}{reason.strerror[1:]}"
    if isinstance(reason, ValueError):
        return f"the URL cannot be used: {reason}"
    return f"cannot reach {where}: {reason}"


def _opener() -> "urllib.request.OpenerDirector":
    """urllib's opener, except that a redirect to another origin (scheme, host or port)
    loses the Authorization header urllib would copy there."""
    import urllib.request
    from http.client import HTTPMessage
    from typing import IO

    class SameOriginCredentials(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                             msg: str, headers: HTTPMessage, newurl: str,
                             ) -> urllib.request.Request | None:
            follow = super().redirect_request(req, fp, code, msg, headers, newurl)
            if follow is not None and url_origin(follow.full_url) != url_origin(req.full_url):
                follow.remove_header("Authorization")
            return follow

    return urllib.request.build_opener(SameOriginCredentials)
