"""External test inputs (files this repository does not ship), each found through one variable.

| variable | default (beside the clone) | what it adds |
|---|---|---|
| JOBGATE_TESTDATA | ../shared/testdata | JSONTestSuite conformance files |
| JOBGATE_VENDOR_SCHEMAS | ../shared/vendors/openapi | the vendors' published OpenAPI request/response schemas |
| JOBGATE_SHOPPLANR_SERVER | ../shared/vendors/shopplanr-server | Shop Planr's real server code, run with node |

A missing input skips the tests that need it and is named at the end of the run; with
JOBGATE_REQUIRE_TEST_INPUTS=1 (CI) a missing input fails instead.
"""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

DEFAULTS = {
    "JOBGATE_TESTDATA": ROOT.parent / "shared" / "testdata",
    "JOBGATE_VENDOR_SCHEMAS": ROOT.parent / "shared" / "vendors" / "openapi",
    "JOBGATE_SHOPPLANR_SERVER": ROOT.parent / "shared" / "vendors" / "shopplanr-server",
}

missing = {}


def location(variable):
    explicit = os.environ.get(variable)
    return pathlib.Path(explicit) if explicit else DEFAULTS[variable]


def require(variable):
    """The input's folder; skips (or, when inputs are required, fails) the calling test when it is absent."""
    path = location(variable)
    if path.is_dir():
        return path
    missing[variable] = path
    message = f"{variable} not found at {path}"
    if os.environ.get("JOBGATE_REQUIRE_TEST_INPUTS") == "1":
        pytest.fail(message + " (JOBGATE_REQUIRE_TEST_INPUTS=1)")
    pytest.skip(message)
