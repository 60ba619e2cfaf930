"""External test inputs (files this repository does not ship), each found through one variable.

| variable | default (beside the clone) | what it adds |
|---|---|---|
| JOBGATE_TESTDATA | ../shared/testdata | JSONTestSuite conformance files |
| JOBGATE_VENDOR_SCHEMAS | ../shared/vendors/openapi | the vendors' published OpenAPI request/response schemas |
| JOBGATE_SHOPPLANR_SERVER | ../shared/vendors/shopplanr-server | Shop Planr's real server code, run with node |

A missing input skips the tests that need it and is named at the end of the run; with
JOBGATE_REQUIRE_TEST_INPUTS=1 (CI) a missing input fails instead. README "Testing" says where to get each.

`python3 Tests/integration/external_inputs.py` prints one line per input that is absent (scripts/test ends
with it) and, when inputs are required, exits 1 if any is.
"""
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

DEFAULTS = {
    "JOBGATE_TESTDATA": ROOT.parent / "shared" / "testdata",
    "JOBGATE_VENDOR_SCHEMAS": ROOT.parent / "shared" / "vendors" / "openapi",
    "JOBGATE_SHOPPLANR_SERVER": ROOT.parent / "shared" / "vendors" / "shopplanr-server",
}

# What a run without the input leaves untested.
NOT_TESTED_WITHOUT = {
    "JOBGATE_TESTDATA": "the JSON parser against JSONTestSuite",
    "JOBGATE_VENDOR_SCHEMAS": "upstream requests against the vendors' published OpenAPI schemas",
    "JOBGATE_SHOPPLANR_SERVER": "updates against Shop Planr's real server",
}

missing = {}


def inputs_required():
    return os.environ.get("JOBGATE_REQUIRE_TEST_INPUTS") == "1"


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
    if inputs_required():
        pytest.fail(message + " (JOBGATE_REQUIRE_TEST_INPUTS=1)")
    pytest.skip(message)


def absent():
    """Every input whose folder is missing, whether or not a test of this run asked for it: {variable: path}."""
    return {variable: location(variable) for variable in DEFAULTS if not location(variable).is_dir()}


def ran_without_line(variable, path):
    return (f"ran without {variable} ({path} not found), so not tested: {NOT_TESTED_WITHOUT[variable]} "
            f"(README \"Testing\" says where to get it)")


if __name__ == "__main__":
    for variable, path in absent().items():
        print(ran_without_line(variable, path))
    sys.exit(1 if absent() and inputs_required() else 0)
