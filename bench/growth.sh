#!/usr/bin/env bash
# Growth benchmark (issue "Internet scale"): for 0, 1 M, 10 M and 100 M opt-outs, on SQLite and (when
# UID2_TEST_POSTGRES is set) PostgreSQL: an operator's start-up time (reading the store, then from its snapshot), its
# resident memory, and generate/refresh throughput; then the plot bench/growth.png. 100 M is generated straight into a
# snapshot file (the store holds its anchor row only). Needs ~25 GiB of disk and ~12 GiB of memory at 100 M.
# Usage: bench/growth.sh [counts, comma-separated] [seconds of load per scenario]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${1:-0,1000000,10000000,100000000}
SECONDS_PER=${2:-10}
OUT=${OUT:-bench/growth}
for project in src/Uid2.Operator bench/Uid2.LoadTest bench/Uid2.Benchmarks bench/Uid2.GrowthPlot; do
  dotnet build -c Release "$project" -v q -nologo >/dev/null
done
rm -f "$OUT-sqlite.csv" "$OUT-postgres.csv"
run() { (cd bench/Uid2.Benchmarks && dotnet run -c Release --no-build -- growth --provider "$1" --counts "$COUNTS" --seconds "$SECONDS_PER" --csv "$2"); }
run sqlite "$PWD/$OUT-sqlite.csv"
csvs=("$OUT-sqlite.csv")
if [ -n "${UID2_TEST_POSTGRES:-}" ]; then
  run postgres "$PWD/$OUT-postgres.csv"
  csvs+=("$OUT-postgres.csv")
fi
dotnet bench/Uid2.GrowthPlot/bin/Release/net10.0/uid2-growth-plot.dll "$OUT.png" "${csvs[@]}"
