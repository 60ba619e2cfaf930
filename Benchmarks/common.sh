# Shared by the benchmark scripts (sourced after `cd` to the package root): a work folder and the processes
# started into `pids`, both cleaned up on exit; helpers for ports and pinning; the vendor's job document.
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Runs a command pinned to a core. Used only in background jobs, pipelines and `$(...)`, so `exec` replaces just
# that subshell and $! is the real process (killable at cleanup).
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# The 330-byte job every benchmark upstream answers.
job_json='{"id":"job_abc123","name":"JOB-2024-001-REV2","goalQuantity":75,"jiraTicketKey":"PI-42","jiraTicketSummary":"Build 50 aluminum housings","jiraPartNumber":"ALU-HOUSING-7075","jiraPriority":"High","jiraEpicLink":"PI-10","jiraLabels":["Q1-2024","rush"],"createdAt":"2024-01-15T10:30:00.000Z","updatedAt":"2024-01-20T16:45:00.000Z"}'
