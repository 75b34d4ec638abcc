#!/usr/bin/env bash
# HTTP load test: starts a Release operator (Production mode, fresh SQLite store), creates a participant with the
# admin CLI, and runs bench/Uid2.LoadTest against it. Usage: bench/loadtest.sh [seconds per scenario] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-10}
CONCURRENCY=${2:-16}
PORT=${PORT:-18080}
WORK=$(mktemp -d)
export ConnectionStrings__Uid2="Data Source=$WORK/uid2.db"
OP_PID=
trap '[ -n "$OP_PID" ] && kill $OP_PID 2>/dev/null; rm -rf "$WORK"' EXIT

for project in src/Uid2.Operator src/Uid2.Admin bench/Uid2.LoadTest; do
  dotnet build -c Release "$project" -v q -nologo >/dev/null
done
CREDS=$(dotnet src/Uid2.Admin/bin/Release/net10.0/uid2-admin.dll participant create --name load --site-id 77 --roles generator,mapper,optout --json)
API_KEY=$(echo "$CREDS" | sed -E 's/.*"apiKey":"([^"]+)".*/\1/')
SECRET=$(echo "$CREDS" | sed -E 's/.*"secret":"([^"]+)".*/\1/')

ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
  dotnet src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll --urls "http://127.0.0.1:$PORT" &
OP_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/ops/healthcheck" >/dev/null && break; sleep 0.2; done

dotnet bench/Uid2.LoadTest/bin/Release/net10.0/uid2-loadtest.dll --url "http://127.0.0.1:$PORT" \
  --api-key "$API_KEY" --secret "$SECRET" --seconds "$SECONDS_PER" --concurrency "$CONCURRENCY" --scenario "${SCENARIO:-all}"
