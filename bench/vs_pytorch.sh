#!/usr/bin/env bash
# cltower vs PyTorch: training examples/s (user sequences/s) of the same model,
# configuration and thread count on Amazon Beauty (loo), RUNS times each,
# alternating (odd runs cltower first, even runs PyTorch first).
#
#   cltower: `cltower train` for EPOCHS epochs (valid evaluation only after the
#            last); examples/s of the last epoch from train_log.jsonl (epoch 1
#            is warm-up when EPOCHS >= 2).
#   PyTorch: bench/torch_ref.py with the cltower run's own config file, float32,
#            torch.set_num_threads(THREADS); examples/s over TORCH_STEPS steps
#            (0: one epoch) after 3 warm-up steps.
#
# usage: bench/vs_pytorch.sh MODEL [THREADS=2] [RUNS=3]     MODEL: sasrec | cl-epidtn
#   env: EPOCHS (2), TORCH_STEPS (0 = one epoch), CLT_DATA_DIR (../shared/data)
# Last line: `ratio <median cltower examples/s / median PyTorch examples/s>`.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: bench/vs_pytorch.sh sasrec|cl-epidtn [threads=2] [runs=3]}
THREADS=${2:-2}
RUNS=${3:-3}
EPOCHS=${EPOCHS:-2}
TORCH_STEPS=${TORCH_STEPS:-0}
PY=/usr/bin/python3
case "$MODEL" in sasrec|cl-epidtn) ;; *) echo "vs_pytorch: MODEL must be sasrec or cl-epidtn" >&2; exit 2 ;; esac
DATA=${CLT_DATA_DIR:-../shared/data}/amazon-beauty
[ -f "$DATA/Beauty.txt" ] || { echo "vs_pytorch: $DATA/Beauty.txt not found" >&2; exit 1; }
$PY -c 'import torch, numpy' 2>/dev/null || scripts/install-deps.sh --bench
make -s -j1 all >&2
T=$(mktemp -d /tmp/cltower-vs-torch-XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

run_cltower() {
  build/cltower train --data "$DATA/Beauty.txt" --format seq --item-features "$DATA/Beauty_item2attributes.json" \
    --protocol loo --model "$MODEL" --epochs "$EPOCHS" --eval-every "$EPOCHS" --patience 100 \
    --threads "$THREADS" --quiet --out "$T/run" --overwrite >/dev/null
  $PY -c 'import json, sys; r = [json.loads(l) for l in open(sys.argv[1])][-1]; print(r["examples_per_second"], r["loss"])' \
    "$T/run/train_log.jsonl" > "$T/c.last"
  read -r ex loss < "$T/c.last"
  echo "$ex" >> "$T/c"
  echo "  cltower  run $1: $ex ex/s (epoch $EPOCHS, mean loss $loss)" >&2
}

run_torch() {
  $PY bench/torch_ref.py --model "$MODEL" --data "$DATA/Beauty.txt" \
    --item-features "$DATA/Beauty_item2attributes.json" --config "$T/run/config" \
    --threads "$THREADS" --steps "$TORCH_STEPS" 2>/dev/null > "$T/t.json"
  $PY -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["examples_per_second"], r["steps"], r["mean_loss"])' \
    "$T/t.json" > "$T/t.last"
  read -r ex steps loss < "$T/t.last"
  echo "$ex" >> "$T/t"
  echo "  pytorch  run $1: $ex ex/s ($steps steps, mean loss $loss)" >&2
}

: > "$T/c"; : > "$T/t"
echo "vs_pytorch: $MODEL, Beauty loo, $THREADS threads, $RUNS runs, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M') UTC" >&2
for r in $(seq "$RUNS"); do # run 1 is cltower first: the PyTorch runs read its config
  if [ $((r % 2)) -eq 1 ]; then run_cltower "$r"; run_torch "$r"; else run_torch "$r"; run_cltower "$r"; fi
done
C=$(median < "$T/c")
P=$(median < "$T/t")
echo "cltower examples/s median $C  runs $(xargs < "$T/c")"
echo "pytorch examples/s median $P  runs $(xargs < "$T/t")"
$PY -c 'import sys; print("ratio %.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$C" "$P"
