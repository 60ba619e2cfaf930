"""Gateway binary → sandbox simulators, through real sockets: what each vendor receives and what callers get."""
import base64
import http.client
import json
import pathlib
import re
import shutil
import time

import pytest

from conftest import assert_conforms

SECRETS = ("DECK_SECRET", "DECK_CLIENT_ID", "BIGCHANGE_CLIENT_SECRET", "SHOPPLANR_PIN", "LILT_API_KEY", "BYTENITE_API_KEY")


@pytest.fixture
def gw(sandbox, start_gateway):
    sandbox.reset()
    return start_gateway(env=sandbox.env)


def patch(gateway, job_id, body, headers=None, raw=None, path=None):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=15)
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    conn.request("PATCH", path or "/jobs/" + job_id, body=raw if raw is not None else json.dumps(body), headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    payload = json.loads(data) if data else None
    headers = dict((k.lower(), v) for k, v in response.getheaders())
    assert_conforms(response.status, headers.get("content-type", ""), payload)
    return response.status, headers, payload


def vendor_calls(sandbox, vendor):
    return [r for r in sandbox.requests(vendor) if not r["target"].startswith("/__sandbox")]


# ---------------------------------------------------------------- deck

DECK_FULL = {"name": "Invoices v2", "vendorFields": {"code": "invoice-extractor", "input_schema": {"type": "object"},
                                                     "output_schema": {"type": "object"}, "prompts": None}}


def test_deck_happy_path(gw, sandbox):
    status, headers, job = patch(gw, "deck:invoice-extractor", DECK_FULL)
    assert status == 200, job
    assert job["id"] == "deck:invoice-extractor" and job["vendor"] == "deck"
    assert job["name"] == "Invoices v2"
    assert job["vendorData"]["code"] == "invoice-extractor"
    assert job["createdAt"].endswith("Z") and job["updatedAt"].endswith("Z")
    [call] = vendor_calls(sandbox, "deck")
    assert call["method"] == "PATCH"
    assert call["target"] == "/api/v1/jobs/invoice-extractor"
    assert call["headers"]["x-deck-client-id"] == sandbox.env["DECK_CLIENT_ID"]
    assert call["headers"]["x-deck-secret"] == sandbox.env["DECK_SECRET"]
    assert json.loads(call["body"]) == {"name": "Invoices v2", "code": "invoice-extractor", "input_schema": {"type": "object"},
                                        "output_schema": {"type": "object"}, "prompts": None}
    assert call["headers"]["x-request-id"] == headers["x-request-id"]


def test_deck_partial_patch_is_422_and_never_sent(gw, sandbox):
    status, _, problem = patch(gw, "deck:invoice-extractor", {"name": "x"})
    assert status == 422
    assert set(problem["errors"]) == {"vendorFields.code", "vendorFields.input_schema", "vendorFields.output_schema",
                                      "vendorFields.prompts"}
    assert vendor_calls(sandbox, "deck") == []


def test_deck_patch_without_prompts_is_422_because_deck_would_clear_them(gw, sandbox):
    without = dict(DECK_FULL, vendorFields={k: v for k, v in DECK_FULL["vendorFields"].items() if k != "prompts"})
    status, _, problem = patch(gw, "deck:invoice-extractor", without)
    assert status == 422 and list(problem["errors"]) == ["vendorFields.prompts"]
    assert vendor_calls(sandbox, "deck") == []


def test_deck_shared_definition_stays_403(gw):
    body = dict(DECK_FULL, vendorFields=dict(DECK_FULL["vendorFields"], code="shared-utility-bill"))
    status, headers, problem = patch(gw, "deck:shared-utility-bill", body)
    assert status == 403
    assert headers["content-type"] == "application/problem+json"
    assert problem["vendor"] == "deck" and problem["upstreamStatus"] == 403


def test_deck_unknown_job_is_404(gw):
    status, _, problem = patch(gw, "deck:no-such-job", DECK_FULL)
    assert status == 404 and problem["upstream"]["status"] == 404


# ---------------------------------------------------------------- bigchange

def test_bigchange_token_write_then_read_back(gw, sandbox):
    body = {"plannedDurationMinutes": 90, "reference": None, "customFields": {"7": "blue"}}
    status, _, job = patch(gw, "bigchange:1001", body)
    assert status == 200, job
    assert job["plannedDurationMinutes"] == 90 and job["reference"] is None
    assert job["customFields"]["7"] == "blue"
    calls = vendor_calls(sandbox, "bigchange")
    assert [c["method"] + " " + c["target"].split("?")[0] for c in calls] == ["POST /auth/tokens", "PATCH /v1/jobs/1001", "GET /v1/jobs/1001"]
    assert "grant_type=client_credentials" in calls[0]["body"]
    token = calls[1]["headers"]["authorization"]
    assert token.startswith("Bearer ") and calls[2]["headers"]["authorization"] == token
    assert calls[1]["headers"]["customer-id"] == "42"
    assert json.loads(calls[1]["body"]) == {"plannedDuration": 90, "reference": None, "customFields": [{"definitionId": 7, "value": "blue"}]}
    # The token is cached: a second update does not fetch another.
    assert patch(gw, "bigchange:1001", {"orderNumber": "PO-7"})[0] == 200
    assert [c["target"] for c in vendor_calls(sandbox, "bigchange")].count("/auth/tokens") == 1


def test_bigchange_return_minimal_skips_read(gw, sandbox):
    status, headers, body = patch(gw, "bigchange:1001", {"description": "x"}, headers={"Prefer": "return=minimal"})
    assert status == 204 and body is None
    assert [c["method"] for c in vendor_calls(sandbox, "bigchange") if "/jobs/" in c["target"]] == ["PATCH"]


def test_bigchange_id_must_be_positive_integer(gw, sandbox):
    for bad in ("abc", "0", "-3"):
        status, _, problem = patch(gw, "bigchange:" + bad, {"description": "x"})
        assert status == 400, bad
    assert vendor_calls(sandbox, "bigchange") == []


def test_bigchange_validation_errors_are_canonical(gw):
    status, _, problem = patch(gw, "bigchange:1002", {"description": "locked now"})
    assert status == 422, problem
    assert "description" in problem["errors"]


def test_bigchange_failed_read_back_is_still_a_landed_update(gw, sandbox):
    # A client without jobs:read gets 403 on the read after its write landed: the update happened.
    for status_code, kind in ((403, "forbidden"), (500, "upstream-error")):
        sandbox.fault("bigchange", method="GET", pathPrefix="/v1/jobs", times=1, status=status_code, body="{}")
        status, _, job = patch(gw, "bigchange:1001", {"description": "x", "customFields": {"7": "red"}})
        assert status == 200, job
        assert job["id"] == "bigchange:1001" and job["description"] == "x" and job["customFields"] == {"7": "red"}
        assert job["readBack"]["type"].endswith("/" + kind) and job["readBack"]["upstreamStatus"] == status_code
    assert [c["method"] for c in vendor_calls(sandbox, "bigchange") if "/jobs/" in c["target"]] == ["PATCH", "GET"] * 2


# ---------------------------------------------------------------- shopplanr

def test_shopplanr_put(gw, sandbox):
    status, _, job = patch(gw, "shopplanr:job_V1StGXR8Z5jd", {"name": "JOB-2024-001-REV2", "goalQuantity": 75})
    assert status == 200, job
    assert job["goalQuantity"] == 75 and job["name"] == "JOB-2024-001-REV2"
    assert job["vendorData"]["jiraTicketKey"] == "PI-42"
    login, call = vendor_calls(sandbox, "shopplanr")
    assert login["method"] == "POST" and login["target"] == "/api/auth/login"
    assert json.loads(login["body"]) == {"username": sandbox.env["SHOPPLANR_USERNAME"], "pin": sandbox.env["SHOPPLANR_PIN"]}
    assert call["method"] == "PUT" and call["target"] == "/api/jobs/job_V1StGXR8Z5jd"
    assert call["headers"]["authorization"].startswith("Bearer ey"), "the JWT from the login"


def test_shopplanr_token_is_renewed_before_it_expires(gw, sandbox):
    # Shop Planr's refresh answers 500 once a token has expired, so renewal must come before its exp. A
    # 10 s token (exp in whole seconds: 9-10 s of life) is renewed 80% into its life, at 7.2-8 s.
    sandbox.settings("shopplanr", tokenTtlSeconds=10)
    job = "shopplanr:job_V1StGXR8Z5jd"
    assert patch(gw, job, {"name": "first"})[0] == 200
    time.sleep(8.4)
    assert patch(gw, job, {"name": "second"})[0] == 200
    calls = [(c["method"], c["target"]) for c in vendor_calls(sandbox, "shopplanr")]
    assert calls == [("POST", "/api/auth/login"), ("PUT", "/api/jobs/job_V1StGXR8Z5jd"),
                     ("POST", "/api/auth/refresh"), ("PUT", "/api/jobs/job_V1StGXR8Z5jd")], calls
    requests = vendor_calls(sandbox, "shopplanr")
    assert requests[2]["headers"]["authorization"] == requests[1]["headers"]["authorization"], "renewed with the old token"
    assert requests[3]["headers"]["authorization"] != requests[1]["headers"]["authorization"], "and the new one used"


def test_shopplanr_400_maps_to_422_by_field(gw, sandbox):
    sandbox.fault("shopplanr", method="PUT", times=1, status=400, body=json.dumps(
        {"error": True, "url": "/api/jobs/x", "statusCode": 400, "statusMessage": "Bad Request",
         "message": "goalQuantity must be greater than zero"}))
    status, _, problem = patch(gw, "shopplanr:job_V1StGXR8Z5jd", {"goalQuantity": 5})
    assert status == 422
    assert list(problem["errors"]) == ["goalQuantity"]


def test_shopplanr_unknown_job(gw):
    assert patch(gw, "shopplanr:job_nope", {"name": "x"})[0] == 404


# ---------------------------------------------------------------- lilt

def test_lilt_basic_auth_and_enum(gw, sandbox):
    status, _, job = patch(gw, "lilt:241", {"name": "Docs", "dueAt": "2026-05-05T10:56:44.985Z",
                                           "vendorFields": {"isProcessing": "1"}})
    assert status == 200, job
    assert job["vendorData"]["isProcessing"] == "1"
    [call] = vendor_calls(sandbox, "lilt")
    key = sandbox.env["LILT_API_KEY"]
    assert call["headers"]["authorization"] == "Basic " + base64.b64encode(f"{key}:{key}".encode()).decode()
    assert "key=" not in call["target"], "never the query key"


def test_lilt_429_without_retry_after_waits_lilts_documented_minute(gw, sandbox):
    sandbox.fault("lilt", method="PUT", times=1, status=429, body=json.dumps({"message": "Too many requests"}))
    status, headers, problem = patch(gw, "lilt:241", {"name": "x"})
    assert status == 429 and headers["retry-after"] == "60", problem
    assert len(vendor_calls(sandbox, "lilt")) == 1, "a 60 s wait does not fit the call's timeout: not retried"


def test_lilt_id_must_be_integer(gw, sandbox):
    assert patch(gw, "lilt:abc", {"name": "x"})[0] == 400
    assert vendor_calls(sandbox, "lilt") == []


def test_lilt_rate_limit(sandbox, start_gateway, tmp_path):
    folder = tmp_path / "Mappings"
    shutil.copytree(pathlib.Path(__file__).resolve().parents[2] / "Mappings", folder)
    lilt = json.loads((folder / "lilt.json").read_text())
    lilt["rateLimit"] = {"requests": 2, "perSeconds": 60}
    (folder / "lilt.json").write_text(json.dumps(lilt))
    gateway = start_gateway("--mappings", str(folder), env=sandbox.env)
    assert [patch(gateway, "lilt:241", {"name": "x"})[0] for _ in range(2)] == [200, 200]
    status, headers, problem = patch(gateway, "lilt:241", {"name": "x"})
    assert status == 429 and int(headers["retry-after"]) >= 1


# ---------------------------------------------------------------- bytenite

def test_bytenite_fan_out(gw, sandbox):
    job_id = "7c1f7a9e-1b2c-4d5e-8f90-123456789abc"
    status, _, job = patch(gw, "bytenite:" + job_id, {"name": "render", "vendorFields": {"configs": {"taskTimeout": 30}}})
    assert status == 200, job
    assert job["name"] == "render"
    calls = vendor_calls(sandbox, "bytenite")
    assert [c["method"] + " " + c["target"] for c in calls] == [
        "POST /v1/auth/access_token",
        f"GET /v1/customer/jobs/{job_id}",
        f"PATCH /v1/customer/jobs/{job_id}/jobname",
        f"PATCH /v1/customer/jobs/{job_id}/configs"]
    assert json.loads(calls[0]["body"]) == {"apiKey": sandbox.env["BYTENITE_API_KEY"]}
    assert json.loads(calls[2]["body"]) == "render"
    assert not calls[2]["headers"]["authorization"].lower().startswith("bearer")
    configs = json.loads(calls[3]["body"])
    assert configs["taskTimeout"] == 30
    assert set(configs) == {"taskTimeout", "jobTimeout", "isTestJob"}, "the part is sent whole"
    assert isinstance(configs["jobTimeout"], int) and configs["jobTimeout"] > 0, "kept from the job, not zeroed"


def test_bytenite_part_keeps_what_the_patch_leaves_out(gw, sandbox):
    job_id = "7c1f7a9e-1b2c-4d5e-8f90-123456789abc"
    before = patch(gw, "bytenite:" + job_id, {})[2]["vendorData"]["configs"]
    status, _, job = patch(gw, "bytenite:" + job_id, {"vendorFields": {"configs": {"isTestJob": True}}})
    assert status == 200, job
    after = job["vendorData"]["configs"]
    assert after["isTestJob"] is True
    assert int(after["taskTimeout"]) == int(before["taskTimeout"]) and int(after["jobTimeout"]) == int(before["jobTimeout"])


def test_bytenite_failed_read_writes_nothing(gw, sandbox):
    job_id = "7c1f7a9e-1b2c-4d5e-8f90-123456789abc"
    sandbox.fault("bytenite", method="GET", pathPrefix=f"/v1/customer/jobs/{job_id}", times=3, status=503,
                  body=json.dumps({"code": 14, "message": "unavailable", "details": []}))
    status, _, problem = patch(gw, "bytenite:" + job_id, {"name": "n", "vendorFields": {"configs": {"isTestJob": True}}})
    assert status == 502, problem
    assert problem["applied"] == [] and problem["failed"] == "read"
    assert [c["method"] for c in vendor_calls(sandbox, "bytenite") if "/jobs/" in c["target"]] == ["GET"] * 3


def test_bytenite_failure_part_way_lists_applied_parts(gw, sandbox):
    job_id = "7c1f7a9e-1b2c-4d5e-8f90-123456789abc"
    sandbox.fault("bytenite", pathPrefix=f"/v1/customer/jobs/{job_id}/datasource", times=1, status=500,
                  body=json.dumps({"code": 13, "message": "internal", "details": []}))
    status, _, problem = patch(gw, "bytenite:" + job_id, {
        "name": "render", "vendorFields": {"configs": {"taskTimeout": 30}, "dataSource": {"dataSourceDescriptor": "url"}}})
    assert status == 502
    assert problem["applied"] == ["jobname", "configs"]
    assert problem["failed"] == "datasource"
    assert [(s["call"], s["applied"]) for s in problem["steps"]] == [
        ("read", False), ("jobname", True), ("configs", True), ("datasource", False)]


def test_bytenite_started_job_rejected(gw):
    status, _, problem = patch(gw, "bytenite:0d9e8f7a-6b5c-4d3e-2f10-fedcba987654", {"name": "x"})
    assert status == 422, problem
    assert problem["upstream"]["code"] == "9"


# ---------------------------------------------------------------- shared behaviour

def test_dry_run_redacts_credentials(gw, sandbox):
    for query, headers in (("?dryRun=true", {}), ("", {"Prefer": "dry-run"})):
        status, _, plan = patch(gw, None, {"name": "x"}, headers=headers, path="/jobs/lilt:241" + query)
        assert status == 200 and plan["dryRun"] is True
        [call] = plan["calls"]
        assert call["method"] == "PUT" and call["url"].endswith("/v2/jobs/241")
        assert call["headers"]["Authorization"] == "[redacted]"
        assert sandbox.env["LILT_API_KEY"] not in json.dumps(plan)
    assert vendor_calls(sandbox, "lilt") == []


def test_unsupported_field_is_422_before_any_call(gw, sandbox):
    status, _, problem = patch(gw, "shopplanr:job_V1StGXR8Z5jd", {"description": "no such thing here"})
    assert status == 422 and "description" in problem["errors"]
    assert vendor_calls(sandbox, "shopplanr") == []


def test_request_errors(gw):
    assert patch(gw, "lilt:241", None, raw="{not json")[0] == 400
    assert patch(gw, "lilt:241", None, raw="[1]")[0] == 400
    assert patch(gw, "lilt:241", None, raw='{"name":"a","name":"b"}')[0] == 400
    status, headers, _ = patch(gw, "lilt:241", {"name": "x"}, headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/merge-patch+json" in headers["accept-patch"]
    for other in ("application/jsonx", "application/json-patch+json", "application/merge-patch"):
        assert patch(gw, "lilt:241", {"name": "x"}, headers={"Content-Type": other})[0] == 415, other
    assert patch(gw, "lilt:241", {"name": "x"}, headers={"Content-Type": " Application/JSON ; charset=utf-8"})[0] == 200
    assert patch(gw, "nobody:1", {"name": "x"})[0] == 400
    assert patch(gw, "241", {"name": "x"}, headers={"Job-Vendor": "deck", "X": "y"}, path="/jobs/lilt:241")[0] == 400
    assert patch(gw, "241", {"name": "x"}, headers={"Job-Vendor": "lilt"})[0] == 200
    assert patch(gw, "lilt%3A241", {"name": "x"})[0] == 200


def test_unconfigured_vendor_is_503(sandbox, start_gateway):
    env = {k: v for k, v in sandbox.env.items() if not k.startswith("DECK_") or k == "DECK_BASE_URL"}
    gateway = start_gateway(env=env)
    status, headers, problem = patch(gateway, "deck:invoice-extractor", DECK_FULL)
    assert status == 503 and problem["vendor"] == "deck" and "DECK_" in problem["detail"]


def test_canary_secrets_never_leak(sandbox, start_gateway):
    gateway = start_gateway("--log-level", "debug", env=sandbox.env)
    outputs = []
    for job_id, body in (("lilt:241", {"name": "x"}), ("deck:invoice-extractor", DECK_FULL), ("bigchange:1001", {"description": "y"}),
                         ("bytenite:7c1f7a9e-1b2c-4d5e-8f90-123456789abc", {"name": "z"}), ("lilt:241", {"bogus": 1})):
        for suffix in ("", "?dryRun=true"):
            outputs.append(json.dumps(patch(gateway, None, body, path="/jobs/" + job_id + suffix)))
    # A vendor that echoes the credential it received: the excerpt in the problem must not carry it.
    echoed = json.dumps({"message": "bad key " + sandbox.env["LILT_API_KEY"], "key": sandbox.env["LILT_API_KEY"]})
    sandbox.fault("lilt", method="PUT", times=1, status=400, body=echoed)
    status, _, problem = patch(gateway, "lilt:241", {"name": "x"})
    assert status == 422 and "[redacted]" in json.dumps(problem)
    outputs.append(json.dumps(problem))
    for path in ("/metrics", "/vendors", "/readyz", "/openapi.json"):
        conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
        conn.request("GET", path)
        outputs.append(conn.getresponse().read().decode())
    gateway.stop()
    outputs.append(json.dumps(gateway.lines))
    everything = "\n".join(outputs)
    for name in SECRETS:
        leaks = secret_occurrences(sandbox.env[name], everything)
        assert not leaks, f"{name} in the output: {leaks}"


def secret_occurrences(secret, text):
    """Where `secret` stands in `text`, with some context around each. Shop Planr's PIN is four digits, and
    four digits also turn up inside the numbers of a run (a metric's sum of seconds, a duration, a timestamp), so a
    secret made of digits counts only where it is not part of a longer number."""
    pattern = re.escape(secret)
    if secret.isdigit():
        pattern = rf"(?<![0-9.]){pattern}(?![0-9])"
    return [text[max(0, m.start() - 40):m.end() + 40] for m in re.finditer(pattern, text)]
