"""Upstream faults end to end: caller → gateway binary → a vendor that misbehaves (HARDENING.md "Upstream faults").

Each case checks the status of CONTRACT.md §4, that the answer is a complete problem+json the OpenAPI document
allows (no partial upstream JSON, no upstream fragments), how many calls the vendor saw (no retry of a write that
may have landed), and that the gateway stays healthy afterwards (a normal update succeeds, /healthz is 200).

Faults the sandbox can inject (POST /__sandbox/faults) use it; the others (stalls, trickles, TCP resets, garbage,
keep-alive closes, TLS) use the small upstream in Tests/fixtures/bad_upstream.py standing in for LILT.
"""
import email.utils
import http.client
import json
import shutil
import socket
import sys
import time

import pytest

from conftest import ROOT, assert_conforms, certificate

sys.path.insert(0, str(ROOT / "Tests" / "fixtures"))
from bad_upstream import BadUpstream  # noqa: E402

# These gateways run with a short upstream timeout so that stalls cost about a second. The shipped mapping files
# set their own `timeoutSeconds` (which beats --upstream-timeout), so the tests use copies without it.
UPSTREAM_TIMEOUT = 1.5
LILT_JOB = "lilt:241"


@pytest.fixture(scope="module")
def mappings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults") / "Mappings"
    shutil.copytree(ROOT / "Mappings", folder)
    for path in folder.glob("*.json"):
        mapping = json.loads(path.read_text())
        mapping.pop("timeoutSeconds", None)
        path.write_text(json.dumps(mapping))
    return folder


@pytest.fixture
def start(sandbox, start_gateway, mappings):
    """Starts a gateway against the sandbox, with environment overrides (e.g. LILT_BASE_URL) and extra flags."""
    def run(*args, mapping_folder=None, **env):
        sandbox.reset()
        return start_gateway("--mappings", str(mapping_folder or mappings), "--upstream-timeout", str(UPSTREAM_TIMEOUT),
                             *args, env=dict(sandbox.env, **env))
    return run


@pytest.fixture
def bad():
    servers = []

    def make(mode="ok", tls=None):
        server = BadUpstream(mode, tls)
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.close()


class Answer:
    def __init__(self, status, headers, raw, seconds):
        self.status, self.headers, self.raw, self.seconds = status, headers, raw, seconds
        self.json = json.loads(raw) if raw else None


def update(gateway, job=LILT_JOB, body=None, headers=None):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=30)
    started = time.monotonic()
    conn.request("PATCH", "/jobs/" + job, body=json.dumps(body or {"name": "Docs v2"}),
                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, raw, time.monotonic() - started)


def assert_problem(answer, status, vendor="lilt", fragments=(), error=None):
    """A complete, bounded problem+json of `status` for `vendor`, conforming to /openapi.json, with none of the
    upstream's bytes (`fragments`) and no credential in it."""
    assert answer.status == status, answer.raw[:500]
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["content-length"]) == len(answer.raw)
    problem = answer.json  # the whole body parses: nothing partial was streamed through
    assert_conforms(answer.status, answer.headers["content-type"], problem)
    assert problem["status"] == status and problem["vendor"] == vendor
    assert problem["requestId"] == answer.headers["x-request-id"]
    assert problem["instance"].startswith("/jobs/")
    assert len(answer.raw) < 4096, "an upstream body must never be relayed unbounded"
    for fragment in fragments:
        assert fragment not in answer.raw, fragment
    for secret in (b"sandbox-lilt-key", b"Basic ", b"sandbox-bigchange-secret"):
        assert secret not in answer.raw
    if error:
        assert problem["upstream"]["error"] == error, problem
    return problem


def assert_healthy(gateway, job=LILT_JOB, body=None):
    """The gateway still serves: /healthz, and a normal update through the same vendor."""
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}
    answer = update(gateway, job, body)
    assert answer.status == 200, answer.raw[:500]
    assert_conforms(200, answer.headers["content-type"], answer.json)
    return answer


def vendor_calls(sandbox, vendor, method=None):
    return [r for r in sandbox.requests(vendor)
            if not r["target"].startswith("/__sandbox") and (method is None or r["method"] == method)]


# ------------------------------------------------------------------ broken bodies (sandbox)

