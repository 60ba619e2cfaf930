"""schemathesis against the gateway's own /openapi.json, with the sandbox vendors behind it.

Two bounded, seeded runs (the CLI, so the run is exactly what `st run` reproduces):
  1. the document as served: every operation, positive and negative data;
  2. the vendor pass (schemathesis_hooks.py): `/jobs/{id}` split into one operation per sandbox job with the
     vendor's own fields, so generated patches get past validation and the simulators' answers, normalized,
     are what is checked.
Every check runs except positive_data_acceptance: the document cannot say that a schema-valid patch is still
a 422 for a vendor lacking a field, or that an id must name a configured vendor (both by design, CONTRACT §3).
With a healthy sandbox, no answer may be a 5xx (not_a_server_error) and each must conform to the document.
"""
import http.client
import json
import os
import subprocess
import sys
import threading

import pytest

from conftest import ROOT

SANDBOX_JOBS = ["lilt:241", "shopplanr:job_V1StGXR8Z5jd", "bigchange:1001", "deck:invoice-extractor",
                "bytenite:7c1f7a9e-1b2c-4d5e-8f90-123456789abc"]


def get(gateway, path):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read().decode()


def statuses(gateway):
    """{(vendor, status): count} from /metrics."""
    counts = {}
    for line in get(gateway, "/metrics")[1].splitlines():
        if line.startswith("jobgate_requests_total{"):
            labels, value = line[len("jobgate_requests_total{"):].split("} ")
            fields = dict(part.split("=") for part in labels.split(","))
            key = (fields["vendor"].strip('"'), int(fields["status"].strip('"')))
            counts[key] = counts.get(key, 0) + int(value)  # summed over accounts
    return counts


def schemathesis(gateway, workdir, *args, env=None):
    command = [sys.executable, "-m", "schemathesis.cli", "run", gateway.base + "/openapi.json",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--seed", "20261125", "--workers", "1", "--request-timeout", "20", "--generation-database", "none",
               "--continue-on-failure", "--no-color", "--warnings", "off", *args]
    environment = dict(os.environ, **(env or {}))
    result = subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=300)
    report = result.stdout[-12000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "generated" in result.stdout, report
    return result.stdout


@pytest.fixture
def gw(sandbox, start_gateway):
    sandbox.reset()
    gateway = start_gateway(env=sandbox.env)
    # Thousands of requests write thousands of access-log lines: keep reading them, or the pipe fills and the
    # gateway's loops block in write(2).
    threading.Thread(target=lambda: [None for _ in iter(gateway.process.stdout.readline, b"")], daemon=True).start()
    return gateway


def test_document_as_served(gw, tmp_path):
    schemathesis(gw, tmp_path, "--mode", "all", "--max-examples", "100")
    counts = statuses(gw)
    assert not [key for key in counts if key[1] >= 500], counts
    assert sum(counts.values()) > 200, "schemathesis sent fewer requests than expected"


def test_vendor_pass(gw, sandbox, tmp_path):
    vendors = get(gw, "/vendors")[1]
    output = schemathesis(gw, tmp_path, "--mode", "all", "--max-examples", "60", "--include-path-regex", "^/jobs/", env={
        "PYTHONPATH": str(ROOT / "Tests" / "integration"), "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "JOBGATE_ST_JOBS": ",".join(SANDBOX_JOBS), "JOBGATE_ST_VENDORS": vendors})
    # One PATCH per sandbox job, and a GET for each of the four readable vendors (deck has no read).
    assert "9 selected" in output, output[-3000:]
    counts = statuses(gw)
    assert not [key for key in counts if key[1] >= 500], counts
    for job in SANDBOX_JOBS:
        vendor = job.split(":")[0]
        # Generated patches really went through: every vendor answered updates.
        assert counts.get((vendor, 200), 0) >= 3, (vendor, counts)
        assert [r for r in sandbox.requests(vendor) if not r["target"].startswith("/__sandbox")], vendor
    assert sum(count for (vendor, status), count in counts.items() if status == 204) >= 1, counts


def test_dry_run_flag_is_strict(gw, sandbox):
    # Found by the vendor pass: `dryRun=ture` used to be read as false, and the update was applied.
    for value in ("ture", "1", "", "TRUE"):
        conn = http.client.HTTPConnection(gw.host, gw.port, timeout=10)
        conn.request("PATCH", "/jobs/lilt:241?dryRun=" + value, body=json.dumps({"name": "x"}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        problem = json.loads(response.read())
        assert response.status == 400 and "dryRun" in problem["detail"], value
    assert [r for r in sandbox.requests("lilt") if not r["target"].startswith("/__sandbox")] == []
