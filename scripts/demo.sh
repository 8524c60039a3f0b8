#!/usr/bin/env bash
# make demo: synthesize the embedded default dataset, train MostPop and
# YouTube DNN on it with the leave-one-out protocol, print the metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLTOWER:-build/cltower}
OUT=${DEMO_DIR:-build/demo}

echo "== 1. synthetic data (cltower synth --preset demo)"
$BIN synth --preset demo --out "$OUT/data"

for model in mostpop youtubednn; do
  echo
  echo "== train $model"
  $BIN train --data "$OUT/data/interactions.csv" --format comirec --protocol loo \
    --model "$model" --out "$OUT/run-$model" --overwrite --epochs 30 --quiet
done

echo
echo "== test split, exact full-corpus ranking (cltower eval)"
for model in mostpop youtubednn; do
  $BIN eval --run "$OUT/run-$model" --split test --quiet | sed -n '1p;3p'
done
echo
echo "runs are in $OUT/run-*/ (metrics.json, train_log.jsonl, model.bin, config)"