def test_reset_mid_body_is_502_never_partial_json(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", action="reset")  # head + `{"partial":` of a promised 1000 bytes, then close
    problem = assert_problem(update(gateway), 502, fragments=[b"partial"], error="reset")
    assert problem["outcome"] == "unknown", "the PUT was sent: it may have landed"
    assert len(vendor_calls(sandbox, "lilt", "PUT")) == 1, "a write that may have landed is not repeated"
    assert_healthy(gateway)


def test_invalid_json_with_200_is_502(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", action="invalid-json")
    assert_problem(update(gateway), 502, fragments=[b"not json"])
    assert_healthy(gateway)


def test_ten_mib_body_is_502_and_cut_short(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", action="big-body")
    answer = update(gateway)
    assert_problem(answer, 502, fragments=[b"xxxxxxxx"], error="body-too-large")
    assert answer.seconds < UPSTREAM_TIMEOUT, "the cap stops the transfer; it does not wait for a timeout"
    assert_healthy(gateway)


def test_ten_mib_chunked_body_is_502(start, bad):
    # libcurl's CURLOPT_MAXFILESIZE does not stop a chunked body: the cap must hold in the write callback.
    upstream = bad("big-chunked")
    gateway = start(LILT_BASE_URL=upstream.base_url)
    answer = update(gateway)
    assert_problem(answer, 502, fragments=[b"xxxxxxxx"], error="body-too-large")
    assert answer.seconds < UPSTREAM_TIMEOUT
    upstream.mode = "ok"
    assert_healthy(gateway)


def test_upstream_401_is_502_without_its_challenge(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", status=401, headers={"WWW-Authenticate": 'Basic realm="lilt"'},
                  body='{"message":"bad key sandbox-lilt-key-2b8f"}')
    answer = update(gateway)
    problem = assert_problem(answer, 502)
    assert problem["type"].endswith("/upstream-auth") and problem["upstreamStatus"] == 401
    assert "www-authenticate" not in answer.headers, "the vendor's challenge is not the caller's"
    assert_healthy(gateway)


def test_empty_reply_to_a_write_is_502_and_not_resent(start, sandbox):
    # One loop, so the warm-up below leaves a pooled connection the faulty call reuses: libcurl silently
    # re-sends a request whose reused connection closed without an answer, which for BigChange's
    # non-idempotent PATCH would be a second write; the gateway stops that repeat.
    gateway = start("--threads", "1")
    body = {"description": "first"}
    assert update(gateway, "bigchange:1001", body).status == 200
    sandbox.control("bigchange", "DELETE", "/__sandbox/requests")
    sandbox.fault("bigchange", method="PATCH", action="close", times=2)
    problem = assert_problem(update(gateway, "bigchange:1001", {"description": "second"}), 502, vendor="bigchange",
                             error="closed-before-answer")
    assert problem["outcome"] == "unknown" and problem["applied"] == [] and problem["failed"] == "update"
    assert len(vendor_calls(sandbox, "bigchange", "PATCH")) == 1, "the PATCH was sent twice"
    sandbox.control("bigchange", "DELETE", "/__sandbox/faults")
    assert_healthy(gateway, "bigchange:1001", {"description": "third"})


# ------------------------------------------------------------------ statuses (sandbox)

def test_429_retry_after_delta_passes_through(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", status=429, headers={"Retry-After": "120"}, body='{"message":"slow down"}', times=3)
    answer = update(gateway)
    problem = assert_problem(answer, 429)
    assert answer.headers["retry-after"] == "120"
    assert problem["upstreamStatus"] == 429
    assert answer.seconds < 1, "a wait longer than the call's timeout is not slept through"
    assert len(vendor_calls(sandbox, "lilt", "PUT")) == 1
    sandbox.control("lilt", "DELETE", "/__sandbox/faults")
    assert_healthy(gateway)


@pytest.mark.parametrize("ahead, expected", [(90, range(85, 91)), (7200, range(3600, 3601))])
def test_429_retry_after_http_date_becomes_clamped_seconds(start, sandbox, ahead, expected):
    gateway = start()
    when = email.utils.formatdate(time.time() + ahead, usegmt=True)
    sandbox.fault("lilt", method="PUT", status=429, headers={"Retry-After": when}, body="{}", times=3)
    answer = update(gateway)
    assert_problem(answer, 429)
    assert int(answer.headers["retry-after"]) in expected, (when, answer.headers["retry-after"])
    assert len(vendor_calls(sandbox, "lilt", "PUT")) == 1
    sandbox.control("lilt", "DELETE", "/__sandbox/faults")
    assert_healthy(gateway)


def test_429_waits_bounded_by_the_call_timeout(start, sandbox):
    # Retry-After 1 fits the 1.5 s budget once; the whole call, waits included, stays within it.
    gateway = start()
    sandbox.fault("lilt", method="PUT", status=429, headers={"Retry-After": "1"}, body="{}", times=5)
    answer = update(gateway)
    assert_problem(answer, 429)
    assert [a["status"] for a in answer.json["attempts"]] == [429, 429]
    assert answer.seconds < UPSTREAM_TIMEOUT + 0.5
    sandbox.control("lilt", "DELETE", "/__sandbox/faults")
    assert_healthy(gateway)


@pytest.mark.parametrize("status, calls", [(500, 1), (502, 3), (504, 3)])
def test_upstream_5xx_is_502(start, sandbox, status, calls):
    gateway = start()
    sandbox.fault("lilt", method="PUT", status=status, body='{"message":"internal trace at db.go:42"}', times=calls)
    problem = assert_problem(update(gateway), 502)
    assert problem["upstreamStatus"] == status
    assert len(vendor_calls(sandbox, "lilt", "PUT")) == calls, "502/504 on an idempotent PUT are retried, 500 is not"
    if calls > 1:
        assert [a["status"] for a in problem["attempts"]] == [status] * calls
    assert_healthy(gateway)


def test_upstream_503_with_retry_after_is_503(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", status=503, headers={"Retry-After": "120"}, body="{}")
    answer = update(gateway)
    assert_problem(answer, 503)
    assert answer.headers["retry-after"] == "120"
    assert_healthy(gateway)


def test_upstream_503_without_retry_after_is_502(start, sandbox):
    gateway = start()
    sandbox.fault("lilt", method="PUT", status=503, body="{}", times=3)
    answer = update(gateway)
    assert_problem(answer, 502)
    assert "retry-after" not in answer.headers
    assert_healthy(gateway)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_502_and_not_followed(start, sandbox, status):
    gateway = start()
    elsewhere = sandbox.root("shopplanr") + "/api/jobs/job_V1StGXR8Z5jd"
    sandbox.fault("lilt", method="PUT", status=status, headers={"Location": elsewhere}, body="{}")
    answer = update(gateway)
    problem = assert_problem(answer, 502, fragments=[elsewhere.encode()])
    assert problem["upstreamStatus"] == status
    assert "location" not in answer.headers
    assert vendor_calls(sandbox, "shopplanr") == [], "the redirect was followed"
    assert_healthy(gateway)


def test_connection_refused_is_502(start):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    gateway = start(LILT_BASE_URL="http://127.0.0.1:%d" % port)
    answer = update(gateway)
    problem = assert_problem(answer, 502, error="connect")
    assert "outcome" not in problem, "nothing was sent"
    assert answer.seconds < 1
    assert_healthy(gateway, "shopplanr:job_V1StGXR8Z5jd", {"name": "still fine"})


# ------------------------------------------------------------------ transport faults (bad_upstream.py)

@pytest.mark.parametrize("mode", ["stall-headers", "trickle"])
def test_stall_after_headers_is_504(start, bad, mode):
    upstream = bad(mode)
    gateway = start(LILT_BASE_URL=upstream.base_url)
    answer = update(gateway)
    problem = assert_problem(answer, 504, error="timeout")
    assert problem["outcome"] == "unknown"
    assert UPSTREAM_TIMEOUT - 0.1 < answer.seconds < UPSTREAM_TIMEOUT + 1.5
    assert upstream.requests == 1, "a write that timed out is not retried"
    upstream.mode = "ok"
    assert_healthy(gateway)


def test_caller_leaving_cancels_the_vendor_call(start, bad):
    """A caller that hangs up mid-request frees its vendor call at once, not at the upstream timeout."""
    upstream = bad("stall-headers")
    gateway = start(LILT_BASE_URL=upstream.base_url)
    body = json.dumps({"name": "Docs v2"}).encode()
    caller = socket.create_connection((gateway.host, gateway.port))
    caller.sendall(b"PATCH /jobs/" + LILT_JOB.encode() + b" HTTP/1.1\r\nHost: jobgate\r\n"
                   b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    deadline = time.monotonic() + 5
    while upstream.requests < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream.requests == 1 and upstream.open_connections == 1
    caller.close()
    closed_at = time.monotonic()
    while upstream.open_connections and time.monotonic() - closed_at < UPSTREAM_TIMEOUT + 1:
        time.sleep(0.01)
    assert upstream.open_connections == 0, "the vendor call outlived its caller"
    assert time.monotonic() - closed_at < UPSTREAM_TIMEOUT / 2, "cancelled only by the upstream timeout"
    upstream.mode = "ok"
    assert_healthy(gateway)


def test_tcp_reset_mid_body_is_502(start, bad):
    upstream = bad("rst-mid-body")
    gateway = start(LILT_BASE_URL=upstream.base_url)
    problem = assert_problem(update(gateway), 502, fragments=[b"par"], error="reset")
    assert problem["outcome"] == "unknown"
    assert upstream.requests == 1
    upstream.mode = "ok"
    assert_healthy(gateway)


GARBAGE = {
    "not-http": b"THIS IS NOT HTTP\r\n\r\n",
    "bad-status-code": b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
    "bad-version": b"HTTP/9.9 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "binary": bytes(range(256)) * 4,
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbled_http_is_502(start, bad, name):
    upstream = bad("garbled")
    upstream.garbage = GARBAGE[name]
    gateway = start(LILT_BASE_URL=upstream.base_url)
    problem = assert_problem(update(gateway), 502, fragments=[b"NOT HTTP", b"2x0", b"zz"])
    assert problem["upstream"]["error"] in ("malformed-response", "reset"), problem
    upstream.mode = "ok"
    assert_healthy(gateway)


def test_keep_alive_closed_between_requests(start, bad):
    # The vendor drops every connection right after answering, without `Connection: close`: each next call
    # finds its pooled connection dead. Every update must still succeed, on a new connection each.
    upstream = bad("keepalive-close")
    gateway = start("--threads", "1", LILT_BASE_URL=upstream.base_url)
    statuses = []
    for index in range(12):
        statuses.append(update(gateway, body={"name": "v%d" % index}).status)
        time.sleep(0.05 if index % 2 else 0)
    assert statuses == [200] * 12
    assert upstream.requests == 12, "each update reached the vendor exactly once"
    assert upstream.connections == 12
    assert_healthy(gateway)


# ------------------------------------------------------------------ TLS

def lilt_changed(folder, change):
    """A copy of the test mappings (without `timeoutSeconds`) in which `change` has edited LILT's."""
    copy = folder / "Mappings"
    shutil.copytree(ROOT / "Mappings", copy)
    for path in copy.glob("*.json"):
        mapping = json.loads(path.read_text())
        mapping.pop("timeoutSeconds", None)
        if path.stem == "lilt":
            change(mapping)
        path.write_text(json.dumps(mapping))
    return copy


def lilt_trusting(folder, ca_file):
    """The test mappings with LILT trusting `ca_file` (the positive control for the TLS cases)."""
    return lilt_changed(folder, lambda mapping: mapping.update(caFile=ca_file))


def test_self_signed_certificate_is_refused_with_502(start, bad, tmp_path):
    tls = certificate(tmp_path, "self-signed", "IP:127.0.0.1")
    upstream = bad("ok", tls=tls)
    gateway = start(LILT_BASE_URL=upstream.base_url)
    answer = update(gateway)
    problem = assert_problem(answer, 502, error="tls")
    assert "outcome" not in problem
    assert upstream.requests == 0, "the request must never be sent"
    deadline = time.monotonic() + 3  # the server notices the aborted handshake on its own thread
    while upstream.handshake_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.handshake_failures >= 1
    assert_healthy(gateway, "shopplanr:job_V1StGXR8Z5jd", {"name": "still fine"})
    # Control: the same server is fine once its certificate is trusted, so the refusal above was the certificate.
    trusted = start(mapping_folder=lilt_trusting(tmp_path, tls[0]), LILT_BASE_URL=upstream.base_url)
    assert update(trusted).status == 200 and upstream.requests == 1


def test_certificate_for_another_host_is_refused_with_502(start, bad, tmp_path):
    tls = certificate(tmp_path, "vendor.example", "DNS:vendor.example")
    upstream = bad("ok", tls=tls)
    gateway = start(mapping_folder=lilt_trusting(tmp_path, tls[0]), LILT_BASE_URL=upstream.base_url)
    assert_problem(update(gateway), 502, error="tls")
    assert upstream.requests == 0
    assert_healthy(gateway, "shopplanr:job_V1StGXR8Z5jd", {"name": "still fine"})


def test_plain_http_to_a_tls_port_is_502(start, bad, tmp_path):
    upstream = bad("ok", tls=certificate(tmp_path, "tls-only", "IP:127.0.0.1"))
    gateway = start(LILT_BASE_URL=upstream.base_url.replace("https://", "http://"))
    problem = assert_problem(update(gateway), 502)
    assert problem["upstream"]["error"] in ("reset", "malformed-response")
    assert upstream.requests == 0
    assert_healthy(gateway, "shopplanr:job_V1StGXR8Z5jd", {"name": "still fine"})
