"""Real local servers for the response tests: an HTTP receiver (webhooks, chat, session
revocation), the scim2-server SCIM 2.0 server and syslog listeners on UDP and TCP. Each
runs on a free loopback port. (NATS: ``servers.Nats``.)"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from servers import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HookServer:
    """Records every POST; answers 503 to the first ``fail_first`` of them."""

    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.attempts += 1
                if hook.attempts <= hook.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait_port(port: int, what: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds:.0f} s")


class ScimServer:
    """scim2-server (the PyPI test server) in memory on a free port, with a bearer token."""

    TOKEN = "scim-test-token"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v2"
        command = [sys.executable, "-m", "scim2_server.testserver.cli"]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port), "--bearer-token", self.TOKEN],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, "scim2-server", self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class SyslogListener:
    """Collects syslog messages on a UDP or TCP loopback port."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.messages: list[bytes] = []
        kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if protocol == "tcp":
            self.sock.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                if self.protocol == "udp":
                    data, _ = self.sock.recvfrom(65535)
                    self.messages.append(data)
                    continue
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                buffer = b""
                while chunk := conn.recv(65536):
                    buffer += chunk
                self.messages += [m for m in buffer.split(b"\n") if m]

    def wait(self, count: int, seconds: float = 5) -> list[bytes]:
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    def stop(self) -> None:
        self.sock.close()
