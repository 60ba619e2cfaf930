"""The gateway against Shop Planr's own server code (its routes, auth, rate limits, zod schemas, SQLite), run
with node: the vendor is the judge, not our reading of its docs. Found through JOBGATE_SHOPPLANR_SERVER."""
import http.client
import json
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, assert_conforms
from external_inputs import require

PIN = "2468"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ShopPlanr:
    """One real Shop Planr server on a temp SQLite database, with its admin's PIN set."""

    def __init__(self, folder):
        if shutil.which("node") is None:
            pytest.fail("node is needed to run Shop Planr's server (scripts/install-deps test installs it)")
        self.data = tempfile.mkdtemp(prefix="shopplanr-")
        self.port = free_port()
        self.log = open(pathlib.Path(self.data) / "server.log", "wb")
        self.process = subprocess.Popen(
            ["node", "server.mjs"], cwd=folder, stdout=self.log, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "NUXT_DB_PATH": self.data + "/shop.db",
                 "NITRO_HOST": "127.0.0.1", "NITRO_PORT": str(self.port)})
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.call("GET", "/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise TimeoutError("Shop Planr did not start: " + open(self.log.name).read())
        admin = self.call("GET", "/api/users")[1][0]
        status, _ = self.call("POST", "/api/auth/setup-pin", {"userId": admin["id"], "pin": PIN})
        assert status == 200
        status, answer = self.call("POST", "/api/auth/login", {"username": "admin", "pin": PIN})
        assert status == 200
        self.token = answer["token"]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/api"

    def call(self, method, path, body=None, token=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def job(self, job_id):
        """Read straight from Shop Planr, not through the gateway."""
        status, job = self.call("GET", "/api/jobs/" + job_id, token=self.token)
        assert status == 200, job
        return job

    def create_job(self, name="Housings", goal=50):
        status, job = self.call("POST", "/api/jobs", {"name": name, "goalQuantity": goal}, token=self.token)
        assert status == 200, job
        return job

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture(scope="module")
def shop():
    server = ShopPlanr(require("JOBGATE_SHOPPLANR_SERVER"))
    yield server
    server.stop()


def environment(shop, **overrides):
    env = {"SHOPPLANR_BASE_URL": shop.base_url, "SHOPPLANR_USERNAME": "admin", "SHOPPLANR_PIN": PIN}
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def gw(shop):
    from conftest import Gateway
    gateway = Gateway(env=environment(shop))
    yield gateway
    gateway.stop()


def patch(gateway, job_id, body, raw=None):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=15)
    conn.request("PATCH", "/jobs/shopplanr:" + job_id, body=raw if raw is not None else json.dumps(body),
                 headers={"Content-Type": "application/merge-patch+json"})
    response = conn.getresponse()
    data = response.read()
    payload = json.loads(data) if data else None
    headers = {k.lower(): v for k, v in response.getheaders()}
    assert_conforms(response.status, headers.get("content-type", ""), payload)
    return response.status, headers, payload


def test_login_and_an_update_that_lands(gw, shop):
    job = shop.create_job()
    status, _, answer = patch(gw, job["id"], {"name": "Housings rev B", "goalQuantity": 75})
    assert status == 200, answer
    assert answer["id"] == "shopplanr:" + job["id"]
    assert answer["name"] == "Housings rev B" and answer["goalQuantity"] == 75
    stored = shop.job(job["id"])
    assert stored["name"] == "Housings rev B" and stored["goalQuantity"] == 75
    assert answer["updatedAt"] == stored["updatedAt"]


def test_zero_fraction_goal_is_an_integer(gw, shop):
    job = shop.create_job()
    status, _, answer = patch(gw, job["id"], None, raw='{"goalQuantity": 14.0}')
    assert status == 200, answer
    assert answer["goalQuantity"] == 14 and shop.job(job["id"])["goalQuantity"] == 14


def test_empty_patch_writes_nothing(gw, shop):
    job = shop.create_job()
    time.sleep(0.01)
    status, _, answer = patch(gw, job["id"], {})
    assert status == 200, answer
    assert answer["name"] == job["name"] and answer["updatedAt"] == job["updatedAt"]
    assert shop.job(job["id"])["updatedAt"] == job["updatedAt"], "RFC 7396: {} changes nothing"
    assert answer["vendorData"]["progress"]["goalQuantity"] == job["goalQuantity"], "the read call's answer"


def test_vendor_400_is_a_422_naming_the_canonical_field(gw, shop):
    # A byte-order mark passes a Unicode whitespace check but JavaScript's trim() removes it: Shop Planr
    # itself refuses the name, and the gateway must say which canonical field it refused.
    job = shop.create_job()
    status, _, problem = patch(gw, job["id"], {"name": "\ufeff"})
    assert status == 422, problem
    assert problem["upstreamStatus"] == 400 and list(problem["errors"]) == ["name"]
    excerpt = problem["upstream"]["excerpt"]
    assert "name is required" in excerpt
    assert "url" not in json.loads(excerpt), "Nitro's url member is the vendor's internal address"
    assert "127.0.0.1" not in json.dumps(problem) and "localhost" not in json.dumps(problem)
    assert "\n" not in excerpt, "compact, not the vendor's pretty-printing"
    assert shop.job(job["id"])["name"] == job["name"]


def test_unknown_job_is_404(gw):
    status, _, problem = patch(gw, "job_doesNotExist", {"name": "x"})
    assert status == 404 and problem["upstreamStatus"] == 404
    assert "Job not found" in problem["detail"]


def test_bad_credentials_are_the_gateways_problem(shop, start_gateway):
    gateway = start_gateway(env=environment(shop, SHOPPLANR_PIN="1357"))
    job = shop.create_job()
    status, _, problem = patch(gateway, job["id"], {"name": "x"})
    assert status == 502 and problem["type"].endswith("/upstream-auth"), problem
    assert "1357" not in json.dumps(problem)
    assert shop.job(job["id"])["name"] == job["name"]


def test_without_credentials_the_vendor_is_not_configured(start_gateway, shop):
    gateway = start_gateway(env={"SHOPPLANR_BASE_URL": shop.base_url})
    status, headers, problem = patch(gateway, "job_x", {"name": "x"})
    assert status == 503 and "retry-after" in headers
    for variable in ("SHOPPLANR_USERNAME", "SHOPPLANR_PIN", "SHOPPLANR_TOKEN"):
        assert variable in problem["detail"]


def test_static_token_still_works(shop, start_gateway):
    gateway = start_gateway(env={"SHOPPLANR_BASE_URL": shop.base_url, "SHOPPLANR_TOKEN": shop.token})
    job = shop.create_job()
    status, _, answer = patch(gateway, job["id"], {"goalQuantity": 9})
    assert status == 200 and shop.job(job["id"])["goalQuantity"] == 9


def test_check_warns_about_a_static_token_expiring_within_a_day(shop):
    from conftest import binary_path
    result = subprocess.run([binary_path(), "check", str(ROOT / "Mappings")], capture_output=True, text=True,
                            env={"SHOPPLANR_TOKEN": shop.token, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout
    assert "shopplanr.json at /auth/staticToken" in result.stdout and "within a day" in result.stdout
    assert shop.token not in result.stdout


def test_vendor_429_passes_on_with_retry_after(start_gateway, tmp_path):
    # Its own server: the per-IP budget (500 Bearer requests per 15 s) is shared by everything on loopback.
    server = ShopPlanr(require("JOBGATE_SHOPPLANR_SERVER"))
    try:
        folder = tmp_path / "mappings"
        shutil.copytree(ROOT / "Mappings", folder)
        mapping = json.loads((folder / "shopplanr.json").read_text())
        del mapping["rateLimit"]  # so the vendor's limit, not the gateway's own copy of it, answers
        (folder / "shopplanr.json").write_text(json.dumps(mapping))
        gateway = start_gateway("--mappings", str(folder), env=environment(server))
        job = server.create_job()
        conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=15)
        for attempt in range(700):
            conn.request("PATCH", "/jobs/shopplanr:" + job["id"], body="{}", headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                break
        assert response.status == 429, body
        problem = json.loads(body)
        assert problem["upstreamStatus"] == 429 and 400 < attempt <= 501, attempt
        assert 1 <= int(response.getheader("Retry-After")) <= 15
    finally:
        server.stop()
