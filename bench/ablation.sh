#!/usr/bin/env bash
# The CL-EPIDTN results table of docs/RESULTS.md for one dataset: baselines,
# the full model, each ablation, and the long-tail / short-history buckets.
# Every run is an ordinary `cltower train` (the command is printed in the
# table); runs go two at a time with one thread each (two cores, no
# oversubscription).
#
# usage: [ROWS="name ..."] bench/ablation.sh beauty|sports [OUT_DIR] [JOBS]
# ROWS limits the run to the named rows (default: all); the table covers
# every row that has finished.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?usage: bench/ablation.sh beauty|sports [OUT_DIR] [JOBS]}
OUT=${2:-runs/ablation-$NAME}
JOBS=${3:-2}
DATA=${CLT_DATA_DIR:-../shared/data}
case "$NAME" in
  beauty) D="$DATA/amazon-beauty/Beauty.txt"; F="$DATA/amazon-beauty/Beauty_item2attributes.json" ;;
  sports) D="$DATA/amazon-sports/Sports_and_Outdoors.txt"; F="$DATA/amazon-sports/Sports_and_Outdoors_item2attributes.json" ;;
  *) echo "unknown dataset $NAME" >&2; exit 2 ;;
esac
[ -f "$D" ] || { echo "bench/ablation.sh: $D not found" >&2; exit 1; }
mkdir -p "$OUT"
# A private copy of the binary: rebuilding the tree during a long run must not
# change it, and a resumed run (rows with metrics.json are skipped) keeps
# using the binary that produced the earlier rows.
BIN="$OUT/cltower"
if [ ! -x "$BIN" ]; then make -s all && cp build/cltower "$BIN"; fi

COMMON="--data $D --format seq --protocol loo --k 5,10,20,50 --threads 1 --quiet"
FEAT="--item-features $F"
# name | model and options (everything else: the model's documented defaults).
# sasrec-bce is the original SASRec recipe (no side features, BCE, one negative)
# with the model selection of the ICLRec code whose table we compare with:
# early stopping on valid NDCG@20, patience 40.
cat > "$OUT/runs.txt" <<EOF
mostpop|--model mostpop
youtubednn|--model youtubednn $FEAT
sasrec-bce|--model sasrec --loss bce --negatives 1 --patience 40 --select-metric NDCG@20
sasrec-bce-seed2|--model sasrec --loss bce --negatives 1 --patience 40 --select-metric NDCG@20 --seed 2
sasrec-bce-seed3|--model sasrec --loss bce --negatives 1 --patience 40 --select-metric NDCG@20 --seed 3
sasrec|--model sasrec $FEAT
sasrec-neg|--model sasrec $FEAT --negatives 2048
cl-epidtn|--model cl-epidtn $FEAT
no-enhance|--model cl-epidtn $FEAT --no-enhance
no-gates|--model cl-epidtn $FEAT --no-gates
no-cl-user|--model cl-epidtn $FEAT --no-cl-user
no-cl-item|--model cl-epidtn $FEAT --no-cl-item
no-cl|--model cl-epidtn $FEAT --no-cl-user --no-cl-item
all-off|--model cl-epidtn $FEAT --no-enhance --no-gates --no-cl-user --no-cl-item
sasrec-seed2|--model sasrec $FEAT --seed 2
sasrec-seed3|--model sasrec $FEAT --seed 3
cl-epidtn-seed2|--model cl-epidtn $FEAT --seed 2
cl-epidtn-seed3|--model cl-epidtn $FEAT --seed 3
EOF

run_one() {
  local name=${1%%|*} opts=${1#*|}
  [ -s "$OUT/$name/metrics.json" ] && return 0
  echo "build/cltower train $COMMON $opts --out $OUT/$name" > "$OUT/$name.cmd"
  "$BIN" train $COMMON $opts --out "$OUT/$name" --overwrite > "$OUT/$name.log" 2>&1 \
    || { echo "run $name failed, see $OUT/$name.log" >&2; return 1; }
  echo "done $name"
}
export -f run_one
export OUT COMMON BIN
rows() {
  if [ -z "${ROWS:-}" ]; then cat "$OUT/runs.txt"; return; fi
  for r in $ROWS; do grep "^$r|" "$OUT/runs.txt" || { echo "no row $r" >&2; exit 2; }; done
}
rows | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {}

python3 bench/results_table.py "$OUT" > "$OUT/table.md"
cat "$OUT/table.md"
