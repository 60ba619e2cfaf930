"""A vendor reached over HTTP/2 (`"http2": true`) gets each call's own path and query, byte for byte, on one
connection: Tests/fixtures/h2_server.py (hyper-h2, over TLS with a throwaway certificate) logs what it was asked."""
import http.client
import json
import pathlib
import subprocess
import sys

import pytest

from conftest import certificate

SERVER = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "h2_server.py"


@pytest.fixture
def http2_vendor(tmp_path):
    cert, key = certificate(tmp_path, "h2-vendor", "IP:127.0.0.1")
    log = tmp_path / "calls.jsonl"
    process = subprocess.Popen([sys.executable, str(SERVER), cert, key, str(log)], stdout=subprocess.PIPE)
    port = int(process.stdout.readline())
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "h2.json").write_text(json.dumps({
        "baseUrl": f"https://127.0.0.1:{port}/base", "auth": {"scheme": "none"},
        "caFile": cert, "http2": True,
        "fields": {"name": {"to": "/name"}},
        "calls": [{"name": "update", "method": "PUT", "path": "/api/jobs/{id}?expand=all"}],
        "response": {"job": "", "id": "/id"}}))
    yield mappings, log
    process.terminate()
    process.wait(timeout=10)


def test_http2_calls_send_their_own_targets_on_one_connection(start_gateway, http2_vendor):
    mappings, log = http2_vendor
    gateway = start_gateway("--mappings", str(mappings))
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=20)
    ids = ["job-1", "a.b", "job~2", "job-1"]
    for job_id in ids:
        conn.request("PATCH", f"/jobs/h2:{job_id}", body=b'{"name":"Over HTTP/2"}',
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 200, body
        assert body["name"] == "Over HTTP/2"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(call["method"], call["path"]) for call in calls] == \
        [("PUT", f"/base/api/jobs/{job_id}?expand=all") for job_id in ids]
    assert len({call["connection"] for call in calls}) == 1, "the calls did not share one connection"
