import JobGateCore
import JobGatePosix
/// `GET /openapi.json`: the public surface as OpenAPI 3.1, served from this literal (kept true by tests that
/// check real responses against it).
enum OpenAPIDocument {
    static let bytes = Array(text.utf8)

    static let text = #"""
{"openapi":"3.1.0",
 "info":{"title":"JobGate","version":"0.1.0","description":"One endpoint to update jobs in several vendors' systems. Errors are RFC 9457 problem+json."},
 "paths":{
  "/jobs/{id}":{
   "parameters":[
     {"name":"id","in":"path","required":true,"description":"{vendor}:{vendorJobId} (the colon may be percent-encoded), or a bare vendor id with Job-Vendor","schema":{"type":"string","minLength":1}},
     {"name":"dryRun","in":"query","schema":{"type":"string","enum":["true","false"]}},
     {"name":"raw","in":"query","schema":{"type":"string","enum":["true","false"]},"description":"true: the Job carries raw, the vendor's own answers (redacted, bounded)"},
     {"name":"Job-Vendor","in":"header","schema":{"type":"string"}},
     {"name":"Job-Account","in":"header","schema":{"type":"string"},"description":"one of the vendor's accounts (GET /vendors); absent or default: the top-level credentials"},
     {"name":"Request-Timeout","in":"header","schema":{"type":"string"},"description":"seconds that bound the whole request"},
     {"name":"X-Request-Id","in":"header","schema":{"type":"string"}}],
   "get":{"operationId":"readJob","summary":"Read a job through its vendor's read call",
    "parameters":[
     {"name":"Prefer","in":"header","schema":{"type":"string"},"description":"dry-run (return=minimal is ignored: the job is what a GET is for)"}],
    "responses":{
     "200":{"description":"The job, or the planned read of a dry run","content":{"application/json":{"schema":{"oneOf":[{"$ref":"#/components/schemas/Job"},{"$ref":"#/components/schemas/DryRun"}]}}}},
     "400":{"$ref":"#/components/responses/Problem"},"401":{"$ref":"#/components/responses/Problem"},
     "403":{"$ref":"#/components/responses/Problem"},"404":{"$ref":"#/components/responses/Problem"},
     "405":{"$ref":"#/components/responses/Problem"},"409":{"$ref":"#/components/responses/Problem"},
     "422":{"$ref":"#/components/responses/Problem"},"429":{"$ref":"#/components/responses/Problem"},
     "502":{"$ref":"#/components/responses/Problem"},"503":{"$ref":"#/components/responses/Problem"},
     "504":{"$ref":"#/components/responses/Problem"}}},
   "patch":{"operationId":"updateJob","summary":"Apply a JSON Merge Patch to a job in its vendor's system",
    "parameters":[
     {"name":"Prefer","in":"header","schema":{"type":"string"},"description":"return=minimal and/or dry-run"}],
    "requestBody":{"required":true,"content":{
      "application/merge-patch+json":{"schema":{"$ref":"#/components/schemas/JobPatch"}},
      "application/json":{"schema":{"$ref":"#/components/schemas/JobPatch"}}}},
    "responses":{
     "200":{"description":"The job after the update, or the planned calls of a dry run","content":{"application/json":{"schema":{"oneOf":[{"$ref":"#/components/schemas/Job"},{"$ref":"#/components/schemas/DryRun"}]}}}},
     "204":{"description":"Updated (Prefer: return=minimal)"},
     "400":{"$ref":"#/components/responses/Problem"},"401":{"$ref":"#/components/responses/Problem"},
     "403":{"$ref":"#/components/responses/Problem"},"404":{"$ref":"#/components/responses/Problem"},
     "405":{"$ref":"#/components/responses/Problem"},"409":{"$ref":"#/components/responses/Problem"},
     "413":{"$ref":"#/components/responses/Problem"},"415":{"$ref":"#/components/responses/Problem"},
     "422":{"$ref":"#/components/responses/Problem"},"429":{"$ref":"#/components/responses/Problem"},
     "502":{"$ref":"#/components/responses/Problem"},"503":{"$ref":"#/components/responses/Problem"},
     "504":{"$ref":"#/components/responses/Problem"}}}},
  "/healthz":{"get":{"operationId":"health","responses":{"200":{"description":"Alive","content":{"application/json":{"schema":{"type":"object","required":["status"],"properties":{"status":{"const":"ok"}}}}}}}}},
  "/readyz":{"get":{"operationId":"ready","responses":{"200":{"description":"Ready: mappings loaded","content":{"application/json":{"schema":{"type":"object","required":["status","mappingHash"],"properties":{"status":{"const":"ready"},"mappingHash":{"type":"string"},"vendors":{"type":"integer"}}}}}}}}},
  "/metrics":{"get":{"operationId":"metrics","responses":{"200":{"description":"Prometheus text format","content":{"text/plain":{"schema":{"type":"string"}}}}}}},
  "/vendors":{"get":{"operationId":"vendors","responses":{"200":{"description":"Configured vendors","content":{"application/json":{"schema":{"type":"object","required":["mappingHash","vendors"],"properties":{"mappingHash":{"type":"string"},"vendors":{"type":"array","items":{"type":"object","required":["id","configured","fields"],"properties":{"id":{"type":"string"},"configured":{"type":"boolean"},"readable":{"type":"boolean"},"fields":{"type":"array","items":{"type":"string"}},"accounts":{"type":"array","items":{"type":"object","required":["name","configured"],"properties":{"name":{"type":"string"},"configured":{"type":"boolean"},"missing":{"type":"array","items":{"type":"string"}},"baseUrl":{"type":"string"},"circuitOpen":{"type":"boolean"}}}}}}}}}}}}}}},
  "/openapi.json":{"get":{"operationId":"openapi","responses":{"200":{"description":"This document","content":{"application/json":{"schema":{"type":"object"}}}}}}}},
 "components":{
  "responses":{"Problem":{"description":"RFC 9457 problem","content":{"application/problem+json":{"schema":{"$ref":"#/components/schemas/Problem"}}}}},
  "schemas":{
   "JobPatch":{"type":"object","additionalProperties":false,"properties":{
     "name":{"type":"string","minLength":1},"description":{"type":"string"},"dueAt":{"type":"string","format":"date-time"},
     "goalQuantity":{"type":"integer","minimum":1},"plannedDurationMinutes":{"type":"integer","minimum":0},
     "reference":{"type":["string","null"]},"orderNumber":{"type":["string","null"]},
     "contactPersonId":{"type":["string","null"],"format":"uuid"},
     "customFields":{"type":"object","additionalProperties":{"type":["string","null"]}},
     "vendorFields":{"type":"object"}}},
   "Job":{"type":"object","required":["id","vendor","vendorJobId","vendorData"],"properties":{
     "id":{"type":"string"},"vendor":{"type":"string"},"vendorJobId":{"type":"string"},
     "name":{"type":"string"},"description":{"type":"string"},"dueAt":{"type":"string"},"goalQuantity":{"type":"integer"},
     "plannedDurationMinutes":{"type":"integer"},"reference":{"type":["string","null"]},"orderNumber":{"type":["string","null"]},
     "contactPersonId":{"type":["string","null"]},"customFields":{"type":"object"},
     "createdAt":{"type":"string","format":"date-time"},"updatedAt":{"type":"string","format":"date-time"},
     "vendorData":{"type":"object"},
     "raw":{"type":"array","description":"?raw=true: each vendor answer behind the job, in call order","items":{"type":"object","required":["call","method","status"],"properties":{
       "call":{"type":"string"},"method":{"type":"string"},"status":{"type":"integer"},"body":{"description":"parsed JSON, or text when the body is not JSON or is cut"},
       "truncated":{"const":true,"description":"the body was over 64 KiB: body is its first 64 KiB as text"}}}},
     "readBack":{"$ref":"#/components/schemas/ReadBackFailure"}}},
   "ReadBackFailure":{"type":"object","description":"Present only when the update landed but reading the job back failed: the job holds what the patch set, and this problem says why it could not be read","required":["type","title","status","detail"],"properties":{
     "type":{"type":"string","format":"uri"},"title":{"type":"string"},"status":{"type":"integer"},"detail":{"type":"string"},
     "vendor":{"type":"string"},"upstreamStatus":{"type":"integer"},"upstream":{"type":"object"}}},
   "DryRun":{"type":"object","required":["dryRun","vendor","vendorJobId","calls"],"properties":{
     "dryRun":{"const":true},"vendor":{"type":"string"},"vendorJobId":{"type":"string"},
     "calls":{"type":"array","items":{"type":"object","required":["name","method","url","headers"],"properties":{
       "name":{"type":"string"},"method":{"type":"string"},"url":{"type":"string"},"headers":{"type":"object","additionalProperties":{"type":"string"}},
       "body":{},"idempotent":{"type":"boolean"},"mergeWithRead":{"const":true,"description":"the body holds the patch's part only: it is merged into the job's current value read by the call before it"}}}}}},
   "Problem":{"type":"object","required":["type","title","status","detail","instance","requestId"],"properties":{
     "type":{"type":"string","format":"uri"},"title":{"type":"string"},"status":{"type":"integer"},"detail":{"type":"string"},
     "instance":{"type":"string"},"requestId":{"type":"string"},"vendor":{"type":"string"},"upstreamStatus":{"type":"integer"},
     "errors":{"type":"object","additionalProperties":{"type":"array","items":{"type":"string"}}},
     "upstream":{"type":"object"},"attempts":{"type":"array"},"steps":{"type":"array"},
     "applied":{"type":"array","items":{"type":"string"}},"failed":{"type":"string"},"outcome":{"const":"unknown"}}}}}}
"""#
}
