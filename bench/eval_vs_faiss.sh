#!/usr/bin/env bash
# Exact top-K retrieval: cltower's evaluation kernel (src/eval/exact.c) vs
# Faiss IndexFlatIP on the same vectors, the same K and threads (issue: exact
# top-50 evaluation users/s vs Faiss IndexFlatIP >= 1.0x). The measuring is
# done by build/bench_eval_faiss (bench/eval_vs_faiss.c, which explains the
# method); this script prepares the vectors.
#
# usage: bench/eval_vs_faiss.sh [RUN_DIR] [K=50] [THREADS=2] [RUNS=3]
#   RUN_DIR  a trained run whose item and user vectors are compared (via
#            `cltower export --index none`). Default: youtubednn trained for
#            EPOCHS epochs on Amazon Beauty (seq, loo) into a temporary
#            directory; skipped with a message when the data is absent.
#   env: EPOCHS (3), CLT_DATA_DIR (../shared/data),
#        SYNTHETIC="N_ITEMS N_USERS DIM" adds a case with standard-normal
#        vectors, e.g. SYNTHETIC="314000 20000 64" for a Books-size catalogue
#        (the speed of an exact search does not depend on the values).
# Each case ends with a line `ratio <median cltower users/s / median Faiss users/s>`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-}
K=${2:-50}
THREADS=${3:-2}
RUNS=${4:-3}
EPOCHS=${EPOCHS:-3}
make -s -j1 all build/bench_eval_faiss >&2
T=$(mktemp -d /tmp/cltower-eval-faiss-XXXXXX)
trap 'rm -rf "$T"' EXIT

if [ -z "$RUN" ]; then
  DATA=${CLT_DATA_DIR:-../shared/data}/amazon-beauty
  if [ -f "$DATA/Beauty.txt" ]; then
    echo "eval_vs_faiss: training youtubednn on $DATA/Beauty.txt ($EPOCHS epochs, $THREADS threads)" >&2
    build/cltower train --data "$DATA/Beauty.txt" --format seq --model youtubednn --protocol loo \
      --epochs "$EPOCHS" --patience 100 --threads "$THREADS" --out "$T/run" --quiet >/dev/null
    RUN=$T/run
  else
    echo "eval_vs_faiss: $DATA/Beauty.txt not found; skipping the trained-vector case" >&2
  fi
fi

if [ -n "$RUN" ]; then
  build/cltower export --run "$RUN" --out "$T/export" --index none --threads "$THREADS" --quiet
  echo "## vectors of $([ "$RUN" = "$T/run" ] && echo "youtubednn, Beauty loo, $EPOCHS epochs" || echo "$RUN")"
  build/bench_eval_faiss "$T/export/item_vectors.npy" "$T/export/user_vectors.npy" "$K" "$THREADS" "$RUNS"
fi

if [ -n "${SYNTHETIC:-}" ]; then
  read -r N_ITEMS N_USERS DIM <<< "$SYNTHETIC"
  echo "## synthetic standard-normal vectors"
  build/bench_eval_faiss --synthetic "$N_ITEMS" "$N_USERS" "$DIM" "$K" "$THREADS" "$RUNS"
fi
