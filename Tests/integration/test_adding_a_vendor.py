"""docs/adding-a-vendor.md, followed literally: its mapping file beside the shipped ones, its `jobgate check` and
`jobgate plan` commands, then a real PATCH through the gateway to a small stand-in for the tutorial's vendor."""
import http.client
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import threading

import pytest

from conftest import ROOT, binary_path

TUTORIAL = ROOT / "docs" / "adding-a-vendor.md"
TOKEN = "acme-token-canary-7f3e"


def marked_block(marker):
    """The fenced block right after `<!-- marker -->` in the tutorial."""
    match = re.search(r"<!-- " + re.escape(marker) + r" -->\n```\w*\n(.*?)\n```", TUTORIAL.read_text(), re.S)
    assert match, f"the tutorial has no block marked {marker}"
    return match.group(1)


def run(args, folder):
    """A command as the tutorial writes it, with its `Mappings` folder being ours."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "ACME_"))}
    args = [str(folder) if arg == "Mappings" else arg for arg in args]
    return subprocess.run([binary_path(), *args[1:]], capture_output=True, text=True, timeout=30, env=environment)


@pytest.fixture
def folder(tmp_path):
    mappings = tmp_path / "Mappings"
    shutil.copytree(ROOT / "Mappings", mappings)
    (mappings / "acme.json").write_text(marked_block("tutorial-mapping: acme.json"))
    return mappings


class AcmeStandIn(http.server.BaseHTTPRequestHandler):
    """Acme as the tutorial describes it: bearer auth, nested body in, wrapped answer out, its own errors."""
    work_order = {"id": "wo-17", "title": "Old title", "schedule": {"dueAt": "2026-06-30T09:00:00Z"}, "ref": "R-1",
                  "state": "open", "createdAt": "2026-06-01T08:00:00Z"}
    received = []

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append({"path": self.path, "authorization": self.headers["Authorization"], "body": body})
        if self.headers["Authorization"] != "Bearer " + TOKEN:
            return self.answer(401, {"error": {"code": "unauthorized", "message": "bad token"}})
        if self.path != "/v1/work-orders/wo-17":
            return self.answer(404, {"error": {"code": "not_found", "message": "no such work order"}})
        update = body["workOrder"]
        if len(update.get("title", "")) > 30:
            return self.answer(422, {"error": {"code": "invalid_field", "message": "title is too long",
                                               "fields": {"title": ["must be at most 30 characters"]}}})
        order = dict(self.work_order, **{k: v for k, v in update.items() if k != "schedule"})
        order["schedule"] = dict(self.work_order["schedule"], **update.get("schedule", {}))
        self.answer(200, {"data": order})

    def log_message(self, *args):
        pass


@pytest.fixture
def acme():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AcmeStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    AcmeStandIn.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_check_passes_with_the_tutorial_mapping(folder):
    result = run(["jobgate", "check", "Mappings"], folder)
    assert result.returncode == 0, result.stdout
    assert "ok: acme → https://api.acme.example [NOT configured (ACME_TOKEN)], 4 examples pass" in result.stdout


def test_the_error_the_tutorial_shows_is_what_check_says(folder):
    mapping = json.loads((folder / "acme.json").read_text())
    mapping["examples"][0]["calls"][0]["path"] = "/v1/work-order/wo-17"
    (folder / "acme.json").write_text(json.dumps(mapping))
    result = run(["jobgate", "check", "Mappings"], folder)
    shown = next(line.strip() for line in TUTORIAL.read_text().splitlines() if line.strip().startswith("error: acme.json"))
    assert result.returncode == 1 and shown in result.stdout


def test_plan_prints_what_the_tutorial_shows(folder):
    result = run(shlex.split(marked_block("tutorial-plan")), folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == json.loads(marked_block("tutorial-plan-output"))


def test_a_real_patch_reaches_acme_and_answers_the_canonical_job(folder, acme, start_gateway):
    gateway = start_gateway("--mappings", str(folder), env={"ACME_BASE_URL": acme, "ACME_TOKEN": TOKEN})

    def patch(body):
        conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
        conn.request("PATCH", "/jobs/acme:wo-17", body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    status, job = patch({"name": "Replace boiler", "dueAt": "2026-07-01T09:00:00Z", "reference": None})
    assert status == 200, job
    assert AcmeStandIn.received[-1] == {"path": "/v1/work-orders/wo-17", "authorization": "Bearer " + TOKEN, "body": {
        "workOrder": {"title": "Replace boiler", "schedule": {"dueAt": "2026-07-01T09:00:00Z"}, "ref": None}}}
    assert job == {"id": "acme:wo-17", "vendor": "acme", "vendorJobId": "wo-17", "name": "Replace boiler",
                   "dueAt": "2026-07-01T09:00:00Z", "reference": None, "createdAt": "2026-06-01T08:00:00Z",
                   "vendorData": {"schedule": {}, "state": "open"}}

    status, problem = patch({"name": "A title far longer than Acme allows"})
    assert status == 422 and problem["errors"] == {"name": ["must be at most 30 characters"]}
    assert problem["upstream"]["code"] == "invalid_field"
    assert TOKEN not in json.dumps(problem)
