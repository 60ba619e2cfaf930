"""GET /jobs/{id}, ?raw=true and accounts, through the real binary against the sandbox simulators."""
import http.client
import json
import pathlib
import shutil
import threading

import pytest

from conftest import assert_conforms

ROOT = pathlib.Path(__file__).resolve().parents[2]
READABLE_JOBS = ("lilt:241", "bigchange:1001", "shopplanr:job_V1StGXR8Z5jd", "bytenite:7c1f7a9e-1b2c-4d5e-8f90-123456789abc")


@pytest.fixture
def gw(sandbox, start_gateway):
    sandbox.reset()
    return start_gateway(env=sandbox.env)


def call(gateway, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=15)
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    payload = json.loads(data) if data else None
    response_headers = dict((k.lower(), v) for k, v in response.getheaders())
    if method in ("GET", "PATCH"):
        assert_conforms(response.status, response_headers.get("content-type", ""), payload, method=method)
    return response.status, response_headers, payload


def vendor_calls(sandbox, vendor):
    return [r for r in sandbox.requests(vendor) if not r["target"].startswith("/__sandbox")]


# ---------------------------------------------------------------- reading

@pytest.mark.parametrize("job_id", READABLE_JOBS)
def test_get_answers_the_job_a_patch_answers(gw, sandbox, job_id):
    vendor = job_id.split(":")[0]
    status, _, read = call(gw, "GET", "/jobs/" + job_id)
    assert status == 200, read
    assert [c["method"] for c in vendor_calls(sandbox, vendor) if "/auth" not in c["target"]] == ["GET"]
    status, _, patched = call(gw, "PATCH", "/jobs/" + job_id, {})
    assert status == 200, patched
    assert read == patched, "the same normalizer builds both"


def test_get_routes_like_patch_and_ignores_return_minimal(gw):
    status, _, job = call(gw, "GET", "/jobs/241", headers={"Job-Vendor": "lilt", "Prefer": "return=minimal"})
    assert status == 200 and job["id"] == "lilt:241"
    assert call(gw, "GET", "/jobs/lilt:abc")[0] == 400
    assert call(gw, "GET", "/jobs/nobody:1")[0] == 400


def test_get_dry_run_shows_the_read_call(gw, sandbox):
    status, _, plan = call(gw, "GET", "/jobs/lilt:241?dryRun=true")
    assert status == 200 and plan["dryRun"] is True
    [read] = plan["calls"]
    assert read["method"] == "GET" and read["url"].endswith("/v2/jobs/241") and read["headers"]["Authorization"] == "[redacted]"
    assert vendor_calls(sandbox, "lilt") == []


def test_deck_cannot_be_read(gw, sandbox):
    status, headers, problem = call(gw, "GET", "/jobs/deck:invoice-extractor")
    assert status == 405 and headers["allow"] == "PATCH" and headers["content-type"] == "application/problem+json"
    assert problem["vendor"] == "deck"
    assert vendor_calls(sandbox, "deck") == []
    assert call(gw, "DELETE", "/jobs/deck:invoice-extractor")[1]["allow"] == "PATCH"
    assert call(gw, "DELETE", "/jobs/lilt:241")[1]["allow"] == "GET, PATCH"
    assert call(gw, "HEAD", "/jobs/lilt:241")[0] == 405


def test_get_is_retried_as_an_idempotent_call(gw, sandbox):
    sandbox.fault("lilt", method="GET", times=1, status=503, body="{}")
    status, _, job = call(gw, "GET", "/jobs/lilt:241")
    assert status == 200, job
    assert [c["method"] for c in vendor_calls(sandbox, "lilt")] == ["GET", "GET"]


def test_get_failures_use_the_problem_table(gw):
    status, _, problem = call(gw, "GET", "/jobs/lilt:999999")
    assert status == 404 and problem["vendor"] == "lilt"


# ---------------------------------------------------------------- raw

