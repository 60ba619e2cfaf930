"""Fixtures that run the real jobgate binary on an ephemeral loopback port."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary_path():
    explicit = os.environ.get("JOBGATE_BIN")
    if explicit:
        return explicit
    for config in ("debug", "release"):
        candidate = ROOT / ".build" / config / "jobgate"
        if candidate.exists():
            return str(candidate)
    pytest.fail("jobgate binary not built: run `swift build` first")


class Gateway:
    """A running `jobgate serve`; its log lines are collected for assertions."""

    def __init__(self, args=(), env=None):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBGATE_")}
        environment.update(env or {})
        self.process = subprocess.Popen(
            [binary_path(), "serve", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, cwd=ROOT)
        self.lines = []
        started = self._read_until("started")
        host, port = started["listen"].rsplit(":", 1)
        self.host, self.port = host, int(port)

    def _read_until(self, event, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            raw = self.process.stdout.readline()
            if not raw:
                raise RuntimeError("jobgate exited: " + self.process.stderr.read().decode(errors="replace"))
            line = json.loads(raw)
            self.lines.append(line)
            if line.get("event") == event:
                return line
        raise TimeoutError(event)

    def connect(self, timeout=5):
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        return sock

    def signal(self, number):
        self.process.send_signal(number)

    def wait(self, timeout=30):
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        rest = self.process.stdout.read() if self.process.stdout else b""
        for raw in rest.splitlines():
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"raw": raw.decode(errors="replace")})

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"


@pytest.fixture
def start_gateway():
    started = []

    def start(*args, env=None):
        gateway = Gateway(args, env)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(start_gateway):
    return start_gateway()


def read_response(sock, timeout=5):
    """Reads one HTTP/1.1 response (Content-Length framed) from a raw socket: (status, headers, body, rest)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full head: %r" % data)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        rest += chunk
    return status, headers, rest[:length], rest[length:]


def is_closed(sock, timeout=3):
    """True if the peer closed (EOF or reset) within `timeout`."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
