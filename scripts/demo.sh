#!/usr/bin/env bash
# make demo: synthesize the embedded default dataset, train MostPop, YouTube
# DNN and the flagship CL-EPIDTN on it with the leave-one-out protocol, print
# the metrics. CL-EPIDTN peaks after a few epochs on this data (valid
# NDCG@10), so its run is capped at 6 epochs to keep the demo to minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLTOWER:-build/cltower}
OUT=${DEMO_DIR:-build/demo}

echo "== 1. synthetic data (cltower synth --preset demo)"
$BIN synth --preset demo --out "$OUT/data"

MODELS="mostpop youtubednn cl-epidtn"
for model in $MODELS; do
  epochs=30
  [ "$model" = cl-epidtn ] && epochs=6
  echo
  echo "== train $model (at most $epochs epochs)"
  $BIN train --data "$OUT/data/interactions.csv" --format comirec --protocol loo \
    --model "$model" --out "$OUT/run-$model" --overwrite --epochs $epochs --quiet
done

echo
echo "== test split, exact full-corpus ranking (cltower eval)"
lines='1,3p' # the first model's block with the column names, then model and test lines
for model in $MODELS; do
  $BIN eval --run "$OUT/run-$model" --split test --quiet | sed -n "$lines"
  lines='1p;3p'
done
echo
echo "runs are in $OUT/run-*/ (metrics.json, train_log.jsonl, model.bin, config)"
