#!/usr/bin/env bash
# Serving benchmark: for synthetic catalogues of ~300k and ~1M items, trains a
# cheap model (youtubednn, EPOCHS epochs), exports it with an HNSW and an IVF index
# (each with its recall@50 against exact search), then loads `cltower serve`
# with wrk for DURATION seconds per search mode (POST /v1/recommend, random
# known users, k = 50) and prints p50/p99 latency, QPS and errors as markdown.
#
# usage: bench/serve_load.sh [ITEMS ...]        (default: 300000 1000000)
# env:   EPOCHS=3 USERS=items/2 TRAIN_OPTS="--lr 0.005 --negatives 1024" PREPARE_ONLY=0 (1: build data, models and indexes only) DURATION=30 CONNS=8 WRK_THREADS=1 SERVER_THREADS=2 MODES="hnsw ivf exact"
#        HNSW_M=32 EF_CONSTRUCTION=200 EF_SEARCH=128 NPROBE=16 THREADS=0 (build/train threads)
#        BIN=build/cltower OUT=/tmp/cltower-serve-bench (kept between runs: data, runs and indexes are reused)
# The client runs on the same machine as the server: on a small box wrk takes
# a share of the cores and the numbers are a lower bound.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${*:-300000 1000000}
DURATION=${DURATION:-30} CONNS=${CONNS:-8} WRK_THREADS=${WRK_THREADS:-1} SERVER_THREADS=${SERVER_THREADS:-2}
MODES=${MODES:-hnsw ivf exact} THREADS=${THREADS:-0} OUT=${OUT:-/tmp/cltower-serve-bench}
EPOCHS=${EPOCHS:-3} PREPARE_ONLY=${PREPARE_ONLY:-0} USERS=${USERS:-0}
# lr 0.005 and 1,024 uniform negatives: every item's vector moves away from its
# random start in a few epochs (an ANN index's recall depends on that structure)
TRAIN_OPTS=${TRAIN_OPTS:---lr 0.005 --negatives 1024}
HNSW_M=${HNSW_M:-32} EF_CONSTRUCTION=${EF_CONSTRUCTION:-200} EF_SEARCH=${EF_SEARCH:-128} NPROBE=${NPROBE:-16}
BIN=${BIN:-build/cltower} # BIN=path/to/cltower: use that binary, do not rebuild
command -v wrk >/dev/null || { echo "bench/serve_load.sh: wrk not found (scripts/install-deps.sh --bench)" >&2; exit 1; }
[ "$BIN" != build/cltower ] || make -s all
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; true' EXIT

json() { grep -o "\"$2\": *[0-9.e+-]*" "$1" | head -1 | sed 's/.*: *//'; }

# prepare ITEMS DIR: synthetic log -> EPOCHS-epoch model -> hnsw and ivf exports.
# Half as many users as items (or USERS) with 20 events each and a flat popularity curve
# make nearly every item of the catalogue appear; the comirec protocol keeps
# the training run's evaluation to 10% of the users.
prepare() {
  local items=$1 dir=$2
  [ -s "$dir/syn/interactions.csv" ] || $BIN synth --out "$dir/syn" --users $((USERS > 0 ? USERS : items / 2)) --items "$items" \
    --mean-len 20 --zipf 0.8 --seed 1 --quiet
  [ -s "$dir/run/model.bin" ] || $BIN train --data "$dir/syn/interactions.csv" --format comirec --protocol comirec \
    --model youtubednn --epochs "$EPOCHS" --eval-every "$EPOCHS" --dim 64 $TRAIN_OPTS --threads "$THREADS" --out "$dir/run" --overwrite --quiet >&2
  [ -s "$dir/hnsw/index.faiss" ] || $BIN export --run "$dir/run" --out "$dir/hnsw" --index hnsw --hnsw-m "$HNSW_M" \
    --ef-construction "$EF_CONSTRUCTION" --ef-search "$EF_SEARCH" --threads "$THREADS" >&2
  [ -s "$dir/ivf/index.faiss" ] || $BIN export --run "$dir/run" --out "$dir/ivf" --index ivf --nprobe "$NPROBE" \
    --threads "$THREADS" >&2
  awk 'NR % 7 == 1' "$dir/hnsw/users.tsv" > "$dir/user_ids.txt"
}

# load DIR MODE: one wrk run against a fresh server; prints a table row.
load() {
  local dir=$1 mode=$2 index=() port=
  [ "$mode" != exact ] && index=(--index "$dir/$mode/index.faiss")
  $BIN serve --run "$dir/run" "${index[@]}" --port 0 --threads "$SERVER_THREADS" 2> "$dir/serve-$mode.err" &
  SERVER_PID=$!
  for _ in $(seq 1 1200); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$dir/serve-$mode.err" | sed 's/.*://') && [ -n "$port" ] && break
    sleep 0.5
  done
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s bench/serve_recommend.lua \
    "http://127.0.0.1:$port/v1/recommend" -- "$dir/user_ids.txt" 50 > "$dir/wrk-$mode.txt"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
  local w="$dir/wrk-$mode.txt"
  local p50 p99 qps non2xx sock recall="—"
  p50=$(awk '$1 == "50%" {print $2}' "$w"); p99=$(awk '$1 == "99%" {print $2}' "$w")
  qps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$w")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$w"); sock=$(grep -o 'Socket errors:.*' "$w" || true)
  [ "$mode" != exact ] && recall=$(json "$dir/$mode/export.json" recall_at_50 | xargs printf '%.3f')
  echo "| $(json "$dir/hnsw/export.json" items) | $mode | $recall | $p50 | $p99 | $qps | ${non2xx:-0}${sock:+, $sock} |"
}

echo "## serving benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "youtubednn dim 64, k = 50, wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s on loopback, server --threads $SERVER_THREADS;"
echo "hnsw M=$HNSW_M efConstruction=$EF_CONSTRUCTION efSearch=$EF_SEARCH, ivf nlist auto nprobe=$NPROBE."
echo
echo "| items | search | recall@50 vs exact | p50 | p99 | QPS | errors (non-2xx) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for items in $SIZES; do
  dir="$OUT/i$items"
  mkdir -p "$dir"
  prepare "$items" "$dir"
  [ "$PREPARE_ONLY" = 1 ] && continue
  for mode in $MODES; do load "$dir" "$mode"; done
done
