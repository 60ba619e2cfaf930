"""Operating surface and resilience, against the real binary and the sandbox."""
import http.client
import json
import pathlib
import shutil
import signal
import time

from test_vendors import patch, vendor_calls, gw  # noqa: F401  (gw is a fixture)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def get(gateway, path, headers=None):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read()


def test_metrics_vendors_openapi(gw):
    assert patch(gw, "lilt:241", {"name": "x"})[0] == 200
    status, headers, body = get(gw, "/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert 'jobgate_requests_total{vendor="lilt",account="default",status="200"} 1' in text
    assert 'jobgate_upstream_duration_seconds_count{vendor="lilt",account="default"} 1' in text
    assert "jobgate_build_info{" in text and "mapping_hash=" in text
    status, _, body = get(gw, "/vendors")
    vendors = {v["id"]: v for v in json.loads(body)["vendors"]}
    assert vendors["lilt"]["fields"] == ["name", "dueAt"] and vendors["lilt"]["configured"] is True
    assert "DECK_SECRET" not in body.decode() and gw_secret_free(body)
    status, _, body = get(gw, "/openapi.json")
    document = json.loads(body)
    assert document["openapi"].startswith("3.1") and "/jobs/{id}" in document["paths"]


def gw_secret_free(body):
    return b"sandbox-" not in body


def test_access_log_line_per_request(sandbox, start_gateway):
    sandbox.reset()
    gateway = start_gateway(env=sandbox.env)
    patch(gateway, "lilt:241", {"name": "x"}, headers={"X-Request-Id": "log-me-1"})
    get(gateway, "/healthz")
    gateway.stop()
    lines = [line for line in gateway.lines if line.get("event") == "request"]
    job = next(line for line in lines if line.get("requestId") == "log-me-1")
    assert job["vendor"] == "lilt" and job["status"] == 200 and job["route"] == "/jobs/{id}"
    assert job["upstreamStatuses"] == ["200"] and job["totalMs"] >= job["upstreamMs"] >= 0
    assert any(line["route"] == "/healthz" for line in lines)


def test_put_retried_on_503_with_attempts_listed(gw, sandbox):
    sandbox.fault("lilt", method="PUT", times=2, status=503, body='{"message":"busy"}')
    status, _, job = patch(gw, "lilt:241", {"name": "x"})
    assert status == 200, job
    assert len([c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]) == 3
    sandbox.fault("lilt", method="PUT", times=5, status=503, body='{"message":"busy"}')
    status, _, problem = patch(gw, "lilt:241", {"name": "x"})
    assert status == 502 and [a["status"] for a in problem["attempts"]] == [503, 503, 503]


def test_patch_and_400_never_retried(gw, sandbox):
    sandbox.fault("bigchange", method="PATCH", times=1, status=503, body="{}")
    status, _, problem = patch(gw, "bigchange:1001", {"description": "x"})
    assert status == 502 and "attempts" not in problem
    assert len([c for c in vendor_calls(sandbox, "bigchange") if c["method"] == "PATCH"]) == 1
    sandbox.fault("lilt", method="PUT", times=1, status=400, body='{"message":"name is bad"}')
    status, _, problem = patch(gw, "lilt:241", {"name": "x"})
    assert status == 422
    assert len([c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]) == 1


def test_request_timeout_shorter_than_retry_after_answers_at_once(gw, sandbox):
    sandbox.fault("lilt", method="PUT", times=1, status=429, headers={"Retry-After": "5"}, body='{"message":"slow down"}')
    started = time.time()
    status, headers, problem = patch(gw, "lilt:241", {"name": "x"}, headers={"Request-Timeout": "2"})
    assert time.time() - started < 1.5, "must not sleep past the caller's deadline"
    assert status == 429 and int(headers["retry-after"]) >= 1


def test_write_that_timed_out_is_not_retried_and_outcome_unknown(sandbox, start_gateway):
    sandbox.reset()
    gateway = start_gateway("--upstream-timeout", "1", env=sandbox.env)
    sandbox.fault("lilt", method="PUT", times=1, action="stall")
    status, _, problem = patch(gateway, "lilt:241", {"name": "x"})
    assert status == 504 and problem["outcome"] == "unknown"
    assert len([c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]) == 1


def mappings_with(tmp_path, vendor, **changes):
    """A copy of Mappings/ whose `vendor` file has `changes` merged into its top level."""
    folder = tmp_path / "Mappings"
    shutil.copytree(ROOT / "Mappings", folder)
    mapping = json.loads((folder / f"{vendor}.json").read_text())
    mapping.update(changes)
    (folder / f"{vendor}.json").write_text(json.dumps(mapping))
    return folder


def gateway_with_open_lilt_circuit(sandbox, start_gateway, tmp_path):
    """A gateway whose LILT circuit (2 failures, open for 1 s) two failed updates have just opened."""
    folder = mappings_with(tmp_path, "lilt", retry={"attempts": 1}, circuitBreaker={"failures": 2, "openSeconds": 1})
    sandbox.reset()
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    sandbox.fault("lilt", method="PUT", times=2, status=500, body="{}")
    assert [patch(gateway, "lilt:241", {"name": "x"})[0] for _ in range(2)] == [502, 502]
    return gateway


def test_circuit_breaker_opens_and_recovers(sandbox, start_gateway, tmp_path):
    gateway = gateway_with_open_lilt_circuit(sandbox, start_gateway, tmp_path)
    status, headers, problem = patch(gateway, "lilt:241", {"name": "x"})
    assert status == 503 and int(headers["retry-after"]) >= 1
    assert len([c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]) == 2, "open circuit: no call"
    time.sleep(1.2)
    assert patch(gateway, "lilt:241", {"name": "x"})[0] == 200, "half-open probe succeeds and closes it"
    assert patch(gateway, "lilt:241", {"name": "x"})[0] == 200


def test_circuit_recovers_when_the_half_open_probe_is_cancelled(sandbox, start_gateway, tmp_path):
    # Regression: the probe's caller hung up before the vendor answered, so it never reported; the circuit
    # stayed half-open and every later request got 503 until a reload. The probe now holds a lease it releases.
    gateway = gateway_with_open_lilt_circuit(sandbox, start_gateway, tmp_path)
    time.sleep(1.2)
    sandbox.fault("lilt", method="PUT", times=1, status=200, body="{}", delayMs=3000)
    sock = gateway.connect()
    body = json.dumps({"name": "slow probe"}).encode()
    sock.sendall(b"PATCH /jobs/lilt:241 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    time.sleep(0.3)
    sock.close()
    time.sleep(0.2)
    assert patch(gateway, "lilt:241", {"name": "x"})[0] == 200, "a new probe goes through and closes the circuit"
    assert patch(gateway, "lilt:241", {"name": "y"})[0] == 200


def test_sighup_reload_changes_hash_and_bad_set_keeps_old(sandbox, start_gateway, tmp_path):
    folder = tmp_path / "Mappings"
    shutil.copytree(ROOT / "Mappings", folder)
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    first = json.loads(get(gateway, "/readyz")[2])["mappingHash"]
    lilt = json.loads((folder / "lilt.json").read_text())
    lilt["timeoutSeconds"] = 7
    (folder / "lilt.json").write_text(json.dumps(lilt))
    gateway.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and json.loads(get(gateway, "/readyz")[2])["mappingHash"] == first:
        time.sleep(0.05)
    second = json.loads(get(gateway, "/readyz")[2])["mappingHash"]
    assert second != first
    assert f'mapping_hash="{second}"' in get(gateway, "/metrics")[2].decode()
    (folder / "lilt.json").write_text("{ broken")
    gateway.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert json.loads(get(gateway, "/readyz")[2])["mappingHash"] == second
    assert patch(gateway, "lilt:241", {"name": "still serving"})[0] == 200
    gateway.stop()
    assert any(line.get("event") == "reload_rejected" for line in gateway.lines)


def test_inbound_auth(sandbox, start_gateway):
    gateway = start_gateway(env=dict(sandbox.env, JOBGATE_AUTH_TOKENS="token-one, token-two"))
    status, headers, problem = patch(gateway, "lilt:241", {"name": "x"})
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    assert patch(gateway, "lilt:241", {"name": "x"}, headers={"Authorization": "Bearer wrong"})[0] == 401
    assert patch(gateway, "lilt:241", {"name": "x"}, headers={"Authorization": "Bearer token-two"})[0] == 200


def test_check_command(tmp_path):
    import subprocess
    from conftest import binary_path
    ok = subprocess.run([binary_path(), "check", str(ROOT / "Mappings")], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "5 vendors valid" in ok.stdout
    (tmp_path / "bad.json").write_text('{"baseUrl":"${NOPE}","calls":[]}')
    bad = subprocess.run([binary_path(), "check", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0
    assert "bad.json at /baseUrl" in bad.stdout and "NOPE" in bad.stdout and "bad.json at /calls" in bad.stdout


def test_request_id_and_trace_context_go_upstream_with_a_new_span(gw, sandbox):
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    status, headers, _ = patch(gw, "lilt:241", {"name": "x"}, headers={
        "X-Request-Id": "trace-me-1", "traceparent": parent, "tracestate": "vendor=abc",
        "Authorization": "Bearer caller-secret", "Cookie": "session=caller"})
    assert status == 200 and headers["x-request-id"] == "trace-me-1"
    sent = [c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"][-1]["headers"]
    assert sent["x-request-id"] == "trace-me-1"
    version, trace_id, span_id, flags = sent["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id != "00f067aa0ba902b7" and len(span_id) == 16 and span_id != "0" * 16
    assert sent["tracestate"] == "vendor=abc"
    assert "caller-secret" not in json.dumps(sent) and "cookie" not in sent, "caller credentials never go upstream"
    status, _, _ = patch(gw, "lilt:241", {"name": "x"}, headers={"traceparent": "00-zz-bad"})
    assert status == 200
    assert "traceparent" not in [c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"][-1]["headers"]


def test_idempotency_key_forwarded_only_where_the_vendor_has_one(sandbox, start_gateway, tmp_path):
    sandbox.reset()
    plain = start_gateway(env=sandbox.env)
    assert patch(plain, "lilt:241", {"name": "x"}, headers={"Idempotency-Key": "k-1"})[0] == 200
    assert "idempotency-key" not in vendor_calls(sandbox, "lilt")[-1]["headers"]
    plain.stop()
    sandbox.reset()
    gateway = start_gateway("--mappings", str(mappings_with(tmp_path, "lilt", idempotencyKeyHeader="X-Idempotency-Key")),
                            env=sandbox.env)
    assert patch(gateway, "lilt:241", {"name": "x"}, headers={"Idempotency-Key": "k-2"})[0] == 200
    assert vendor_calls(sandbox, "lilt")[-1]["headers"]["x-idempotency-key"] == "k-2"


def test_concurrency_limit_sheds_at_once(sandbox, start_gateway, tmp_path):
    import threading
    sandbox.reset()
    folder = mappings_with(tmp_path, "lilt", maxConcurrent=1, retry={"attempts": 1})
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    sandbox.fault("lilt", method="PUT", times=1, status=503, body="{}", delayMs=1500)
    first = []
    slow = threading.Thread(target=lambda: first.append(patch(gateway, "lilt:241", {"name": "slow"})))
    slow.start()
    deadline = time.time() + 5
    while time.time() < deadline and not [c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]:
        time.sleep(0.02)
    started = time.time()
    status, headers, problem = patch(gateway, "lilt:241", {"name": "shed"})
    assert time.time() - started < 1, "shed at once, never queued"
    assert status == 503 and headers["retry-after"] == "1" and problem["vendor"] == "lilt"
    slow.join(10)
    assert first[0][0] == 502
    assert patch(gateway, "lilt:241", {"name": "after"})[0] == 200, "the slot is given back"
    assert len([c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]) == 2


def test_reload_under_load_never_fails_a_request(sandbox, start_gateway, tmp_path):
    import threading
    sandbox.reset()
    folder = mappings_with(tmp_path, "lilt")
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    original = (folder / "lilt.json").read_text()
    statuses, stop = [], threading.Event()

    def load():
        conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=15)
        while not stop.is_set():
            conn.request("PATCH", "/jobs/lilt:241", body='{"name":"under load"}', headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            time.sleep(0.01)  # stay under LILT's 4000/min quota (gateway and simulator): this test is about reloads

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    hashes = set()
    for round in range(6):
        changed = json.loads(original)
        changed["timeoutSeconds"] = 5 + round
        text = "{ not json" if round == 3 else json.dumps(changed)
        (folder / "lilt.json").write_text(text)
        gateway.signal(signal.SIGHUP)
        time.sleep(0.4)
        hashes.add(json.loads(get(gateway, "/readyz")[2])["mappingHash"])
    stop.set()
    for worker in workers:
        worker.join(15)
    assert len(statuses) > 50 and set(statuses) == {200}, sorted(set(statuses))
    assert len(hashes) == 5, "five good sets loaded, the broken one rejected"
    metrics = get(gateway, "/metrics")[2].decode()
    assert 'jobgate_reloads_total{result="ok"} 5' in metrics and 'jobgate_reloads_total{result="rejected"} 1' in metrics


def test_unread_stdout_never_blocks_requests(start_gateway):
    """Nobody reads the gateway's stdout here: once the pipe is full, log lines queue (then drop), requests go on."""
    gateway = start_gateway()
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    for _ in range(3000):  # ~250 bytes of access log each: far beyond a 64 KiB pipe
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    conn.request("GET", "/metrics")
    metrics = conn.getresponse().read().decode()
    assert "jobgate_log_lines_dropped_total 0" in metrics, "a 4 MiB backlog holds these lines"
    gateway.stop()
    assert sum(1 for line in gateway.lines if line.get("route") == "/healthz") == 3000, "flushed at exit"


def test_request_timeout_takes_plain_decimal_seconds_only(gw, sandbox):
    for bad in ("0x10", "1e1", "inf", "nan", "-1", "0", ".5", "5.", "3601", "1,5"):
        status, _, problem = patch(gw, "lilt:241", {"name": "x"}, headers={"Request-Timeout": bad})
        assert status == 400 and "Request-Timeout" in problem["detail"], bad
    assert not [c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"], "refused before any call"
    for good in ("5", "0.5", "3600"):
        assert patch(gw, "lilt:241", {"name": "x"}, headers={"Request-Timeout": good})[0] == 200, good
