"""Heartbeats: what a monitor on 127.0.0.1 receives, in order, for each kind of run."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from servers import SilentServer, free_port

from conftest import Vault


class Monitor(ThreadingHTTPServer):
    """A healthchecks.io stand-in: records each ping (path, body, auth) and answers OK."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pings: list[tuple[str, str]] = []
        self.auth: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.server_address[1]}/ping/abc-123"


class _Handler(BaseHTTPRequestHandler):
    server: Monitor

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.server.pings.append((self.path, body))
        self.server.auth.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")


@pytest.fixture
def monitor(vault: Vault) -> Iterator[Monitor]:
    server = Monitor()
    vault.env["MEMORY_VAULT_PING_URL"] = server.url()
    yield server
    server.shutdown()
    server.server_close()


def test_success_then_no_change(vault: Vault, monitor: Monitor) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    assert [p for p, _ in monitor.pings] == ["/ping/abc-123/start", "/ping/abc-123"]
    assert monitor.pings[1][1].startswith("sync: committed ")

    monitor.pings.clear()
    assert vault.sync().returncode == 0
    assert monitor.pings == [("/ping/abc-123", "sync: nothing changed, 1 file checked")]


def test_partial_and_failure_ping_fail(vault: Vault, monitor: Monitor, tmp_path: Path) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.write("gpt4_memories.json", "{broken", age=10)
    assert vault.sync().returncode == 3
    assert [p for p, _ in monitor.pings] == ["/ping/abc-123/start", "/ping/abc-123/fail"]
    assert "1 skipped" in monitor.pings[1][1]

    monitor.pings.clear()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert vault.sync(env={"MEMORY_VAULT_SOURCE_DIR": str(empty)}).returncode == 1
    assert [p for p, _ in monitor.pings] == ["/ping/abc-123/fail"]
    assert "none of the tracked files exists" in monitor.pings[0][1]


def test_credentials_are_sent_as_basic_auth_and_never_logged(vault: Vault,
                                                             monitor: Monitor) -> None:
    vault.env["MEMORY_VAULT_PING_URL"] = monitor.url("kuma:pushS3cret")
    vault.write("memory.json", "{}", age=10)
    result = vault.sync()
    assert result.returncode == 0
    assert monitor.auth[-1] == "Basic " + base64.b64encode(b"kuma:pushS3cret").decode()
    everything = "".join(vault.log_lines() + vault.err_lines()) + result.stdout + result.stderr
    assert "pushS3cret" not in everything


def test_a_monitor_that_hangs_or_is_down_never_fails_the_backup(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.env["MEMORY_VAULT_PING_URL"] = f"http://127.0.0.1:{free_port()}/down"
    assert vault.sync().returncode == 0  # down: connection refused, at once
    assert vault.remote_file("memory.json") == b'{"a": 1}'
    assert any("heartbeat" in line and "failed" in line for line in vault.err_lines())

    with SilentServer() as silent:
        vault.env["MEMORY_VAULT_PING_URL"] = f"http://127.0.0.1:{silent.port}/hang"
        started = time.monotonic()
        result = vault.sync()  # no change: one ping, cut off after 10 s
        took = time.monotonic() - started
    assert result.returncode == 0 and result.stderr == ""
    assert 9 < took < 20
