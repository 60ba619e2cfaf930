"""Writes that are not idempotent go out on pooled upstream connections and still reach the vendor at most once.

libcurl re-sends a request on a new connection when a pooled one closed before any answer byte; for a write the
vendor may already have acted on, that is a second write. The gateway stops such a repeat (the caller gets a 502
`closed-before-answer`, `outcome: unknown`) and keeps the race rare by not reusing connections idle for longer
than the vendor keeps them. The vendor here is Tests/fixtures/bad_upstream.py standing in for LILT, with LILT's
update marked as not idempotent.
"""
import http.client
import json

import pytest

from test_faults import assert_healthy, assert_problem, bad, lilt_changed, mappings, start, update  # noqa: F401 (fixtures)


@pytest.fixture
def lilt_write_once(tmp_path):
    """The test mappings with LILT's update marked as not safe to repeat."""
    def not_idempotent(mapping):
        for call in mapping["calls"]:
            call["idempotent"] = False
    return lilt_changed(tmp_path, not_idempotent)


def test_write_on_a_connection_closed_at_the_moment_of_reuse_is_not_sent_twice(start, bad, lilt_write_once):
    upstream = bad("close-on-reuse")
    gateway = start("--threads", "1", mapping_folder=lilt_write_once, LILT_BASE_URL=upstream.base_url)
    assert update(gateway, body={"name": "first"}).status == 200
    problem = assert_problem(update(gateway, body={"name": "second"}), 502, error="closed-before-answer")
    assert problem["outcome"] == "unknown"
    # libcurl connects anew before the repeat is stopped: that connection closes without a byte sent.
    assert upstream.requests == 2, "the second write reached the vendor twice"
    assert_healthy(gateway)


def test_write_the_vendor_read_before_closing_is_not_sent_twice(start, bad, lilt_write_once):
    upstream = bad("ok")
    gateway = start("--threads", "1", mapping_folder=lilt_write_once, LILT_BASE_URL=upstream.base_url)
    assert update(gateway).status == 200
    upstream.mode = "close-after-request"
    on_pooled = assert_problem(update(gateway), 502, error="closed-before-answer")
    on_new = assert_problem(update(gateway), 502, error="reset")
    assert on_pooled["outcome"] == on_new["outcome"] == "unknown"
    assert upstream.requests == 3, "each write reached the vendor once"
    upstream.mode = "ok"
    assert_healthy(gateway)


def test_thousand_sequential_writes_use_at_most_three_connections(start, bad, lilt_write_once):
    upstream = bad("ok")
    gateway = start(mapping_folder=lilt_write_once, LILT_BASE_URL=upstream.base_url)
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=30)
    for index in range(1000):
        conn.request("PATCH", "/jobs/lilt:241", body=json.dumps({"name": "v%d" % index}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, response.read()[:300]
        response.read()
    conn.close()
    assert upstream.requests == 1000
    assert upstream.connections <= 3, upstream.connections
