#!/usr/bin/env bash
# Books-scale A/B of two cltower binaries: one cl-epidtn epoch each, run
# alternately (A, B, A, B, ...) on the same `cltower synth --preset books`
# data, because this shared host's speed drifts by up to 1.5x within an hour:
# only pairs run back to back compare. Before each training the sgemm peak
# (2048^3, build/bench_sgemm) is measured and printed, so a row says how fast
# the host was. Prints a markdown row per run: binary, sgemm peak, train
# seconds, GEMM GFLOP and seconds from the training log (binaries that log
# them), test eval seconds, peak RSS, test HR@20 / Recall@50 / NDCG@20.
#
# usage: bench/books_ab.sh BIN_A BIN_B [PAIRS] [FRACTION]   (defaults: 2 pairs, 1)
# env:   THREADS=2 OUT=/tmp/cltower-books (data made as bench/books_scale.sh makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/books_ab.sh BIN_A BIN_B [PAIRS] [FRACTION]" >&2; exit 2; }
A=$1 B=$2 PAIRS=${3:-2} F=${4:-1}
THREADS=${THREADS:-2} OUT=${OUT:-/tmp/cltower-books}
for bin in "$A" "$B"; do [ -x "$bin" ] || { echo "bench/books_ab.sh: $bin is not an executable" >&2; exit 2; }; done
[ -x /usr/bin/time ] || { echo "bench/books_ab.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
make -s build/bench_sgemm
data="$OUT/books-$F"
[ -s "$data/interactions.csv" ] || { echo "bench/books_ab.sh: no $data; run OUT=$OUT bench/books_scale.sh $F first" >&2; exit 1; }

echo "## books A/B — $(date -u '+%Y-%m-%d %H:%M') UTC, fraction $F, $THREADS threads, A = $A, B = $B"
echo
echo "| start (UTC) | binary | sgemm peak GFLOP/s | train s | GEMM GFLOP / s | test eval s | peak RSS GiB | test HR@20 / Recall@50 / NDCG@20 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for i in $(seq "$PAIRS"); do
  for side in A B; do
    bin=$A; [ "$side" = B ] && bin=$B
    run="$OUT/ab-$side-$i"
    start=$(date -u +%H:%M)
    peak=$(build/bench_sgemm "$THREADS" | awk '/M=2048 N=2048/ {print $5}')
    /usr/bin/time -v -o "$run.time" "$bin" train --data "$data/interactions.csv" --format comirec \
      --protocol comirec --model cl-epidtn --epochs 1 --threads "$THREADS" --quiet --out "$run" --overwrite >/dev/null
    python3 - "$run" "$side" "$start" "$peak" <<'PY'
import json, re, sys
run, side, start, peak = sys.argv[1:]
log = [json.loads(l) for l in open(run + "/train_log.jsonl")][-1]
m = json.load(open(run + "/metrics.json"))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(run + ".time").read()).group(1))
gemm = "%.0f / %.1f" % (log["gemm_gflop"], log["gemm_seconds"]) if "gemm_gflop" in log else "-"
t = m["test"]
print("| %s | %s | %s | %.1f | %s | %.1f | %.2f | %.4f / %.4f / %.4f |" % (start, side, peak, log["train_seconds"], gemm,
      m.get("eval_seconds", 0), rss / 2**20, t["HR@20"], t["Recall@50"], t["NDCG@20"]))
PY
  done
done
