#!/usr/bin/env bash
# Books-scale training: one cl-epidtn epoch (and the full test evaluation that
# follows it) on `cltower synth --preset books` scaled to FRACTION of ComiRec's
# Amazon Books (459,133 users, 313,966 items, ~8.9M events), for each
# FRACTION; prints a markdown row per size: events, train seconds for the epoch,
# training events/s, test evaluation (exact, all items) seconds and users/s,
# the process's peak RSS (/usr/bin/time -v), and the machine's sgemm peak
# (2048^3, build/bench_sgemm) measured just before the training: shared hosts
# here vary by 1.5x from hour to hour, and the peak says how fast the host was.
#
# usage: bench/books_scale.sh [FRACTION ...]      (default: 0.1 0.3 1)
# env:   THREADS=2 MODEL=cl-epidtn BIN=build/cltower (another path: no rebuild)
#        OUT=/tmp/cltower-books (synthetic data is kept and reused)
set -euo pipefail
cd "$(dirname "$0")/.."
FRACTIONS=${*:-0.1 0.3 1}
THREADS=${THREADS:-2} MODEL=${MODEL:-cl-epidtn} OUT=${OUT:-/tmp/cltower-books}
BIN=${BIN:-build/cltower}
[ "$BIN" != build/cltower ] || make -s all
make -s build/bench_sgemm
[ -x /usr/bin/time ] || { echo "bench/books_scale.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
mkdir -p "$OUT"

echo "## books scale — $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, $THREADS threads, $MODEL, 1 epoch"
echo
echo "| fraction | users | items | events | train s (1 epoch) | events/s | test eval s | eval users/s | peak RSS GiB | sgemm peak GFLOP/s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for f in $FRACTIONS; do
  users=$(awk -v f="$f" 'BEGIN {printf "%d", 459133 * f}')
  items=$(awk -v f="$f" 'BEGIN {printf "%d", 313966 * f}')
  cates=$(awk -v f="$f" 'BEGIN {c = int(1600 * f); print (c < 16 ? 16 : c)}')
  topics=$(awk -v c="$cates" 'BEGIN {t = int(c / 4); print (t < 4 ? 4 : t)}')
  data="$OUT/books-$f"
  [ -s "$data/interactions.csv" ] || "$BIN" synth --preset books --users "$users" --items "$items" \
    --cates "$cates" --topics "$topics" --out "$data" --quiet
  run="$OUT/run-$MODEL-$f"
  peak=$(build/bench_sgemm "$THREADS" | awk '/M=2048 N=2048/ {print $5}')
  /usr/bin/time -v -o "$OUT/time-$MODEL-$f.txt" "$BIN" train --data "$data/interactions.csv" --format comirec \
    --protocol comirec --model "$MODEL" --epochs 1 --threads "$THREADS" --quiet --out "$run" --overwrite >/dev/null
  rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$OUT/time-$MODEL-$f.txt")
  events=$(wc -l < "$data/interactions.csv")
  python3 - "$run" "$f" "$users" "$items" "$events" "$rss_kb" "$peak" <<'PY'
import json, sys
run, f, users, items, events, rss, peak = sys.argv[1:]
log = [json.loads(l) for l in open(run + "/train_log.jsonl")][-1]
m = json.load(open(run + "/metrics.json"))
tr = log["train_seconds"]
ev = m.get("eval_seconds", 0)
n = int(events) - 1
print("| %s | %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.2f | %s |" % (f, format(int(users), ","), format(int(items), ","),
      format(n, ","), tr, n / tr, ev, m.get("eval_users_per_second", 0), int(rss) / 2**20, peak))
PY
done
