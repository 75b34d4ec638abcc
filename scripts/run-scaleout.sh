#!/usr/bin/env bash
# The docker-compose topology without Docker: two operator processes on one PostgreSQL behind nginx, all on loopback.
#   scripts/run-scaleout.sh            # LB on http://127.0.0.1:18080, operators on :18081 and :18082
# Uses UID2_SCALEOUT_POSTGRES (an Npgsql connection string) if set, else the throwaway test server of
# scripts/start-test-postgres.sh (fsync off: a demo, not a deployment) with a database "uid2_scaleout".
# Needs nginx (Debian: apt-get install -y nginx-light). Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${UID2_SCALEOUT_POSTGRES:-}" ]; then
  eval "$(bash scripts/start-test-postgres.sh)"
  psql "host=127.0.0.1 port=${UID2_PG_PORT:-55432} user=postgres dbname=postgres" -qtc \
    "SELECT 1 FROM pg_database WHERE datname='uid2_scaleout'" | grep -q 1 \
    || psql "host=127.0.0.1 port=${UID2_PG_PORT:-55432} user=postgres dbname=postgres" -qc "CREATE DATABASE uid2_scaleout"
  UID2_SCALEOUT_POSTGRES="${UID2_TEST_POSTGRES/Database=postgres/Database=uid2_scaleout}"
fi
export ConnectionStrings__Uid2="$UID2_SCALEOUT_POSTGRES"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
# Every instance must seal and open secrets with the same key-encryption key: one key file for both (Development
# creates it on first start; in Production create it first with: dotnet run --project src/Uid2.Admin -- kek new --file …).
mkdir -p data
export UID2_KEK_FILE="${UID2_KEK_FILE:-$(pwd)/data/scaleout.kek}"

dotnet build -c Release src/Uid2.Operator -v q -nologo >/dev/null
WORK=$(mktemp -d)
pids=()
cleanup() { [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; kill "${pids[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

for port in 18081 18082; do
  dotnet src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll --urls "http://127.0.0.1:$port" &
  pids+=($!)
done
for port in 18081 18082; do
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/ops/healthcheck" >/dev/null && break; sleep 0.2; done
done

sed -e 's/operator-a:8080/127.0.0.1:18081/' -e 's/operator-b:8080/127.0.0.1:18082/' -e 's/listen 80;/listen 127.0.0.1:18080;/' \
  deploy/nginx.conf > "$WORK/nginx.conf"
nginx -c "$WORK/nginx.conf" -g "pid $WORK/nginx.pid; error_log $WORK/nginx-error.log;"
echo "load balancer: http://127.0.0.1:18080  (operators: :18081, :18082)"
wait "${pids[@]}"
