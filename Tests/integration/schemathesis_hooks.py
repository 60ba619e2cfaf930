"""Schemathesis hooks for the vendor pass of test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Fuzzed ids almost never name a real job, so a plain run only exercises the gateway's front door. For the vendor
pass this hook rewrites the loaded document: `/jobs/{id}` becomes one operation per sandbox job
(`/jobs/lilt:241`, ...) whose body schema keeps only the canonical fields that vendor supports (as the gateway's
own `/vendors` reports them). Generated patches then pass validation and reach the simulators, so the
normalizer's answers and the mapped upstream errors are what gets checked against the document.

JOBGATE_ST_JOBS: comma-separated `{vendor}:{vendorJobId}` list; JOBGATE_ST_VENDORS: the gateway's `/vendors` JSON.
"""
import copy
import json
import os

import schemathesis


def vendor_fields_schema(vendor, job_id):
    """`vendorFields` as the vendor's entry in /vendors describes it (deck must carry its full definition)."""
    properties = {}
    for field in vendor["vendorFields"]:
        kind = field["type"]
        if kind == "object":
            schema = {"type": "object", "properties": {key: {} for key in field["keys"]}, "additionalProperties": False}
        elif kind == "enum":
            schema = {"enum": field["values"]}
        elif kind in ("string", "nonEmptyString"):
            schema = {"type": "string", "minLength": 1 if kind == "nonEmptyString" else 0}
        else:
            schema = {}
        properties[field["name"]] = schema
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if vendor["id"] == "deck":
        # A deck update replaces the whole definition (contract §3): code, schemas and name are required, and
        # prompts must be present (a value or null) since an omitted one is cleared.
        properties["code"] = {"const": job_id}
        schema["required"] = ["code", "input_schema", "output_schema", "prompts"]
    return schema


@schemathesis.hook
def before_load_schema(context, raw_schema):
    jobs = [job for job in os.environ.get("JOBGATE_ST_JOBS", "").split(",") if job]
    if not jobs:
        return
    vendors = {vendor["id"]: vendor for vendor in json.loads(os.environ["JOBGATE_ST_VENDORS"])["vendors"]}
    template = raw_schema["paths"].pop("/jobs/{id}")
    for job in jobs:
        vendor_id, _, job_id = job.partition(":")
        vendor = vendors[vendor_id]
        operation = copy.deepcopy(template)
        if not vendor["readable"]:
            del operation["get"]  # deck's job path serves PATCH alone (405 with Allow: PATCH)
        else:
            operation["get"]["operationId"] = "readJob_" + vendor_id
        patch = operation["patch"]
        patch["operationId"] = "updateJob_" + vendor_id
        # The id is fixed by the path; Job-Vendor could only contradict it, a random Job-Account is a 400 before any
        # call (the sandbox mappings declare no accounts), and a random Request-Timeout string is a 400 that says
        # nothing about the vendor path. Prefer stays a free string (unknown preferences are ignored, RFC 7240) with
        # examples, so that return=minimal and dry-run answers are among those checked.
        operation["parameters"] = [p for p in operation["parameters"]
                                   if p["name"] not in ("id", "Job-Vendor", "Job-Account", "Request-Timeout")]
        for parameter in patch["parameters"]:
            if parameter["name"] == "Prefer":
                parameter["examples"] = {"minimal": {"value": "return=minimal"}, "dry-run": {"value": "dry-run"},
                                         "both": {"value": "return=minimal, dry-run"}}
        schema = copy.deepcopy(raw_schema["components"]["schemas"]["JobPatch"])
        schema["properties"] = {name: value for name, value in schema["properties"].items() if name in vendor["fields"]}
        if vendor["vendorFields"]:
            schema["properties"]["vendorFields"] = vendor_fields_schema(vendor, job_id)
        if vendor_id == "deck":
            schema["required"] = ["name", "vendorFields"]
        for media in patch["requestBody"]["content"].values():
            media["schema"] = schema
        raw_schema["paths"]["/jobs/" + job] = operation
