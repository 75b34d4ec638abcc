#!/usr/bin/env bash
# Durable opt-outs with several writers on one store: starts N Release operators (Production) on one SQLite file — or
# on PostgreSQL with STORE=postgres and UID2_TEST_POSTGRES set (a fresh database is created) — and drives
# /v2/token/logout on all of them at once, each with its own load generator. Every logout is a new identity and is
# acknowledged only once committed. Usage: bench/logout-writers.sh [writers] [seconds] [concurrency per writer]
set -euo pipefail
cd "$(dirname "$0")/.."
WRITERS=${1:-2}
SECONDS_PER=${2:-10}
CONCURRENCY=${3:-16}
BASE_PORT=${BASE_PORT:-18180}
WORK=$(mktemp -d)
PIDS=()
DB_TO_DROP=
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$DB_TO_DROP" ]; then psql "$UID2_TEST_POSTGRES" -qc "DROP DATABASE IF EXISTS $DB_TO_DROP WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${STORE:-sqlite}" = postgres ]; then
  : "${UID2_TEST_POSTGRES:?set UID2_TEST_POSTGRES (eval \"\$(bash scripts/start-test-postgres.sh)\")}"
  DB_TO_DROP="uid2_bench_$$"
  HOST=$(echo "$UID2_TEST_POSTGRES" | sed -E 's/.*Host=([^;]+).*/\1/'); PORT=$(echo "$UID2_TEST_POSTGRES" | sed -E 's/.*Port=([^;]+).*/\1/')
  USER=$(echo "$UID2_TEST_POSTGRES" | sed -E 's/.*Username=([^;]+).*/\1/'); PASS=$(echo "$UID2_TEST_POSTGRES" | sed -E 's/.*Password=([^;]*).*/\1/')
  PGPASSWORD="$PASS" psql -h "$HOST" -p "$PORT" -U "$USER" -d postgres -qc "CREATE DATABASE $DB_TO_DROP" >/dev/null
  export ConnectionStrings__Uid2="Host=$HOST;Port=$PORT;Username=$USER;Password=$PASS;Database=$DB_TO_DROP"
else
  export ConnectionStrings__Uid2="Data Source=$WORK/uid2.db"
fi
export UID2_KEK_FILE="$WORK/kek"

for project in src/Uid2.Operator src/Uid2.Admin bench/Uid2.LoadTest; do
  dotnet build -c Release "$project" -v q -nologo >/dev/null
done
dotnet src/Uid2.Admin/bin/Release/net10.0/uid2-admin.dll kek new --file "$UID2_KEK_FILE" >/dev/null
CREDS=$(dotnet src/Uid2.Admin/bin/Release/net10.0/uid2-admin.dll participant create --name load --site-id 77 --roles generator,optout --json)
API_KEY=$(echo "$CREDS" | sed -E 's/.*"apiKey":"([^"]+)".*/\1/')
SECRET=$(echo "$CREDS" | sed -E 's/.*"secret":"([^"]+)".*/\1/')

for w in $(seq 1 "$WRITERS"); do
  ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    dotnet src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll --urls "http://127.0.0.1:$((BASE_PORT + w))" &
  PIDS+=($!)
done
for w in $(seq 1 "$WRITERS"); do
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$((BASE_PORT + w))/ops/healthcheck" >/dev/null && break; sleep 0.2; done
done

echo "# ${STORE:-sqlite}: $WRITERS operators, $CONCURRENCY clients each, $SECONDS_PER s"
LOADS=()
for w in $(seq 1 "$WRITERS"); do
  dotnet bench/Uid2.LoadTest/bin/Release/net10.0/uid2-loadtest.dll --url "http://127.0.0.1:$((BASE_PORT + w))" \
    --api-key "$API_KEY" --secret "$SECRET" --seconds "$SECONDS_PER" --concurrency "$CONCURRENCY" --scenario v2-logout \
    > "$WORK/load-$w.txt" &
  LOADS+=($!)
done
for pid in "${LOADS[@]}"; do wait "$pid"; done
for w in $(seq 1 "$WRITERS"); do echo "operator $w: $(tail -1 "$WORK/load-$w.txt")"; done
