"""Real git servers on loopback, started and stopped by the tests themselves.

- `GitDaemon`: `git daemon --enable=receive-pack` on 127.0.0.1 (can be stopped and restarted
  on the same port: the remote goes down and comes back).
- `GitHttpServer`: `git http-backend` behind a small HTTP server, optionally demanding a
  token by HTTP basic auth.
- `SilentServer`: accepts connections and never answers (a remote that hangs).
- `TrickleServer`: answers one byte every few seconds, forever (a monitor that crawls).
- `RedirectServer`: answers every request with a 302 to the same path on another origin.
- `Endpoint`: a plain HTTP endpoint that records each request and its Authorization.
- `SshServer`: a real `sshd` on 127.0.0.1 with its own host key and config, for git over ssh
  (host keys, refused keys, gitolite-style forced commands).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class GitDaemon:
    """`git daemon` serving every repository under `base` at git://127.0.0.1:<port>/."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        self.base = base
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> GitDaemon:
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={self.port}",
             f"--base-path={self.base}", "--export-all", "--enable=receive-pack",
             str(self.base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until the port is really closed
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                return

    def __enter__(self) -> GitDaemon:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _HttpBackend(BaseHTTPRequestHandler):
    server: GitHttpServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        self.server.requests.append(self.path)
        self.server.authorizations.append(self.headers.get("Authorization", ""))
        time.sleep(self.server.delay + (self.server.push_delay if "receive-pack" in self.path
                                        else 0.0))
        if self.server.token is not None and not self._authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="vault"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "REMOTE_USER": "vault",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True, check=False).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        _, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return secret == self.server.token


class GitHttpServer(ThreadingHTTPServer):
    """Smart-HTTP git on 127.0.0.1 for the repositories under `root`."""

    def __init__(self, root: Path, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _HttpBackend)
        self.root = root
        self.token = token
        self.delay = 0.0  # seconds before each answer (a slow link)
        self.push_delay = 0.0  # seconds more before answering a push (a slow upload)
        self.requests: list[str] = []
        self.authorizations: list[str] = []  # each request's Authorization header, or ""
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def url(self, name: str, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.server_address[1]}/{name}"

    def __enter__(self) -> GitHttpServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Listener:
    """A TCP listener on 127.0.0.1 whose connections a thread hands to `_serve`; the
    listener and every connection it kept close on exit."""

    def __init__(self, backlog: int, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)
            self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        """What to do with a new connection (by default: hold it and say nothing)."""

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.running = False
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()


class SilentServer(_Listener):
    """Accepts TCP connections on 127.0.0.1 and never says a word."""

    def __init__(self) -> None:
        super().__init__(backlog=16)


class TrickleServer(_Listener):
    """Answers every connection with an endless HTTP response, one byte every `interval`
    seconds: each socket read gets something in time, the whole never arrives."""

    def __init__(self, interval: float = 2.0) -> None:
        super().__init__(backlog=16)
        self.interval = interval

    def url(self, path: str = "/ping") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self, conn: socket.socket) -> None:
        threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"." * 1000000
        for byte in answer:
            if not self.running:
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(self.interval)


class _Recorder(BaseHTTPRequestHandler):
    server: Endpoint | RedirectServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        location = self.server.location(self.path)
        self.send_response(302 if location else 200)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0" if location else "2")
        self.end_headers()
        if not location:
            self.wfile.write(b"OK")

    do_POST = do_GET


class Endpoint(ThreadingHTTPServer):
    """An HTTP endpoint on 127.0.0.1 that records (method, path, Authorization) of each
    request and answers 200; a path under `/moved/` is redirected to `/here/` on itself."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[tuple[str, str, str]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.server_address[1]}{path}"

    def location(self, path: str) -> str | None:
        return "/here/" + path.removeprefix("/moved/") if path.startswith("/moved/") else None

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()


class RedirectServer(Endpoint):
    """Answers every request with a 302 to the same path on another origin (`target`, such
    as `http://127.0.0.1:<port>`), recording each request as `Endpoint` does."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def location(self, path: str) -> str | None:
        return self.target + path


class SshServer:
    """`sshd` on 127.0.0.1:<free port>, its config, host key and authorized keys in `base`.

    `client_command()` is a GIT_SSH_COMMAND that ignores the user's ssh config and keys and
    trusts (or not) this server's host key.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        base.mkdir(parents=True, exist_ok=True)
        self.host_key = base / "host_key"
        self.client_key = base / "client_key"
        self.authorized = base / "authorized_keys"
        self.known_hosts = base / "known_hosts"
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True)
        self.authorized.write_text("")
        self.known_hosts.write_text("")
        (base / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"PidFile {base / 'sshd.pid'}\nAuthorizedKeysFile {self.authorized}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nPermitRootLogin yes\nStrictModes no\nUsePAM no\n"
            "LogLevel ERROR\n")

    @staticmethod
    def available() -> str | None:
        """Why sshd cannot run here, or None."""
        if not os.path.exists("/usr/sbin/sshd") or shutil.which("ssh-keygen") is None:
            return "openssh-server is not installed (.ci/run installs it)"
        if os.geteuid() != 0 and not os.path.isdir("/run/sshd"):
            return "sshd needs /run/sshd, which only root can create"
        return None

    def trust_host(self) -> None:
        public = (self.host_key.with_suffix(".pub")).read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")

    def authorize(self, forced_command: str | None = None) -> None:
        public = self.client_key.with_suffix(".pub").read_text().strip()
        prefix = f'command="{forced_command}",no-pty ' if forced_command else ""
        self.authorized.write_text(prefix + public + "\n")

    def url(self, path: Path) -> str:
        return f"ssh://root@127.0.0.1:{self.port}{path}"

    def client_command(self) -> str:
        return (f"ssh -F /dev/null -i {self.client_key} -o IdentitiesOnly=yes "
                f"-o UserKnownHostsFile={self.known_hosts} -o GlobalKnownHostsFile=/dev/null")

    def __enter__(self) -> SshServer:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.base / "sshd_config")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class ThrottledProxy(_Listener):
    """A TCP proxy on 127.0.0.1 that forwards to `port` at `rate` bytes a second each way:
    a slow link on which a transfer takes long but keeps moving."""

    def __init__(self, port: int, rate: int) -> None:
        # Small buffers on our side keep the sender's data in flight small, as on a real slow
        # link, instead of letting loopback buffer the whole transfer at once.
        super().__init__(backlog=8, receive_buffer=4096)
        self.target = port
        self.rate = rate

    def _serve(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target))
        self.held.append(upstream)
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        chunk = max(1, self.rate // 10)
        try:
            while data := source.recv(chunk):
                sink.sendall(data)
                time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
