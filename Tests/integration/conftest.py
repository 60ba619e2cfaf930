"""Fixtures that run the real jobgate binary on an ephemeral loopback port."""
import http.client
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
        try:  # read while it exits: its last lines may be waiting for room in the pipe
            rest, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
        for raw in rest.splitlines():
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"raw": raw.decode(errors="replace")})

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"


class Sandbox:
    """`jobgate sandbox --base-port 0`: the five vendor simulators, and the environment that points at them."""

    def __init__(self, *args):
        self.process = subprocess.Popen([binary_path(), "sandbox", "--base-port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        self.env = {}
        deadline = time.time() + 30
        while time.time() < deadline:
            raw = self.process.stdout.readline().decode()
            if not raw:
                raise RuntimeError("sandbox exited: " + self.process.stderr.read().decode(errors="replace"))
            if raw.startswith("# sandbox ready"):
                break
            if raw.startswith("export "):
                name, _, value = raw[len("export "):].strip().partition("=")
                self.env[name] = value.strip("'\"")
        else:
            raise TimeoutError("sandbox did not get ready")

    def root(self, vendor):
        """scheme://host:port of a vendor's simulator."""
        url = self.env[vendor.upper() + "_BASE_URL"]
        scheme, _, rest = url.partition("://")
        return scheme + "://" + rest.split("/", 1)[0]

    def control(self, vendor, method, path, body=None):
        host, port = self.root(vendor).split("://")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        return json.loads(data) if data else None

    def requests(self, vendor):
        return self.control(vendor, "GET", "/__sandbox/requests")

    def fault(self, vendor, **fault):
        self.control(vendor, "POST", "/__sandbox/faults", fault)

    def settings(self, vendor, **settings):
        """Changes a simulator's settings until the next reset (POST /__sandbox/settings), e.g. tokenTtlSeconds=2."""
        refusal = self.control(vendor, "POST", "/__sandbox/settings", settings)
        assert refusal is None, refusal

    def reset(self):
        for vendor in ("deck", "bigchange", "shopplanr", "lilt", "bytenite"):
            self.control(vendor, "POST", "/__sandbox/reset")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def sandbox():
    instance = Sandbox()
    yield instance
    instance.stop()


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


def certificate(folder, name, san):
    """A throwaway self-signed certificate and its key in `folder`, for the subject alternative name `san`."""
    key, cert = folder / (name + ".key"), folder / (name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=" + san], check=True, capture_output=True, timeout=30)
    return str(cert), str(key)


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


_openapi = None


def openapi_document():
    """The gateway's own /openapi.json, read once from a throwaway gateway."""
    global _openapi
    if _openapi is None:
        gateway = Gateway()
        try:
            conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
            conn.request("GET", "/openapi.json")
            _openapi = json.loads(conn.getresponse().read())
        finally:
            gateway.stop()
    return _openapi


def assert_conforms(status, content_type, payload, method="patch"):
    """Checks a /jobs/{id} answer against the OpenAPI document: declared status, media type and schema."""
    import jsonschema
    document = openapi_document()
    operation = document["paths"]["/jobs/{id}"][method.lower()]
    assert str(status) in operation["responses"], f"status {status} is not in the OpenAPI document"
    if status == 204:
        assert payload is None
        return
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    media = content_type.split(";")[0].strip()
    assert media in response["content"], f"{media} not declared for {status}"
    schema = dict(response["content"][media]["schema"])
    schema["components"] = document["components"]
    jsonschema.validate(payload, schema)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """One line per external input absent from this run, so a skip never goes unnoticed in a long log.
    The outermost wrapper writes after pytest's own summaries, just above the final counts."""
    yield
    import external_inputs
    for variable, path in external_inputs.absent().items():
        terminalreporter.write_line(external_inputs.ran_without_line(variable, path), yellow=True, bold=True)