def test_raw_lists_each_answer_and_is_strict(gw, sandbox):
    status, _, job = call(gw, "PATCH", "/jobs/bigchange:1001?raw=true", {"description": "Raw"})
    assert status == 200, job
    assert [(r["call"], r["method"], r["status"]) for r in job["raw"]] == [("update", "PATCH", 204), ("read", "GET", 200)]
    assert "body" not in job["raw"][0] and job["raw"][1]["body"]["description"] == "Raw"
    status, _, job = call(gw, "GET", "/jobs/lilt:241?raw=true")
    assert status == 200 and job["raw"][0]["body"]["id"] == 241
    assert "raw" not in call(gw, "GET", "/jobs/lilt:241?raw=false")[2]
    for flag in ("ture", "1", ""):
        assert call(gw, "GET", "/jobs/lilt:241?raw=" + flag)[0] == 400
        assert call(gw, "PATCH", "/jobs/lilt:241?raw=" + flag, {"name": "x"})[0] == 400


def test_raw_never_shows_a_secret_the_vendor_echoes(gw, sandbox):
    key = sandbox.env["LILT_API_KEY"]
    echoed = json.dumps({"id": 241, "name": "echo", "note": "called with " + key, key: "as a name too"})
    # The key once more with its dashes written as JSON escapes: only a parsed body shows it is the key.
    echoed = echoed[:-1] + ', "escaped": "' + key.replace("-", "\\u002d") + '"}'
    sandbox.fault("lilt", method="GET", times=1, status=200, body=echoed)
    status, _, job = call(gw, "GET", "/jobs/lilt:241?raw=true")
    assert status == 200, job
    assert key not in json.dumps(job, ensure_ascii=False)
    body = job["raw"][0]["body"]
    assert body["note"] == "called with [redacted]" and body["escaped"] == "[redacted]" and "[redacted]" in body


def test_a_job_never_shows_a_credential_the_vendor_echoes(gw, sandbox):
    # Without raw too: vendorData passes through what the vendor sent, and a vendor that echoes the key it was
    # sent must not hand it to the caller. Escaped or not, the answer stays valid JSON.
    key = sandbox.env["LILT_API_KEY"]
    echoed = json.dumps({"id": 241, "name": "echo", "note": "called with " + key})
    echoed = echoed[:-1] + ', "escaped": "' + key.replace("-", "\\u002d") + '"}'
    for method, body in (("GET", None), ("PATCH", {"name": "echo"})):
        sandbox.fault("lilt", method="GET" if method == "GET" else "PUT", times=1, status=200, body=echoed)
        status, _, job = call(gw, method, "/jobs/lilt:241", body)
        assert status == 200, job
        assert key not in json.dumps(job, ensure_ascii=False)
        assert job["vendorData"]["note"] == "called with [redacted]" and job["vendorData"]["escaped"] == "[redacted]"


# ---------------------------------------------------------------- accounts

def account_mappings(tmp_path, **changes):
    """The shipped mappings, with BigChange serving the sandbox's second customer as the account `north`."""
    folder = tmp_path / "Mappings"
    shutil.copytree(ROOT / "Mappings", folder)
    bigchange = json.loads((folder / "bigchange.json").read_text())
    bigchange["accounts"] = {"north": {
        "auth": {"scheme": "oauth2ClientCredentials", "tokenUrl": "${BIGCHANGE_TOKEN_URL}",
                 "clientId": "${BIGCHANGE_NORTH_CLIENT_ID}", "clientSecret": "${BIGCHANGE_NORTH_CLIENT_SECRET}"},
        "headers": {"Customer-Id": "${BIGCHANGE_NORTH_CUSTOMER_ID}"}}}
    bigchange.update(changes)
    (folder / "bigchange.json").write_text(json.dumps(bigchange))
    return folder


@pytest.fixture
def accounts_gw(sandbox, start_gateway, tmp_path):
    sandbox.reset()
    return start_gateway("--mappings", str(account_mappings(tmp_path)), env=sandbox.env)


