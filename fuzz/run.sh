#!/usr/bin/env bash
# fuzz/run.sh SECONDS TARGET... — runs each libFuzzer target for SECONDS, one
# after another, and prints a results table (docs/FUZZING.md).
#
# Each target works on $FUZZ_BUILD/corpus/<target>, seeded from
# fuzz/corpus/<target> (so the repository's seed corpus never grows; the
# build copy keeps what earlier runs found). Crash inputs go to
# $FUZZ_BUILD/artifacts/<target>/, logs to $FUZZ_BUILD/logs/<target>.log.
# Exit status 1 if any target crashed, leaked, timed out or ran out of memory.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/run.sh SECONDS TARGET...}
shift
out=${FUZZ_BUILD:-build/fuzz}
mkdir -p "$out/logs"
results="$out/results.md"
{
  echo "| target | date | seconds | runs | exec/s | coverage (cov/ft) | corpus | result |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$results"
failed=0
for t in "$@"; do
  bin="$out/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz/run.sh: $bin missing (make fuzz)" >&2; exit 2; }
  corpus="$out/corpus/$t" art="$out/artifacts/$t/" log="$out/logs/$t.log"
  mkdir -p "$corpus" "$art"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  echo "== $t: ${secs}s (log $log)"
  start=$(date -u +%Y-%m-%d)
  "$bin" "$corpus" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1\/\2/p')
  ncorp=$(ls "$corpus" | wc -l)
  if [ $rc -eq 0 ]; then res=ok; else res="FAILED (exit $rc, see $log)"; failed=1; fi
  echo "| $t | $start | $secs | ${runs:-?} | ${eps:-?} | ${cov:-?} | $ncorp | $res |" >>"$results"
  tail -n 1 "$results"
  if [ $rc -ne 0 ]; then grep -E 'ERROR|SUMMARY|check failed|Test unit written' "$log" | head -5; fi
done
echo
cat "$results"
exit $failed
