#!/usr/bin/env bash
# Starts the operator (Development, embedded SQLite in src/Uid2.Operator/data/uid2.db) on :8080 in the background, waits
# for its health check, then runs the publisher sample on :5000 in the foreground. Ctrl-C stops both.
# Needs the .NET 10 SDK; the sample serves the browser SDK from web/sdk/dist, built here with npm if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

OPERATOR_URL=${OPERATOR_URL:-http://localhost:8080}
SAMPLE_URL=${SAMPLE_URL:-http://localhost:5000}

if [ ! -f web/sdk/dist/uid2-sdk.js ] || [ ! -f web/sdk/dist/euid-sdk.js ]; then
  echo "run-sample.sh: building the browser SDK (web/sdk)" >&2
  (cd web/sdk && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi

dotnet build src/Uid2.Operator -v q -nologo
dotnet build web/publisher-sample -v q -nologo

dotnet run --no-build --project src/Uid2.Operator -- --urls "$OPERATOR_URL" --environment Development &
operator_pid=$!
trap 'kill "$operator_pid" 2>/dev/null || true; wait "$operator_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 120); do
  if curl -fsS "$OPERATOR_URL/ops/healthcheck" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$operator_pid" 2>/dev/null; then echo "run-sample.sh: the operator exited" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "$OPERATOR_URL/ops/healthcheck" >/dev/null || { echo "run-sample.sh: the operator is not healthy" >&2; exit 1; }

echo "run-sample.sh: operator on $OPERATOR_URL; publisher sample on $SAMPLE_URL" >&2
dotnet run --no-build --project web/publisher-sample -- --urls "$SAMPLE_URL" --environment Development \
  --Sample:OperatorUrl "$OPERATOR_URL"