def test_two_accounts_under_concurrent_load_each_send_only_their_own_credentials(accounts_gw, sandbox):
    customers = {"default": sandbox.env["BIGCHANGE_CUSTOMER_ID"], "north": sandbox.env["BIGCHANGE_NORTH_CUSTOMER_ID"]}
    results, lock = [], threading.Lock()

    def worker(index):
        for round_ in range(6):
            account = ("default", "north")[(index + round_) % 2]
            request_id = f"acct-{account}-{index}-{round_}"
            headers = {"X-Request-Id": request_id} | ({} if account == "default" else {"Job-Account": account})
            if round_ % 3 == 2:
                outcome = call(accounts_gw, "PATCH", "/jobs/bigchange:1001", {"plannedDurationMinutes": 30 + index}, headers)
            else:
                outcome = call(accounts_gw, "GET", "/jobs/bigchange:1001", headers=headers)
            with lock:
                results.append((account, outcome))

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 48
    for account, (status, _, job) in results:
        assert status == 200, job
        assert job["description"].startswith("North ") == (account == "north"), "each answer comes from its account's customer"

    recorded = vendor_calls(sandbox, "bigchange")
    token_owner = {}
    job_calls = [r for r in recorded if r["target"].startswith("/v1/jobs/")]
    assert len(job_calls) == 48 + 16, "a read per GET, a write and a read-back per PATCH"
    for request in job_calls:
        account = request["headers"]["x-request-id"].split("-")[1]
        assert request["headers"]["customer-id"] == customers[account]
        token = request["headers"]["authorization"]
        assert token_owner.setdefault(token, account) == account, "a token is only ever sent for its own account"
    assert set(token_owner.values()) == {"default", "north"}
    token_requests = [r for r in recorded if r["target"] == "/auth/tokens"]
    assert len(token_requests) == 2, "one token fetch per account, shared by all loops"


def test_an_unknown_account_reaches_no_vendor(accounts_gw, sandbox):
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"description": "x"}), ("PATCH", "?dryRun=true", {"description": "x"})):
        status, _, problem = call(accounts_gw, method, "/jobs/bigchange:1001" + suffix, body, {"Job-Account": "south"})
        assert status == 400 and problem["title"] == "Unknown account" and "north" in problem["detail"], problem
    assert call(accounts_gw, "GET", "/jobs/lilt:241", headers={"Job-Account": "north"})[0] == 400
    assert vendor_calls(sandbox, "bigchange") == [] and vendor_calls(sandbox, "lilt") == []


def test_rate_limits_are_per_account(sandbox, start_gateway, tmp_path):
    sandbox.reset()
    folder = account_mappings(tmp_path, rateLimit={"requests": 2, "perSeconds": 60})
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    north = {"Job-Account": "north"}
    assert [call(gateway, "GET", "/jobs/bigchange:1001")[0] for _ in range(3)] == [200, 200, 429]
    assert [call(gateway, "GET", "/jobs/bigchange:1001", headers=north)[0] for _ in range(3)] == [200, 200, 429]
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    assert 'jobgate_rate_limited_total{vendor="bigchange",account="north"} 1' in text
    assert 'jobgate_requests_total{vendor="bigchange",account="default",status="200"} 2' in text
    gateway.stop()
    logged = [line.get("account") for line in gateway.lines if line.get("event") == "request" and line.get("vendor") == "bigchange"]
    assert logged == ["default"] * 3 + ["north"] * 3


def test_an_account_without_credentials_is_503_naming_its_variables(sandbox, start_gateway, tmp_path):
    sandbox.reset()
    env = {k: v for k, v in sandbox.env.items() if not k.startswith("BIGCHANGE_NORTH_")}
    folder = account_mappings(tmp_path)
    bigchange = json.loads((folder / "bigchange.json").read_text())
    north = bigchange["accounts"]["north"]
    north["auth"]["clientId"] = "${BIGCHANGE_NORTH_CLIENT_ID:-}"
    north["auth"]["clientSecret"] = "${BIGCHANGE_NORTH_CLIENT_SECRET:-}"
    north["headers"]["Customer-Id"] = "${BIGCHANGE_NORTH_CUSTOMER_ID:-}"
    (folder / "bigchange.json").write_text(json.dumps(bigchange))
    gateway = start_gateway("--mappings", str(folder), env=env)
    status, _, problem = call(gateway, "GET", "/jobs/bigchange:1001", headers={"Job-Account": "north"})
    assert status == 503 and "BIGCHANGE_NORTH_CLIENT_ID" in problem["detail"] and "BIGCHANGE_NORTH_CUSTOMER_ID" in problem["detail"]
    assert call(gateway, "GET", "/jobs/bigchange:1001")[0] == 200, "the top level is unaffected"
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("GET", "/vendors")
    vendors = {v["id"]: v for v in json.loads(conn.getresponse().read())["vendors"]}
    accounts = {a["name"]: a for a in vendors["bigchange"]["accounts"]}
    assert accounts["default"]["configured"] is True and accounts["north"]["configured"] is False
    assert "BIGCHANGE_NORTH_CLIENT_SECRET" in accounts["north"]["missing"]
    assert vendors["deck"]["readable"] is False and vendors["lilt"]["readable"] is True
