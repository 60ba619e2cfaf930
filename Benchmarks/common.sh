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

# The translating peer, nginx + njs: parses the caller's JSON patch, builds the vendor's body, calls the vendor
# through a keep-alive upstream (a subrequest), parses its answer and writes the canonical job: what jobgate does
# for a mapping-only vendor, minus validation and error mapping. Writes its script beside `config`, and the
# config itself: one worker in the foreground, listening on `port`, the vendor at `upstream_port`; its logs and
# pid file in $work/nginx.
njs_peer_config() {
  local config="$1" port="$2" upstream_port="$3" name
  name=$(basename "$config" .conf)
  mkdir -p "$work/nginx/logs"
  cat >"$work/nginx/translate.js" <<'JS'
async function update(r) {
  const patch = JSON.parse(r.requestText);
  const body = {};
  if (patch.name !== undefined) body.name = patch.name;
  if (patch.goalQuantity !== undefined) body.goalQuantity = patch.goalQuantity;
  const reply = await r.subrequest('/vendor/api/jobs/' + r.uri.split(':')[1], { method: 'PUT', body: JSON.stringify(body) });
  const job = JSON.parse(reply.responseText);
  r.headersOut['Content-Type'] = 'application/json';
  r.return(200, JSON.stringify({ id: job.id, name: job.name, goalQuantity: job.goalQuantity,
                                 createdAt: job.createdAt, updatedAt: job.updatedAt }));
}
export default { update };
JS
  cat >"$config" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
worker_processes 1; master_process off; daemon off; pid $work/nginx/$name.pid; error_log $work/nginx/logs/$name.log;
events { worker_connections 4096; }
http { access_log off; js_import translate from $work/nginx/translate.js;
  upstream vendor { server 127.0.0.1:$upstream_port; keepalive 64; }
  server { listen 127.0.0.1:$port; keepalive_requests 1000000;
    location /healthz { default_type application/json; return 200 '{"status":"ok"}'; }
    location /jobs/ { js_content translate.update; }
    location /vendor/ { internal; proxy_pass http://vendor/; proxy_http_version 1.1; proxy_set_header Connection "";
                        proxy_set_header Content-Type application/json; } } }
CONF
}

# The wrk script the benchmarks load with, $work/patch.lua: a PATCH with a 47-byte canonical body.
write_patch_script() {
  cat >"$work/patch.lua" <<'LUA'
wrk.method = "PATCH"
wrk.body = '{"name":"JOB-2024-001-REV2","goalQuantity":75}'
wrk.headers["Content-Type"] = "application/json"
LUA
}
