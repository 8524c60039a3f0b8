#!/usr/bin/env bash
# Core benchmark (issue: cltower core): training examples/s and exact
# evaluation users/s of youtubednn on Amazon Beauty, next to the machine's
# measured sgemm peak, all in one run. Prints a markdown report.
#
# usage: bench/core.sh [runs=3] [threads=2]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
THREADS=${2:-2}
DATA=${CLT_DATA_DIR:-../shared/data}/amazon-beauty
[ -f "$DATA/Beauty.txt" ] || { echo "bench/core.sh: $DATA/Beauty.txt not found" >&2; exit 1; }
make -s all build/bench_sgemm
T=$(mktemp -d /tmp/cltower-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
json() { grep -o "\"$2\": *[0-9.e+-]*" "$1" | head -1 | sed 's/.*: *//'; }

echo "## core benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo '```'
build/bench_sgemm "$THREADS"
echo '```'
echo
: > "$T/train"; : > "$T/eval"
for r in $(seq "$RUNS"); do
  build/cltower train --data "$DATA/Beauty.txt" --format seq --item-features "$DATA/Beauty_item2attributes.json" \
    --model youtubednn --protocol loo --epochs 3 --patience 100 --threads "$THREADS" --out "$T/run" --overwrite --quiet >/dev/null
  json "$T/run/metrics.json" train_examples_per_second >> "$T/train"
  build/cltower eval --run "$T/run" --json --quiet --threads "$THREADS" > "$T/eval.json"
  json "$T/eval.json" eval_users_per_second >> "$T/eval"
done
echo "| measure (youtubednn, Beauty, dim 64, batch 256, $THREADS threads) | median of $RUNS | runs |"
echo "| --- | --- | --- |"
echo "| training examples/s | $(median < "$T/train" | xargs printf '%.0f') | $(xargs < "$T/train" printf '%.0f ') |"
echo "| exact eval users/s (22,363 users x 12,101 items, top-50) | $(median < "$T/eval" | xargs printf '%.0f') | $(xargs < "$T/eval" printf '%.0f ') |"
