"""The HTTP/1.1 server through real sockets, curl and http.client against the real binary."""
import http.client
import json
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import read_response, is_closed


def test_healthz_with_curl(gateway):
    out = subprocess.run(["curl", "-sS", "-i", gateway.base + "/healthz"], capture_output=True, check=True, timeout=10)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"X-Request-Id: " in head
    assert json.loads(body) == {"status": "ok"}


def test_readyz_and_head(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    conn.request("GET", "/readyz")
    response = conn.getresponse()
    assert response.status == 200
    response.read()
    conn.request("HEAD", "/healthz")
    response = conn.getresponse()
    assert response.status == 200
    assert int(response.getheader("Content-Length")) > 0
    assert response.read() == b""


def test_keep_alive_reuses_one_connection(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    conn.connect()
    first_socket = conn.sock
    for _ in range(20):
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    assert conn.sock is first_socket, "http.client had to reconnect: keep-alive broken"


def test_request_id_echoed_when_sane_and_replaced_when_not(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    conn.request("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
    response = conn.getresponse()
    response.read()
    assert response.getheader("X-Request-Id") == "abc-123"
    conn.request("GET", "/healthz", headers={"X-Request-Id": "bad id with spaces" + "x" * 300})
    response = conn.getresponse()
    response.read()
    generated = response.getheader("X-Request-Id")
    assert generated and " " not in generated and len(generated) < 100


def test_pipelined_requests_answered_in_order(gateway):
    sock = gateway.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\n\r\n"
                 b"GET /nope HTTP/1.1\r\nHost: a\r\nX-Request-Id: two\r\n\r\n"
                 b"GET /readyz HTTP/1.1\r\nHost: a\r\nX-Request-Id: three\r\n\r\n")
    rest = b""
    seen = []
    for _ in range(3):
        if rest:
            # put back bytes already read for the next response
            status, headers, body, rest = parse_buffered(sock, rest)
        else:
            status, headers, body, rest = read_response(sock)
        seen.append((status, headers["x-request-id"]))
    assert seen == [(200, "one"), (404, "two"), (200, "three")]


def parse_buffered(sock, buffered):
    class Prefixed:
        def __init__(self):
            self.pending = buffered

        def settimeout(self, t):
            sock.settimeout(t)

        def recv(self, n):
            if self.pending:
                data, self.pending = self.pending, b""
                return data
            return sock.recv(n)

    return read_response(Prefixed())


def test_chunked_body_is_read(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    body = iter([b'{"name":', b'"x"}'])
    conn.request("PATCH", "/jobs/deck:1", body=body, headers={"Content-Type": "application/json"}, encode_chunked=True)
    response = conn.getresponse()
    response.read()
    assert response.status in (200, 400, 404, 422, 501, 503)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200, "connection must stay usable after a chunked request"


def test_http10_closes_by_default(gateway):
    sock = gateway.connect()
    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    status, headers, _, _ = read_response(sock)
    assert status == 200
    assert headers.get("connection") == "close"
    assert is_closed(sock)


def test_method_not_allowed_and_not_found(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    for method in ("GET", "POST", "TRACE", "PUT", "DELETE"):
        conn.request(method, "/jobs/deck:1")
        response = conn.getresponse()
        problem = json.loads(response.read())
        assert response.status == 405, method
        assert response.getheader("Allow") == "PATCH"
        assert response.getheader("Content-Type") == "application/problem+json"
        assert problem["status"] == 405 and problem["instance"] == "/jobs/deck:1" and problem["requestId"]
    conn.request("GET", "/no/such/route")
    response = conn.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["type"].endswith("/not-found")


@pytest.mark.parametrize("wire,status", [
    (b"POST /jobs/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\nHost: a\n\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
    (b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
    (b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}", 417),
])
def test_wire_rejections_answer_and_close(gateway, wire, status):
    sock = gateway.connect()
    sock.sendall(wire)
    got, headers, body, _ = read_response(sock)
    assert got == status
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status
    assert headers.get("connection") == "close"
    assert is_closed(sock)


def test_expect_continue_with_oversized_body_rejected_before_reading(gateway):
    sock = gateway.connect()
    sock.sendall(b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n")
    status, _, _, _ = read_response(sock)
    assert status == 413


def test_expect_continue_gets_interim_response(gateway):
    sock = gateway.connect()
    sock.sendall(b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")
    sock.settimeout(5)
    interim = sock.recv(100)
    assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    sock.sendall(b"{}")
    status, _, _, _ = read_response(sock)
    assert status != 100


def test_slowloris_does_not_block_others(start_gateway):
    gateway = start_gateway("--header-timeout", "2")
    stalled = []
    for _ in range(50):
        sock = gateway.connect()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        stalled.append(sock)
    started = time.time()
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    assert time.time() - started < 1.0, "a normal request waited behind stalled ones"
    # The stalled ones are answered 408 and closed once the header timeout passes.
    for sock in stalled:
        status, headers, _, _ = read_response(sock, timeout=10)
        assert status == 408 and headers.get("connection") == "close"
        assert is_closed(sock, timeout=5)


def test_stalled_body_times_out(start_gateway):
    gateway = start_gateway("--body-timeout", "1")
    sock = gateway.connect()
    sock.sendall(b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{")
    status, _, _, _ = read_response(sock, timeout=10)
    assert status == 408


def test_idle_keep_alive_connection_closed(start_gateway):
    gateway = start_gateway("--idle-timeout", "1")
    sock = gateway.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
    read_response(sock)
    assert is_closed(sock, timeout=5)


def test_connection_cap(start_gateway):
    gateway = start_gateway("--max-connections", "3", "--threads", "1")
    held = [gateway.connect() for _ in range(3)]
    for sock in held:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_response(sock)[0] == 200
    extra = gateway.connect()
    status, headers, _, _ = read_response(extra)
    assert status == 503 and headers.get("retry-after")


def test_graceful_shutdown_finishes_request_in_flight(gateway):
    busy = gateway.connect()
    busy.sendall(b"PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{")
    idle = gateway.connect()
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
    read_response(idle)
    time.sleep(0.2)
    gateway.signal(signal.SIGTERM)
    assert is_closed(idle, timeout=5), "idle keep-alive connections close at once on drain"
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((gateway.host, gateway.port), timeout=2)
    assert gateway.process.poll() is None, "must wait for the request in flight"
    busy.sendall(b"}")
    status, headers, _, _ = read_response(busy)
    assert headers.get("connection") == "close"
    assert gateway.wait(timeout=10) == 0


def test_second_gateway_on_a_taken_port_refuses_to_start(start_gateway):
    first = start_gateway()
    with pytest.raises(RuntimeError, match="jobgate exited"):
        start_gateway("--listen", f"127.0.0.1:{first.port}")
    assert first.connect().fileno() >= 0
