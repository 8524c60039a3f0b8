#!/usr/bin/env bash
# Dense vs lazy Adam (--lazy-adam false / true) end to end: SASRec-BCE on
# Amazon Beauty, 1 thread, PAIRS interleaved pairs of short trainings; prints
# the median training seconds of epochs 2.. of each run (docs/BENCHMARKS.md).
#
# usage: bench/adam_ab.sh [PAIRS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-3}
EPOCHS=${2:-6}
B=${CLT_DATA_DIR:-../shared/data}/amazon-beauty/Beauty.txt
[ -f "$B" ] || { echo "bench/adam_ab.sh: $B not found" >&2; exit 1; }
make -s all
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for pair in $(seq "$PAIRS"); do
  for lazy in false true; do
    build/cltower train --data "$B" --format seq --protocol loo --threads 1 --quiet --model sasrec --loss bce \
      --negatives 1 --epochs "$EPOCHS" --eval-every 100000 --lazy-adam $lazy --out "$T/run" --overwrite > /dev/null
    python3 - "$T/run/train_log.jsonl" "$pair" "$lazy" <<'PY'
import json, statistics, sys
log = [json.loads(l) for l in open(sys.argv[1])]
print("pair %s lazy=%s median s/epoch (epochs 2-%d) %.3f" % (sys.argv[2], sys.argv[3], len(log),
      statistics.median(d["train_seconds"] for d in log[1:])))
PY
  done
done
