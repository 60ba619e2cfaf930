"""The vendors' own OpenAPI documents (JOBGATE_VENDOR_SCHEMAS) as the judge of both sides of the sandbox, and for
Shop Planr, which publishes none, its real server code (JOBGATE_SHOPPLANR_SERVER, run with node).

Representative patches go through the real gateway to Deck, LILT and ByteNite; every request the simulators
recorded must be a documented operation, carry the documented credentials, path parameters and media type, and
have a body valid against the vendor's request schema. Every answer the simulators give to those requests
(replayed directly on a fresh sandbox) and to the error cases must be valid against the documented response.
A control test feeds the same checks deliberately wrong requests and answers, so they are known to be able to fail.
"""
import base64
import fnmatch
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse

import jsonschema
import pytest

from external_inputs import require

VENDORS = ("deck", "lilt", "bytenite")
BYTENITE_NEW = "7c1f7a9e-1b2c-4d5e-8f90-123456789abc"
BYTENITE_STARTED = "0d9e8f7a-6b5c-4d3e-2f10-fedcba987654"
# Calls FACTS.md documents outside these OpenAPI files: ByteNite's token exchange and its job read (whose answer
# is the same jobsJobResponse as the updates').
OUTSIDE_THE_DOCUMENT = {"bytenite": {("POST", "/v1/auth/access_token"): None, ("GET", "/v1/customer/jobs/{jobId}"): "jobsJobResponse"}}


# ------------------------------------------------------------------ the documents and the checks

