#!/usr/bin/env bash
# Training time per epoch on Amazon Beauty for the sequence models (and the
# valid-set evaluation that follows each epoch), median over epochs 2..N of
# one run per model; the first epoch is excluded (page faults, warm-up).
#
# usage: bench/epoch_time.sh [threads=2] [epochs=4]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
EPOCHS=${2:-4}
DATA=${CLT_DATA_DIR:-../shared/data}/amazon-beauty
make -s all
T=$(mktemp -d /tmp/cltower-epoch-XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "| model (Beauty, loo, $THREADS threads) | train s/epoch (median) | sequences/s | valid eval s | command |"
echo "| --- | --- | --- | --- | --- |"
while IFS='|' read -r name opts; do
  cmd="build/cltower train --data $DATA/Beauty.txt --format seq --item-features $DATA/Beauty_item2attributes.json --protocol loo $opts --epochs $EPOCHS --patience 100 --threads $THREADS --quiet --out $T/$name"
  $cmd > /dev/null
  python3 - "$T/$name/train_log.jsonl" "$name" "$cmd" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])][1:]
tr = statistics.median(r["train_seconds"] for r in rows)
ex = statistics.median(r["examples_per_second"] for r in rows)
ev = statistics.median(r.get("valid_seconds", 0) for r in rows)
print("| %s | %.2f | %.0f | %.2f | `%s` |" % (sys.argv[2], tr, ex, ev, sys.argv[3].replace(sys.argv[1].rsplit("/", 2)[0], "RUN")))
PY
done <<'EOF2'
sasrec|--model sasrec
sasrec-bce|--model sasrec --loss bce --negatives 1
cl-epidtn|--model cl-epidtn
youtubednn|--model youtubednn
EOF2
