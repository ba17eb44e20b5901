#!/usr/bin/env bash
# Runs the benchmarks against the build in $1 (default build/release), prints
# the tables and writes bench/results.json (and docs/fanout.png when gnuplot is
# installed).
#
# Three processes, so that the service's RSS is its own: ari-sim (the ARI
# simulator), asterisk-api with ARI_URL pointing at it, and service_bench, which
# is every client (see bench/service_bench.cpp). They share the machine's cores.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
root=$PWD
case $build in /*) ;; *) build=$root/$build ;; esac
out=bench/results.json
shift || true
extra=("$@")  # e.g. --quick

started=$(date +%s)
tmp=$(mktemp -d /tmp/aa-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== 5. JSON path"
json_line=$("$build/json_bench" | tee /dev/stderr | tail -n 1)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The simulator, on a free port (it prints the one it bound).
"$build/ari-sim" --port 0 --log-level warn >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
sim_port=
for _ in $(seq 200); do
  sim_port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\)/ari.*#\1#p' "$tmp/sim.out")
  [ -n "$sim_port" ] && break
  sleep 0.05
done
[ -n "$sim_port" ] || { echo "ari-sim did not start:" >&2; cat "$tmp/sim.err" >&2; exit 1; }

# The service (in an empty directory: no .env), quiet (no access log).
api_port=$(free_port)
(cd "$tmp" && exec env ARI_URL="http://127.0.0.1:$sim_port" API_HOST=127.0.0.1 API_PORT="$api_port" \
  LOG_LEVEL=warn WEBHOOK_URL= OPENCLAW_WEBHOOK_URL= API_KEY= "$build/asterisk-api") >"$tmp/api.log" 2>&1 &
api_pid=$!
pids+=($api_pid)
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$api_port/health" 2>/dev/null | grep -q '"ari":true' && break
  sleep 0.05
done
curl -sf "http://127.0.0.1:$api_port/health" | grep -q '"ari":true' ||
  { echo "asterisk-api did not come up:" >&2; cat "$tmp/api.log" >&2; exit 1; }

echo
echo "== service benchmarks: ari-sim :$sim_port, asterisk-api :$api_port (pid $api_pid)"
status=0
"$build/service_bench" --sim "$sim_port" --api "$api_port" --pid "$api_pid" \
  --out "$tmp/service.json" --plot "$tmp/fanout.dat" ${extra[@]+"${extra[@]}"} || status=$?
if [ ! -s "$tmp/service.json" ]; then
  echo "service_bench failed (exit $status); service log:" >&2
  tail -n 30 "$tmp/api.log" >&2
  exit 1
fi
if grep -q "dropped a slow /events client" "$tmp/api.log"; then
  echo "(service log: $(grep -c 'dropped a slow /events client' "$tmp/api.log") slow /events client(s) dropped with 1008)"
fi

echo
echo "== voice (in-process service + simulator at real time, embedded Flite and PocketSphinx)"
voice_line=$("$build/voice_bench" 10 50 9 4 | tee /dev/stderr | tail -n 1)

echo "== 7. Agent streams (Twilio Media Streams)"
stream_line=$("$build/stream_bench" 200 10 10 | tee /dev/stderr | tail -n 1)

echo "== 8. Durable store (event log, outbox, history)"
store_line=$("$build/store_bench" 2000 20000 100000 200 | tee /dev/stderr | tail -n 1)

elapsed=$(($(date +%s) - started))
python3 - "$tmp/service.json" "$out" "$elapsed" "$json_line" "$voice_line" "$stream_line" "$store_line" <<'PY'
import json, sys
service = json.load(open(sys.argv[1]))
result = dict(service)
result["json_path"] = json.loads(sys.argv[4])["json_path"]
result["voice"] = json.loads(sys.argv[5])["voice"]
result["stream"] = json.loads(sys.argv[6])["stream"]
result["store"] = json.loads(sys.argv[7])["store"]
result["run_seconds"] = int(sys.argv[3])
with open(sys.argv[2], "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
PY
echo "wrote $out"

if command -v gnuplot >/dev/null 2>&1; then
  gnuplot -e "data='$tmp/fanout.dat'; out='docs/fanout.png'" bench/fanout.gp && echo "wrote docs/fanout.png"
else
  echo "gnuplot not installed: docs/fanout.png not drawn (scripts/install-deps.sh installs gnuplot-nox)"
fi
echo "benchmarks took ${elapsed}s"
[ "$status" -eq 0 ] || echo "warning: service_bench reported a failure (exit $status)" >&2
exit "$status"
