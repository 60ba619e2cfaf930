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
    assert 'jobgate_requests_total{vendor="lilt",status="200"} 1' in text
    assert 'jobgate_upstream_duration_seconds_count{vendor="lilt"} 1' in text
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


def test_circuit_breaker_opens_and_recovers(sandbox, start_gateway, tmp_path):
    folder = tmp_path / "Mappings"
    shutil.copytree(ROOT / "Mappings", folder)
    lilt = json.loads((folder / "lilt.json").read_text())
    lilt["retry"] = {"attempts": 1}
    lilt["circuitBreaker"] = {"failures": 2, "openSeconds": 1}
    (folder / "lilt.json").write_text(json.dumps(lilt))
    sandbox.reset()
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    sandbox.fault("lilt", method="PUT", times=2, status=500, body="{}")
    assert [patch(gateway, "lilt:241", {"name": "x"})[0] for _ in range(2)] == [502, 502]
    status, headers, problem = patch(gateway, "lilt:241", {"name": "x"})
    assert status == 503 and int(headers["retry-after"]) >= 1
    assert len([c for c in vendor_calls(sandbox, "lilt") if c["method"] == "PUT"]) == 2, "open circuit: no call"
    time.sleep(1.2)
    assert patch(gateway, "lilt:241", {"name": "x"})[0] == 200, "half-open probe succeeds and closes it"
    assert patch(gateway, "lilt:241", {"name": "x"})[0] == 200


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
