"""The standard proxy variables reach the vendor calls: the gateway reads them once at start (so libcurl does not
scan the environment on every call) with libcurl's own meaning."""
import http.client
import http.server
import json
import threading

import pytest

JOB = {"id": "job-1", "name": "Through the proxy"}


class RecordingProxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy stand-in: records the request line (absolute-form through a proxy) and answers the job."""
    seen = []

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(self.requestline)
        data = json.dumps(JOB).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy():
    RecordingProxy.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def mappings(tmp_path):
    # A host only the proxy can reach: `.invalid` never resolves (RFC 2606).
    (tmp_path / "far.json").write_text(json.dumps({
        "baseUrl": "http://vendor.invalid:8080", "auth": {"scheme": "none"},
        "fields": {"name": {"to": "/name"}},
        "calls": [{"name": "update", "method": "PUT", "path": "/jobs/{id}"}],
        "response": {"job": "", "id": "/id"}}))
    return tmp_path


def patch(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=20)
    conn.request("PATCH", "/jobs/far:job-1", body=b'{"name":"Through the proxy"}',
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_http_proxy_variable_carries_vendor_calls(start_gateway, proxy, mappings):
    port = proxy.server_address[1]
    gateway = start_gateway("--mappings", str(mappings), env={"http_proxy": f"http://127.0.0.1:{port}"})
    status, body = patch(gateway)
    assert status == 200, body
    assert body["name"] == "Through the proxy"
    assert RecordingProxy.seen == ["PUT http://vendor.invalid:8080/jobs/job-1 HTTP/1.1"]
    status, _ = patch(gateway)
    assert status == 200 and len(RecordingProxy.seen) == 2


def test_no_proxy_variable_sends_the_host_direct(start_gateway, proxy, mappings):
    port = proxy.server_address[1]
    gateway = start_gateway("--mappings", str(mappings),
                            env={"ALL_PROXY": f"http://127.0.0.1:{port}", "NO_PROXY": "vendor.invalid"})
    status, body = patch(gateway)
    assert status in (502, 503, 504), body  # direct: the name does not resolve
    assert RecordingProxy.seen == []
