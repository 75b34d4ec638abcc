#!/usr/bin/env bash
# HTTP load test. Builds Release; measures, in one run on this machine:
#   1. bench/Uid2.MinimalHost — the smallest JSON endpoint Kestrel serves with the operator's host settings (the baseline);
#   2. a Release operator (Production, fresh SQLite store, a participant made with the admin CLI): v1 generate, v2 generate,
#      v2 refresh, v2 identity map of 5,000 emails — each request a new identity — with req/s, p50/p90/p99, the ratio to
#      the baseline and the server's allocations and CPU time per request (its /metrics; the baseline's /alloc, /cpu);
#   3. v2 generate and v2 refresh again in open loop at half of their peak (p99 at half load): 3 s unmeasured, 30 s
#      measured (--open-seconds).
# Only one server runs at a time; the load generator (HTTP/1.1 on raw sockets, bench/Uid2.LoadTest) shares the 2 cores
# with it.
# Usage: bench/loadtest.sh [seconds per scenario] [concurrency]
#   SCENARIO=v2-logout bench/loadtest.sh: one scenario only (no baseline); add HALF_LOAD=v2-generate for its open loop too.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-10}
CONCURRENCY=${2:-16}
PORT=${PORT:-18080}
METRICS_PORT=${METRICS_PORT:-18090}
MINIMAL_PORT=${MINIMAL_PORT:-18081}
WORK=$(mktemp -d)
export ConnectionStrings__Uid2="Data Source=$WORK/uid2.db"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

for project in src/Uid2.Operator src/Uid2.Admin bench/Uid2.LoadTest bench/Uid2.MinimalHost; do
  dotnet build -c Release "$project" -v q -nologo >/dev/null
done
CREDS=$(dotnet src/Uid2.Admin/bin/Release/net10.0/uid2-admin.dll participant create --name load --site-id 77 --roles generator,mapper,optout --json)
API_KEY=$(echo "$CREDS" | sed -E 's/.*"apiKey":"([^"]+)".*/\1/')
SECRET=$(echo "$CREDS" | sed -E 's/.*"secret":"([^"]+)".*/\1/')
# The load generator shares the 2 cores with the operator, so it is tuned to take as little of them as it can: a 16 MiB
# gen0 budget makes its own collections (which pause its clients and count as latency) rare — about 50 instead of 400
# in a run, each short, as it keeps few objects alive; socket completions run inline and idle workers do not spin.
LOAD="env ${LOAD_EXTRA_ENV:-} DOTNET_GCgen0size=0x1000000 DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 dotnet bench/Uid2.LoadTest/bin/Release/net10.0/uid2-loadtest.dll --api-key $API_KEY --secret $SECRET --seconds $SECONDS_PER --concurrency $CONCURRENCY"

wait_for() { for _ in $(seq 1 150); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done; echo "not up: $1" >&2; return 1; }

if [ -n "${SCENARIO:-}" ]; then
  ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    dotnet src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll --urls "http://127.0.0.1:$PORT" & PIDS+=($!)
  wait_for "http://127.0.0.1:$PORT/ops/healthcheck"
  $LOAD --url "http://127.0.0.1:$PORT" --scenario "$SCENARIO" ${HALF_LOAD:+--half-load "$HALF_LOAD"}
  exit 0
fi

# 1. The baseline, alone on the machine.
ASPNETCORE_ENVIRONMENT=Production dotnet bench/Uid2.MinimalHost/bin/Release/net10.0/uid2-minimal-host.dll --urls "http://127.0.0.1:$MINIMAL_PORT" & MINIMAL_PID=$!
PIDS+=($MINIMAL_PID)
wait_for "http://127.0.0.1:$MINIMAL_PORT/alloc"
BASELINE=$($LOAD --url "http://127.0.0.1:$PORT" --minimal-url "http://127.0.0.1:$MINIMAL_PORT" --scenario minimal)
kill "$MINIMAL_PID"; wait "$MINIMAL_PID" 2>/dev/null || true

# 2 and 3. The operator, alone on the machine.
ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning Uid2__MetricsPort=$METRICS_PORT \
  dotnet src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll --urls "http://127.0.0.1:$PORT;http://127.0.0.1:$METRICS_PORT" & PIDS+=($!)
wait_for "http://127.0.0.1:$PORT/ops/healthcheck"
MINIMAL_RPS=$(echo "$BASELINE" | awk -F'|' '/^\| minimal/ { gsub(/ /, "", $5); print $5 }')
echo "$BASELINE"
$LOAD --url "http://127.0.0.1:$PORT" --metrics-url "http://127.0.0.1:$METRICS_PORT/metrics" --baseline-rps "$MINIMAL_RPS" \
  --scenario v1-generate,v2-generate,v2-refresh,v2-map-5000 --half-load v2-generate,v2-refresh | tail -n +4
