#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder that faces the internet, with AFL++ (Debian's afl++) and SharpFuzz:
#
#   fuzz/run.sh [target|all] [executions]      # default: all targets, 1,000,000 executions each
#
# Targets (fuzz/Uid2.Fuzz.Targets/FuzzTargets.cs): envelope, refresh-wrapper, advertising-token, refresh-token, cstg,
# identity, json. Each run starts from the target's seeds (valid inputs made by the real encoders) plus the corpus kept in
# fuzz/corpus/<target>/, stops after the given number of executions, copies what AFL++ kept (its queue) back into
# fuzz/corpus/<target>/ (replayed by tests/Uid2.Fuzz.Tests on every CI run) and any crash or hang into
# fuzz/.out/findings/<target>/, and prints one line of figures per target. Needs root for apt-get the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(envelope refresh-wrapper advertising-token refresh-token cstg identity json)
want="${1:-all}"
execs="${2:-1000000}"
[ "$want" = all ] || TARGETS=("$want")

if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing afl++ (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null

OUT=fuzz/.out
BIN="$OUT/bin"
rm -rf "$BIN"
dotnet build fuzz/Uid2.Fuzz -c Release -v q -nologo >/dev/null
PLAIN=fuzz/Uid2.Fuzz/bin/Release/net10.0   # not instrumented: writes the seeds (instrumented code needs AFL++ around it)
dotnet publish fuzz/Uid2.Fuzz -c Release -o "$BIN" -v q -nologo >/dev/null
# Instrument the published assemblies under test (not the harness, not the framework): AFL++ sees their branch coverage.
for dll in Uid2.Core.dll Uid2.Operator.dll; do dotnet sharpfuzz "$BIN/$dll" >/dev/null; done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export DOTNET_TieredPGO=0 DOTNET_TC_QuickJitForLoops=1

for target in "${TARGETS[@]}"; do
  seeds="$OUT/seeds/$target"
  findings="$OUT/findings/$target"
  rm -rf "$seeds" "$findings"
  mkdir -p "$OUT/findings"
  dotnet "$PLAIN/Uid2.Fuzz.dll" seed "$target" "$seeds"
  mkdir -p "fuzz/corpus/$target"
  cp fuzz/corpus/"$target"/* "$seeds"/ 2>/dev/null || true
  started=$(date +%s)
  afl-fuzz -i "$seeds" -o "$findings" -t 5000 -m none -E "$execs" -- dotnet "$BIN/Uid2.Fuzz.dll" "$target" >"$OUT/$target.log" 2>&1 || {
    echo "fuzz/run.sh: afl-fuzz failed for $target; see $OUT/$target.log" >&2; tail -20 "$OUT/$target.log" >&2; exit 1; }
  stats="$findings/default/fuzzer_stats"
  get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
  # Keep the queue (what increased coverage), not AFL++'s bookkeeping.
  find "$findings/default/queue" -maxdepth 1 -type f -name 'id:*' -size -64k -exec sh -c \
    'for f; do cp "$f" "fuzz/corpus/'"$target"'/$(sha1sum "$f" | cut -c1-16)"; done' sh {} +
  crashes=$(get saved_crashes); hangs=$(get saved_hangs)
  printf '%s: %s executions in %ss (%s/s), corpus %s inputs (%s kept), crashes %s, hangs %s\n' \
    "$target" "$(get execs_done)" "$(( $(date +%s) - started ))" "$(get execs_per_sec)" "$(get corpus_count)" \
    "$(ls "fuzz/corpus/$target" | wc -l)" "$crashes" "$hangs"
  if [ "${crashes:-0}" != 0 ]; then echo "fuzz/run.sh: crashing inputs in $findings/default/crashes" >&2; exit 1; fi
done
