"""docs/contract.md and the binary describe the same surface.

The document's routes table, its status table for GET and PATCH /jobs/{id} and its canonical fields table are
compared with what `jobgate serve` publishes at /openapi.json, and each vendor column of the fields table
with /vendors. The section "Planned, not yet served" is left out: it names what the binary does not serve.
"""
import http.client
import json
import pathlib
import re

from conftest import openapi_document

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "contract.md"
PLANNED_SECTION = "not yet served"
VENDORS = ("deck", "bigchange", "shopplanr", "lilt", "bytenite")
ABSENT = "—"


def served_tables():
    """The markdown tables outside the planned section, each a list of rows {header: cell}, code ticks removed."""
    tables, section, rows = [], "", None
    for line in DOC.read_text().splitlines() + [""]:
        if line.startswith("## "):
            section = line
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if rows is None:
                header, rows = cells, []
            elif not set("".join(cells)) <= set("-: "):
                rows.append(dict(zip(header, cells)))
            continue
        if rows is not None and PLANNED_SECTION not in section.lower():
            tables.append([{name: cell.replace("`", "") for name, cell in row.items()} for row in rows])
        rows = None
    return tables


def table_with(*columns):
    found = [table for table in served_tables() if table and all(column in table[0] for column in columns)]
    assert len(found) == 1, f"docs/contract.md needs exactly one table with columns {columns}, has {len(found)}"
    return found[0]


def test_routes_agree_with_openapi():
    documented = {(row["method"], row["path"]) for row in table_with("method", "path")}
    served = {(method.upper(), path) for path, operations in openapi_document()["paths"].items()
              for method in operations if method != "parameters"}
    assert served - documented == set(), "served but missing from docs/contract.md §3 Routes " \
        "(move it out of 'Planned, not yet served' if it is listed there)"
    assert documented - served == set(), "in docs/contract.md §3 Routes but not in /openapi.json"


def test_job_statuses_agree_with_openapi():
    """Every row is a status of PATCH /jobs/{id}; those with a GET mark are GET's too."""
    rows = table_with("status", "when", "GET")
    operations = openapi_document()["paths"]["/jobs/{id}"]
    assert {row["status"] for row in rows} == set(operations["patch"]["responses"])
    assert {row["status"] for row in rows if row["GET"] != ABSENT} == set(operations["get"]["responses"])


def test_canonical_fields_agree_with_openapi():
    documented = {row["field"] for row in table_with("field", "type", *VENDORS)}
    schemas = openapi_document()["components"]["schemas"]
    assert documented == set(schemas["JobPatch"]["properties"])
    # A Job answers with the canonical fields it has; vendorFields is write-only (answers use vendorData).
    assert documented - {"vendorFields"} <= set(schemas["Job"]["properties"])


def test_vendor_columns_agree_with_vendors_route(gateway):
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    connection.request("GET", "/vendors")
    served = {vendor["id"]: vendor for vendor in json.loads(connection.getresponse().read())["vendors"]}
    rows = table_with("field", "type", *VENDORS)
    for vendor in VENDORS:
        fields = [row["field"] for row in rows if row["field"] != "vendorFields" and row[vendor] != ABSENT]
        assert sorted(fields) == sorted(served[vendor]["fields"]), vendor
        vendor_fields_cell = next(row[vendor] for row in rows if row["field"] == "vendorFields")
        documented = [] if vendor_fields_cell == ABSENT else re.split(r",\s*", vendor_fields_cell)
        assert sorted(documented) == sorted(field["name"] for field in served[vendor]["vendorFields"]), vendor


def test_readme_and_docs_links_stay_inside_the_repository():
    """A user with a clone alone must be able to follow every relative link of the README and docs/."""
    root = DOC.parents[1]
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            path = target.split("#", 1)[0]
            if path and "://" not in target:
                resolved = (page.parent / path).resolve()
                assert resolved.is_relative_to(root) and resolved.exists(), f"{page.name} links to {target}"