def openapi30_nullable(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema: null joins the type (3.1 documents never use it)."""
    if isinstance(node, list):
        return [openapi30_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi30_nullable(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


@pytest.fixture(scope="module")
def documents():
    folder = require("JOBGATE_VENDOR_SCHEMAS")
    return {vendor: openapi30_nullable(json.loads((folder / (vendor + ".json")).read_text())) for vendor in VENDORS}


FORMATS = jsonschema.FormatChecker()  # date-time and friends, plus OpenAPI's integer formats:


@FORMATS.checks("int64")
def _int64(value):
    if isinstance(value, str):  # proto3 JSON writes an int64 declared as a string in decimal
        return re.fullmatch(r"-?\d+", value) is not None and -2**63 <= int(value) < 2**63
    return not isinstance(value, int) or -2**63 <= value < 2**63


@FORMATS.checks("int32")
def _int32(value):
    return not isinstance(value, int) or -2**31 <= value < 2**31


def validate(document, schema, value):
    """jsonschema over one schema of the document, its `#/components/...` references resolved inside it."""
    root = dict(schema, components=document["components"])
    jsonschema.Draft202012Validator(root, format_checker=FORMATS).validate(value)


def resolved(document, node):
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = document["components"][kind][name]
    return node


def media_schema(content, media):
    """The schema for a media type: exact, by a documented wildcard (`application/*+json`), or for an RFC 6839
    `+json` type (ASP.NET sends ProblemDetails as application/problem+json where Swashbuckle documents
    application/json) the application/json one."""
    for documented, entry in content.items():
        if fnmatch.fnmatchcase(media, documented):
            return entry.get("schema", {})
    if media.endswith("+json") and "application/json" in content:
        return content["application/json"].get("schema", {})
    raise AssertionError(f"{media or 'no media type'} is not documented (documented: {sorted(content)})")


def find_operation(document, vendor, method, path):
    """(template, operation, path parameters, parameter list) for a call; the server URL's path is the prefix."""
    base = urllib.parse.urlparse(document["servers"][0]["url"]).path.rstrip("/")
    for template, item in document["paths"].items():
        operation = item.get(method.lower())
        if operation is None:
            continue
        segments = [r"([^/]+)" if re.fullmatch(r"\{\w+\}", part) else re.escape(part) for part in template.split("/")]
        match = re.fullmatch(re.escape(base) + "/".join(segments), path)
        if match:
            names = re.findall(r"\{(\w+)\}", template)
            values = dict(zip(names, (urllib.parse.unquote(value) for value in match.groups())))
            return template, operation, values, item.get("parameters", []) + operation.get("parameters", [])
    raise AssertionError(f"{vendor}: {method} {path} is not an operation of the vendor's document")


def check_credentials(document, operation, headers, query):
    requirements = operation.get("security", document.get("security")) or [{}]
    schemes = document["components"].get("securitySchemes", {})

    def present(name):
        scheme = schemes[name]
        if scheme["type"] == "apiKey":
            return bool(headers.get(scheme["name"].lower()) if scheme["in"] == "header" else query.get(scheme["name"]))
        if scheme["type"] == "http":
            return headers.get("authorization", "").lower().startswith(scheme["scheme"].lower() + " ")
        raise AssertionError(f"security scheme {scheme} not understood by this test")

    assert any(all(present(name) for name in requirement) for requirement in requirements), \
        f"none of the documented credentials {requirements} in {sorted(headers)}"


def check_request(document, vendor, call):
    """One recorded call (method, target, headers, body) against the vendor's document."""
    path, _, query = call["target"].partition("?")
    _, operation, values, parameters = find_operation(document, vendor, call["method"], path)
    check_credentials(document, operation, call["headers"], dict(urllib.parse.parse_qsl(query)))
    for parameter in parameters:
        parameter = resolved(document, parameter)
        if parameter["in"] != "path":
            continue
        value = values[parameter["name"]]
        if parameter["schema"].get("type") == "integer":
            assert re.fullmatch(r"-?\d+", value), f"path parameter {parameter['name']}={value!r} is not an integer"
            value = int(value)
        validate(document, parameter["schema"], value)
    body = resolved(document, operation["requestBody"]) if "requestBody" in operation else None
    if body is None:
        assert call["body"] == "", "a body where the document has none"
        return
    if not call["body"]:
        assert not body.get("required"), "the document requires a body"
        return
    media = call["headers"].get("content-type", "").split(";")[0].strip().lower()
    validate(document, media_schema(body["content"], media), json.loads(call["body"]))


def check_answer(document, operation, status, headers, data):
    """One answer against the documented response for its status (or `default`)."""
    responses = operation["responses"]
    documented = responses.get(str(status)) or responses.get("default")
    assert documented is not None, f"status {status} is not documented"
    documented = resolved(document, documented)
    if not documented.get("content"):
        assert data == b"", f"{status} has no documented body, got {data[:200]!r}"
        return
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    schema = media_schema(documented["content"], media)
    value = json.loads(data) if media.endswith("json") else data.decode()
    validate(document, schema, value)
    # An error declared with an empty schema (ByteNite's) still has the default error's shape.
    if status >= 400 and schema == {} and "default" in responses:
        default = resolved(document, responses["default"])
        validate(document, media_schema(default["content"], media), value)


def outside_the_document(vendor, method, path):
    """The response schema's name (or None) of a call FACTS.md documents outside the OpenAPI file; fails for others."""
    for (known_method, template), schema_name in OUTSIDE_THE_DOCUMENT.get(vendor, {}).items():
        pattern = "/".join(r"[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
        if known_method == method and re.fullmatch(pattern, path):
            return schema_name
    raise AssertionError(f"{vendor}: {method} {path} is in no vendor document")


# ------------------------------------------------------------------ driving the sandbox

def direct(sandbox, vendor, method, target, headers=None, body=None):
    """A call straight to a simulator: (status, lower-cased headers, raw body)."""
    host, port = sandbox.root(vendor).split("://")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, target, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def gateway_patch(gateway, job_id, body):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=15)
    conn.request("PATCH", "/jobs/" + job_id, body=json.dumps(body), headers={"Content-Type": "application/merge-patch+json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def vendor_calls(sandbox, vendor):
    return [call for call in sandbox.requests(vendor) if not call["target"].startswith("/__sandbox")]


def documented_operation(document, vendor, call):
    """The call's operation in the vendor's document, or None for a call FACTS.md documents elsewhere."""
    path = call["target"].split("?")[0]
    try:
        return find_operation(document, vendor, call["method"], path)[:2]
    except AssertionError:
        outside_the_document(vendor, call["method"], path)
        return None


DECK_DEFINITION = {"code": "invoice-extractor", "input_schema": {"type": "object", "properties": {"pdf": {"type": "string"}}},
                   "output_schema": {"type": "object"}}
PATCHES = {
    "deck": [
        ("deck:invoice-extractor", {"name": "Invoices v2", "vendorFields": dict(DECK_DEFINITION, prompts=[{"role": "system", "text": "Be exact."}])}),
        ("deck:invoice-extractor", {"name": "Invoices v3", "vendorFields": dict(DECK_DEFINITION, prompts=None)}),
        ("deck:invoice-extractor", {"name": "Invoices v4", "vendorFields": DECK_DEFINITION}),
        ("deck:shared-utility-bill", {"name": "Bills", "vendorFields": dict(DECK_DEFINITION, code="shared-utility-bill", prompts=None)}),
        ("deck:no-such-job", {"name": "Nothing", "vendorFields": dict(DECK_DEFINITION, code="no-such-job", prompts=None)}),
    ],
    "lilt": [
        ("lilt:241", {"name": "Docs", "dueAt": "2026-05-05T10:56:44.985Z",
                      "vendorFields": {"isProcessing": "-2", "processingErrorMsg": "Authentication failed."}}),
        ("lilt:242", {"name": "Product docs v2"}),
        ("lilt:999", {"name": "Nobody"}),
    ],
    "bytenite": [
        ("bytenite:" + BYTENITE_NEW, {"name": "render", "vendorFields": {
            "params": {"app": {"prompt": "a harbour at dusk"}, "partitioner": {"chunks": 4}},
            "configs": {"taskTimeout": 30, "jobTimeout": 600, "isTestJob": True},
            "dataSource": {"dataSourceDescriptor": "url", "params": {"@type": "type.googleapis.com/api.v1.HttpDataSource",
                                                                     "url": "https://example.com/in.zip"}},
            "dataDestination": {"dataSourceDescriptor": "bucket"}}}),
        ("bytenite:" + BYTENITE_NEW, {"vendorFields": {"configs": {"taskTimeout": 45}}}),
        ("bytenite:" + BYTENITE_STARTED, {"name": "too late"}),
    ],
}


@pytest.fixture
def gw(sandbox, start_gateway):
    sandbox.reset()
    return start_gateway(env=sandbox.env)


def recorded_after_patches(sandbox, gateway, vendor):
    for job_id, body in PATCHES[vendor]:
        status, answer = gateway_patch(gateway, job_id, body)
        assert status < 500 or status == 502, (job_id, status, answer)
    return vendor_calls(sandbox, vendor)


def fresh_credentials(sandbox, vendor):
    """Headers that replace the gateway's exchanged token, which a reset revoked."""
    if vendor != "bytenite":
        return {}
    status, _, data = direct(sandbox, "bytenite", "POST", "/v1/auth/access_token",
                             {"Content-Type": "application/json"}, json.dumps({"apiKey": sandbox.env["BYTENITE_API_KEY"]}))
    assert status == 200
    return {"authorization": json.loads(data)["token"]}


# ------------------------------------------------------------------ the tests

@pytest.mark.parametrize("vendor", VENDORS)
def test_gateway_requests_follow_the_vendor_schema(gw, sandbox, documents, vendor):
    document = documents[vendor]
    covered = set()
    for call in recorded_after_patches(sandbox, gw, vendor):
        operation = documented_operation(document, vendor, call)
        if operation:
            check_request(document, vendor, call)
            covered.add((call["method"], operation[0]))
    documented = {(method.upper(), template) for template, item in document["paths"].items() for method in item if method != "parameters"}
    assert covered == documented, f"operations the patches never exercised: {documented - covered}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_simulator_answers_follow_the_vendor_schema(gw, sandbox, documents, vendor):
    document = documents[vendor]
    calls = recorded_after_patches(sandbox, gw, vendor)
    # Replayed in order on a fresh sandbox: the same states, so the same answers the gateway got (with a fresh
    # exchanged token where the gateway had one: the reset revoked it).
    sandbox.reset()
    credentials = fresh_credentials(sandbox, vendor)
    statuses = []
    for call in calls:
        headers = dict(call["headers"], **credentials) if "authorization" in call["headers"] else call["headers"]
        status, answer_headers, data = direct(sandbox, vendor, call["method"], call["target"], headers, call["body"].encode())
        statuses.append(status)
        operation = documented_operation(document, vendor, call)
        if operation:
            check_answer(document, operation[1], status, answer_headers, data)
        elif status == 200 and (schema_name := outside_the_document(vendor, call["method"], call["target"].split("?")[0])):
            validate(document, {"$ref": "#/components/schemas/" + schema_name}, json.loads(data))
    assert 200 in statuses and any(status >= 400 for status in statuses), statuses


def operation_at(document, template=None):
    """The operation at `template`, or the document's first (Deck's and LILT's only) operation."""
    item = document["paths"][template] if template else next(iter(document["paths"].values()))
    return next(operation for method, operation in item.items() if method != "parameters")


ERROR_CASES = {
    "deck": [
        ("PATCH", "/api/v1/jobs/invoice-extractor", {}, {"name": "x"}),  # 401: no credentials
        ("PATCH", "/api/v1/jobs/invoice-extractor", "creds", {"name": "x"}),  # 400: required members missing
        ("PATCH", "/api/v1/jobs/invoice-extractor", "creds", dict(DECK_DEFINITION, name="x", job_code="y")),  # 400: unknown
        ("PATCH", "/api/v1/jobs/shared-utility-bill", "creds", dict(DECK_DEFINITION, name="x")),  # 403
        ("PATCH", "/api/v1/jobs/nope", "creds", dict(DECK_DEFINITION, name="x")),  # 404
    ],
    "lilt": [
        ("PUT", "/v2/jobs/241", {}, {"name": "x"}),  # 401, text/plain
        ("PUT", "/v2/jobs/999", "creds", {"name": "x"}),  # 404
        ("PUT", "/v2/jobs/241", "creds", {"isProcessing": "7"}),  # 400
        ("GET", "/v2/jobs/241", "creds", None),  # 200: the same Job as the update's
    ],
    "bytenite": [
        ("PATCH", f"/v1/customer/jobs/{BYTENITE_NEW}/configs", {"authorization": "not-a-token"}, {"taskTimeout": 1}),  # 401
        ("PATCH", "/v1/customer/jobs/nope/configs", "creds", {"taskTimeout": 1}),  # 404
        ("PATCH", f"/v1/customer/jobs/{BYTENITE_STARTED}/params", "creds", {"app": {}}),  # 400, code 9
        ("PATCH", f"/v1/customer/jobs/{BYTENITE_NEW}/configs", "creds", {"taskTimeout": "soon"}),  # 400, code 3
    ],
}


def credentials(sandbox, vendor):
    if vendor == "deck":
        return {"x-deck-client-id": sandbox.env["DECK_CLIENT_ID"], "x-deck-secret": sandbox.env["DECK_SECRET"]}
    if vendor == "lilt":
        key = sandbox.env["LILT_API_KEY"]
        return {"authorization": "Basic " + base64.b64encode(f"{key}:{key}".encode()).decode()}
    return fresh_credentials(sandbox, vendor)


@pytest.mark.parametrize("vendor", VENDORS)
def test_simulator_error_answers_follow_the_vendor_schema(sandbox, documents, vendor):
    sandbox.reset()
    document = documents[vendor]
    for method, target, headers, body in ERROR_CASES[vendor]:
        headers = dict(credentials(sandbox, vendor) if headers == "creds" else headers, **{"content-type": "application/json"})
        status, answer_headers, data = direct(sandbox, vendor, method, target, headers, None if body is None else json.dumps(body))
        if method == "GET":  # LILT's read is not in its document; FACTS.md: the same Job object as the update's
            assert status == 200
            validate(document, {"$ref": "#/components/schemas/Job"}, json.loads(data))
            continue
        assert status >= 400, (target, status, data)
        check_answer(document, find_operation(document, vendor, method, target)[1], status, answer_headers, data)


def test_lilt_quota_429_has_no_retry_after(sandbox, documents):
    sandbox.reset()
    sandbox.settings("lilt", requestsPerMinute=2)
    headers = dict(credentials(sandbox, "lilt"), **{"content-type": "application/json"})
    answers = [direct(sandbox, "lilt", "PUT", "/v2/jobs/241", headers, json.dumps({"name": "x"})) for _ in range(3)]
    assert [status for status, _, _ in answers] == [200, 200, 429]
    status, answer_headers, data = answers[-1]
    assert "retry-after" not in answer_headers, "LILT documents a 60 s wait but sends no Retry-After"
    check_answer(documents["lilt"], operation_at(documents["lilt"]), status, answer_headers, data)
    sandbox.reset()  # starts a fresh quota window at the default quota
    assert direct(sandbox, "lilt", "PUT", "/v2/jobs/241", headers, json.dumps({"name": "x"}))[0] == 200


def test_deck_update_replaces_the_whole_definition(sandbox, documents):
    sandbox.reset()
    headers = dict(credentials(sandbox, "deck"), **{"content-type": "application/json"})
    target = "/api/v1/jobs/invoice-extractor"
    with_prompts = dict(DECK_DEFINITION, name="x", prompts=[{"text": "p"}])
    assert json.loads(direct(sandbox, "deck", "PATCH", target, headers, json.dumps(with_prompts))[2])["prompts"] == [{"text": "p"}]
    status, answer_headers, data = direct(sandbox, "deck", "PATCH", target, headers, json.dumps(dict(DECK_DEFINITION, name="x")))
    assert status == 200 and json.loads(data).get("prompts") is None, "an omitted prompts is cleared"
    check_answer(documents["deck"], operation_at(documents["deck"]), status, answer_headers, data)


def test_bytenite_parts_are_replaced_whole(sandbox, documents):
    sandbox.reset()
    headers = dict(credentials(sandbox, "bytenite"), **{"content-type": "application/json"})
    job = f"/v1/customer/jobs/{BYTENITE_NEW}"
    before = json.loads(direct(sandbox, "bytenite", "GET", job, headers)[2])["job"]
    assert before["config"]["taskTimeout"] and before["config"]["jobTimeout"] and "dataDestination" in before
    direct(sandbox, "bytenite", "PATCH", job + "/configs", headers, json.dumps({"taskTimeout": 30}))
    direct(sandbox, "bytenite", "PATCH", job + "/datasource", headers, json.dumps({"dataSource": {"dataSourceDescriptor": "url"}}))
    direct(sandbox, "bytenite", "PATCH", job + "/params", headers, json.dumps({"preset": "fast"}))
    status, answer_headers, data = direct(sandbox, "bytenite", "GET", job, headers)
    after = json.loads(data)
    assert set(after) == {"job", "templateInfo"}
    assert after["job"]["config"] == {"taskTimeout": 30, "jobTimeout": 0, "isTestJob": False}, "left-out members reset"
    assert after["job"]["dataSource"] == {"dataSourceDescriptor": "url"} and "dataDestination" not in after["job"]
    assert after["job"]["params"] == {"preset": "fast"}
    validate(documents["bytenite"], {"$ref": "#/components/schemas/jobsJobResponse"}, after)


# ------------------------------------------------------------------ the checks can fail

WRONG_REQUESTS = {
    "deck": [
        {"method": "PATCH", "target": "/api/v1/jobs/a", "headers": {"x-deck-client-id": "c", "x-deck-secret": "s", "content-type": "application/json"},
         "body": json.dumps({"name": "x", "job_code": "a", "input_schema": {}, "output_schema": {}})},  # job_code, not code
        {"method": "PATCH", "target": "/api/v1/jobs/a", "headers": {"content-type": "application/json"},
         "body": json.dumps(dict(DECK_DEFINITION, name="x"))},  # no credentials
        {"method": "PUT", "target": "/api/v1/jobs/a", "headers": {"x-deck-client-id": "c", "x-deck-secret": "s"}, "body": ""},
    ],
    "lilt": [
        {"method": "PUT", "target": "/v2/jobs/241", "headers": {"authorization": "Basic a2V5OmtleQ==", "content-type": "application/json"},
         "body": json.dumps({"isProcessing": 1})},  # an integer where the enum is strings
        {"method": "PUT", "target": "/v2/jobs/241", "headers": {"authorization": "Basic a2V5OmtleQ==", "content-type": "application/json"},
         "body": json.dumps({"due": "next Tuesday"})},  # not a date-time
        {"method": "PUT", "target": "/v2/jobs/abc", "headers": {"authorization": "Basic a2V5OmtleQ==", "content-type": "application/json"},
         "body": json.dumps({"name": "x"})},  # jobId must be an integer
        {"method": "PUT", "target": "/v2/jobs/241", "headers": {"authorization": "Basic a2V5OmtleQ==", "content-type": "text/plain"},
         "body": json.dumps({"name": "x"})},  # undocumented media type
    ],
    "bytenite": [
        {"method": "PATCH", "target": "/v1/customer/jobs/j/configs", "headers": {"authorization": "t", "content-type": "application/json"},
         "body": json.dumps({"taskTimeout": "soon"})},
        {"method": "PATCH", "target": "/v1/customer/jobs/j/jobname", "headers": {"authorization": "t", "content-type": "application/json"},
         "body": json.dumps({"name": "x"})},  # the body is a bare JSON string
        {"method": "PATCH", "target": "/v1/customer/jobs/j/params", "headers": {"authorization": "t", "content-type": "application/json"},
         "body": ""},  # the body is required
        {"method": "PATCH", "target": "/v1/customer/jobs/j/nothing", "headers": {"authorization": "t", "content-type": "application/json"},
         "body": "{}"},  # no such operation
    ],
}

WRONG_ANSWERS = {
    "deck": [(200, {"name": "x", "code": "a", "input_schema": {}, "output_schema": {}}),  # code, not job_code
             (200, {"name": "x", "job_code": "a", "input_schema": {}, "output_schema": {}, "updated_at": "2026-01-01"})],
    "lilt": [(200, {"id": 241, "isProcessing": "1"}),  # returned as an integer
             (200, {"id": 241, "domains": [{"id": 12}]})],  # a domain needs its name
    "bytenite": [(200, {"job": {"config": {"taskTimeout": "soon"}}}),
                 (200, {"job": {"state": "JOB_STATE_SLEEPING"}}),
                 (404, {"code": "5", "message": "not found"})],  # rpcStatus.code is an integer
}


RIGHT_REQUESTS = {  # the same checks pass these, so the failures above are about what was wrong
    "deck": {"method": "PATCH", "target": "/api/v1/jobs/a", "headers": {"x-deck-client-id": "c", "x-deck-secret": "s", "content-type": "application/json"},
             "body": json.dumps(dict(DECK_DEFINITION, name="x", prompts=None))},
    "lilt": {"method": "PUT", "target": "/v2/jobs/241?key=k", "headers": {"content-type": "application/json"},
             "body": json.dumps({"isProcessing": "1", "due": "2026-05-05T10:56:44.985Z"})},
    "bytenite": {"method": "PATCH", "target": "/v1/customer/jobs/j/configs", "headers": {"authorization": "t", "content-type": "application/json"},
                 "body": json.dumps({"taskTimeout": 30})},
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_checks_reject_wrong_requests_and_answers(documents, vendor):
    document = documents[vendor]
    for call in WRONG_REQUESTS[vendor]:
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            check_request(document, vendor, call)
    check_request(document, vendor, RIGHT_REQUESTS[vendor])
    operation = operation_at(document, "/jobs/{jobId}/configs" if vendor == "bytenite" else None)
    for status, answer in WRONG_ANSWERS[vendor]:
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            check_answer(document, operation, status, {"content-type": "application/json"}, json.dumps(answer).encode())
    if vendor == "deck":  # its 401 is documented without a body
        with pytest.raises(AssertionError):
            check_answer(document, operation, 401, {"content-type": "application/json"}, b'{"message":"no"}')


# ------------------------------------------------------------------ Shop Planr: its own server code is the judge

@pytest.fixture(scope="module")
def shopplanr_server(tmp_path_factory):
    """Shop Planr's real server on a free port, its admin's PIN set to the sandbox PIN."""
    folder = require("JOBGATE_SHOPPLANR_SERVER")
    node = shutil.which("node") or pytest.skip("node is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = tmp_path_factory.mktemp("shopplanr") / "shop.db"
    process = subprocess.Popen([node, "server.mjs"], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, NUXT_DB_PATH=str(database), NITRO_HOST="127.0.0.1", NITRO_PORT=str(port)))
    server = ("127.0.0.1", port)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if shopplanr_call(server, "GET", "/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        [admin] = json.loads(shopplanr_call(server, "GET", "/api/users")[2])
        assert shopplanr_call(server, "POST", "/api/auth/setup-pin", {"userId": admin["id"], "pin": "2468"})[0] == 200
        yield server, admin["username"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def shopplanr_call(server, method, target, body=None, token=None, raw=None):
    conn = http.client.HTTPConnection(*server, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, target, body=raw if raw is not None else None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()


def comparable(server, answer, job_id):
    """What must match: status, media type, cache header and body, with the address, times, tokens, the job's
    id and priority (the real server has no seed job) written out of both."""
    status, headers, body = answer
    body = body.replace("%s:%d" % server, "HOST").replace(job_id, "JOB")
    body = re.sub(r'"\d{4}-\d\d-\d\dT[\d:.]+Z"', '"TIME"', body)
    body = re.sub(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", "JWT", body)
    body = re.sub(r'"priority":\d+', '"priority":N', body)
    return status, headers.get("content-type"), headers.get("cache-control"), "retry-after" in headers, body


SHOPPLANR_BODIES = ['{}', '{"x":1}', '{"name":""}', '{"name":"  "}', '{"name":5}', '{"name":null}', '{"goalQuantity":0}',
                    '{"goalQuantity":1.5}', '{"goalQuantity":"3"}', '{"goalQuantity":6.0}', '{"goalQuantity":1e1}',
                    '{"goalQuantity":1e20}', '{"goalQuantity":-1e20}', '{"goalQuantity":true}', '{"name":"","goalQuantity":0}',
                    '{"name":" Trimmed "}', '[1]', 'null', '"text"', 'not json', '']


def test_shopplanr_simulator_answers_like_the_real_server(sandbox, shopplanr_server):
    sandbox.reset()
    real, admin = shopplanr_server
    simulator = tuple(sandbox.root("shopplanr").split("://")[1].split(":"))
    simulator = (simulator[0], int(simulator[1]))
    sides = []
    for server, username in ((real, admin), (simulator, sandbox.env["SHOPPLANR_USERNAME"])):
        login = shopplanr_call(server, "POST", "/api/auth/login", {"username": username, "pin": sandbox.env["SHOPPLANR_PIN"]})
        token = json.loads(login[2])["token"]
        header, payload, _ = (json.loads(base64.urlsafe_b64decode(part + "==")) if index < 2 else part
                              for index, part in enumerate(token.split(".")))
        job = json.loads(shopplanr_call(server, "POST", "/api/jobs", {"name": "Compare", "goalQuantity": 5}, token)[2])["id"]
        cases = [("POST", "/api/auth/login", {"username": "nobody", "pin": "1234"}, None, None),
                 ("POST", "/api/auth/login", {"username": "", "pin": 12}, None, None),
                 ("POST", "/api/auth/refresh", None, token, None),
                 ("POST", "/api/auth/refresh", None, "abc.def.ghi", None),
                 ("POST", "/api/auth/refresh", None, None, None),
                 ("GET", f"/api/jobs/{job}", None, None, None),
                 ("GET", f"/api/jobs/{job}", None, "not-a-token", None),
                 ("GET", f"/api/jobs/{job}", None, token, None),
                 ("GET", "/api/jobs/job_nope?x=1", None, token, None),
                 ("PATCH", f"/api/jobs/{job}", {}, token, None),
                 ("POST", "/api/jobs", {"name": " ", "goalQuantity": 1}, token, None),
                 ("POST", "/api/jobs", {"goalQuantity": 2, "jiraLabels": [1]}, token, None),
                 ("PUT", "/api/jobs/job_nope", None, token, '{"goalQuantity":0}'),
                 ("PUT", "/api/jobs/job_nope", None, token, '{"name":" "}')]
        cases += [("PUT", f"/api/jobs/{job}", None, token, raw) for raw in SHOPPLANR_BODIES]
        answers = [comparable(server, shopplanr_call(server, method, target, body, bearer, raw), job)
                   for method, target, body, bearer, raw in cases]
        # Last, the login limit (6 in 15 s): both refuse with Nitro's 429 and a Retry-After.
        refused = next(answer for answer in (shopplanr_call(server, "POST", "/api/auth/login", {"username": "x", "pin": "0000"})
                                             for _ in range(10)) if answer[0] == 429)
        answers.append(comparable(server, refused, job))
        sides.append((header, sorted(payload), payload["exp"] - payload["iat"], cases, answers))
    (real_header, real_claims, real_lifetime, cases, real_answers), (header, claims, lifetime, _, answers) = sides
    assert (header, claims, lifetime) == (real_header, real_claims, real_lifetime) == ({"alg": "ES256"}, claims, 24 * 3600)
    differences = [(case[:2], case[4] or case[2], mine, theirs) for case, mine, theirs in zip(cases + [("POST", "login x10")], answers, real_answers)
                   if mine != theirs]
    assert not differences, json.dumps(differences, indent=1)
