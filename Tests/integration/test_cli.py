"""The command line explains itself and proves mappings: help, version, typos, `check` with examples (text and
JSON lines), and `jobgate plan`, whose output must be exactly the gateway's dry run of the same patch."""
import http.client
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, binary_path


def jobgate(*args, env=None, stdin=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBGATE_")}
    environment.update(env or {})
    return subprocess.run([binary_path(), *args], capture_output=True, text=True, timeout=30, env=environment,
                          input=stdin, cwd=ROOT)


def metric_build_info(gateway):
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("GET", "/metrics")
    line = next(l for l in conn.getresponse().read().decode().splitlines() if l.startswith("jobgate_build_info{"))
    labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].split(","))
    return {name: value.strip('"') for name, value in labels.items()}


def test_help_lists_every_command_and_each_command_its_options():
    result = jobgate("--help")
    assert result.returncode == 0
    for command in ("serve", "check", "plan", "sandbox"):
        assert any(line.strip().startswith(command + " ") for line in result.stdout.splitlines()), command
    for command, option in (("serve", "--listen"), ("check", "--format"), ("plan", "--patch"), ("sandbox", "--base-port")):
        own = jobgate(command, "--help")
        assert own.returncode == 0 and option in own.stdout, command


def test_version_says_what_build_info_says(gateway):
    info = metric_build_info(gateway)
    result = jobgate("--version")
    assert result.returncode == 0
    assert info["version"] in result.stdout and info["mapping_hash"] in result.stdout


def test_the_gateway_allocates_with_mimalloc():
    # The executable links mimalloc ahead of libc; the binary checks that malloc's blocks come from mimalloc's heap.
    result = jobgate("--version")
    allocator = [line for line in result.stdout.splitlines() if line.startswith("allocator ")]
    assert allocator and allocator[0].startswith("allocator mimalloc "), result.stdout


@pytest.mark.parametrize("args,suggestion", [
    (("chek",), "check"), (("paln",), "plan"), (("serve", "--listn", "x"), "--listen"),
    (("check", "--fromat", "json"), "--format"), (("plan", "lilt:1", "--pach", "{}"), "--patch"),
    (("sandbox", "--base-prot", "0"), "--base-port")])
def test_a_typo_names_the_closest_valid_command_or_flag(args, suggestion):
    result = jobgate(*args)
    assert result.returncode == 2
    assert f"did you mean '{suggestion}'?" in result.stdout + result.stderr


def test_check_runs_the_shipped_examples():
    result = jobgate("check", "Mappings")
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("examples pass") == 5


def changed_mappings(tmp_path, vendor, edit):
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "Mappings", folder)
    document = json.loads((folder / f"{vendor}.json").read_text())
    edit(document)
    (folder / f"{vendor}.json").write_text(json.dumps(document))
    return folder


def test_a_changed_expected_path_or_field_fails_check_naming_it(tmp_path):
    def change_path(document):
        document["examples"][0]["calls"][1]["path"] = "/jobs/1002"
    result = jobgate("check", str(changed_mappings(tmp_path / "a", "bigchange", change_path)))
    assert result.returncode == 1
    assert "bigchange.json at /examples/0/calls/1/path" in result.stdout and "204, then the job read back" in result.stdout

    def change_field(document):
        document["examples"][0]["job"]["name"] = "Docs v3"
    result = jobgate("check", str(changed_mappings(tmp_path / "b", "lilt", change_field)), "--format", "json")
    assert result.returncode == 1
    problems = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [p for p in problems if p["severity"] == "error"]
    assert errors == [{"file": "lilt.json", "pointer": "/examples/0/job/name", "severity": "error",
                       "message": "example 'rename and reschedule (LILT's curl example)': expected \"Docs v3\", actual \"test job\""}]
    assert all(set(p) == {"file", "pointer", "message", "severity"} for p in problems)


def test_check_json_format_reports_load_errors_too(tmp_path):
    (tmp_path / "bad.json").write_text('{"baseUrl":"${NOPE}","calls":[]}')
    result = jobgate("check", str(tmp_path), "--format", "json")
    assert result.returncode == 1
    pointers = {json.loads(line)["pointer"] for line in result.stdout.splitlines()}
    assert {"/baseUrl", "/calls"} <= pointers


PATCHES = [
    ("lilt:241", {"name": "Docs v2", "dueAt": "2026-05-05T10:56:44Z"}),
    ("bigchange:1001", {"description": "d", "customFields": {"7": "blue"}}),
    ("bytenite:7c1f7a9e-1b2c-4d5e-8f90-123456789abc", {"name": "n", "vendorFields": {"configs": {"taskTimeout": 5}}}),
    ("deck:invoice-extractor", {"name": "Invoices", "vendorFields": {"code": "invoice-extractor", "input_schema": {},
                                                                   "output_schema": {}, "prompts": None}}),
    ("shopplanr:job_abc123", {}),
]


@pytest.mark.parametrize("job_id,body", PATCHES)
def test_plan_equals_the_dry_run_of_the_same_patch(sandbox, start_gateway, job_id, body):
    gateway = start_gateway(env=sandbox.env)
    conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    conn.request("PATCH", f"/jobs/{job_id}?dryRun=true", body=json.dumps(body), headers={"Content-Type": "application/json"})
    dry_run = json.loads(conn.getresponse().read())
    planned = jobgate("plan", job_id, "--patch", json.dumps(body), env=sandbox.env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["calls"] == dry_run["calls"] and plan["vendorJobId"] == dry_run["vendorJobId"]
    for secret in ("LILT_API_KEY", "BIGCHANGE_CLIENT_SECRET", "BYTENITE_API_KEY", "DECK_SECRET", "SHOPPLANR_PIN"):
        assert sandbox.env[secret] not in planned.stdout


def test_plan_reads_the_patch_from_stdin_and_answers_problems_with_exit_1():
    planned = jobgate("plan", "lilt:241", "--patch", "-", stdin='{"name": "from stdin"}')
    assert planned.returncode == 0 and json.loads(planned.stdout)["calls"][0]["body"] == {"name": "from stdin"}
    invalid = jobgate("plan", "lilt:241", "--patch", '{"goalQuantity": 5}')
    problem = json.loads(invalid.stdout)
    assert invalid.returncode == 1 and problem["status"] == 422 and "goalQuantity" in problem["errors"]
    assert jobgate("plan", "lilt:abc", "--patch", "{}").returncode == 1
    assert json.loads(jobgate("plan", "nope:1", "--patch", "{}").stdout)["status"] == 400


def test_plan_refuses_an_account_the_mapping_does_not_declare():
    result = jobgate("plan", "lilt:241", "--patch", '{"name": "x"}', "--account", "eu")
    problem = json.loads(result.stdout)
    assert result.returncode == 1 and problem["title"] == "Unknown account" and "lilt" in problem["detail"]
