#!/usr/bin/env bash
# Checkpoints and --resume, end to end: a training run killed with SIGKILL in
# the middle of an epoch and continued with `cltower train --resume` ends with
# the same metrics.json (timing fields aside) and train_log.jsonl as an
# uninterrupted run of the same configuration; and resume refuses a finished
# run, a run without a checkpoint, a corrupted or truncated checkpoint and an
# edited config, each with a one-line message.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${CLTOWER:-build/cltower}
PY=python3
T=$(mktemp -d /tmp/cltower-resume-XXXXXX)
trap 'rm -rf "$T"' EXIT

pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2"; }
# expect_fail PATTERN NAME CMD...: CMD exits 1 with one stderr line matching PATTERN.
expect_fail() {
  local pat=$1 name=$2; shift 2
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ "$rc" -eq 1 ] && grep -qE "$pat" <<<"$err" && [ "$(wc -l <<<"$err")" -eq 1 ]; then ok "$name"
  else bad "$name (exit $rc)" "$err"; fi
}
# same_results A B: metrics.json equal but for timing fields, train_log.jsonl equal line by line
# but for timing fields (so a resumed log has neither duplicate nor missing epochs). The GEMM
# tally counts what this process ran, so a resumed epoch logs less: it is a timing field here.
same_results() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
TIMING = {"train_seconds", "eval_seconds", "valid_seconds", "train_examples_per_second",
          "eval_users_per_second", "examples_per_second", "gemm_gflop", "gemm_seconds"}
def strip(d): return {k: v for k, v in d.items() if k not in TIMING}
a, b = sys.argv[1], sys.argv[2]
ma, mb = strip(json.load(open(a + "/metrics.json"))), strip(json.load(open(b + "/metrics.json")))
assert ma == mb, [(k, ma.get(k), mb.get(k)) for k in ma if ma.get(k) != mb.get(k)]
la = [strip(json.loads(l)) for l in open(a + "/train_log.jsonl")]
lb = [strip(json.loads(l)) for l in open(b + "/train_log.jsonl")]
assert la == lb, (len(la), len(lb))
PYEOF
}

$BIN synth --out "$T/syn" --users 1200 --items 500 --seed 5 --quiet >/dev/null 2>&1
ARGS=(--data "$T/syn/interactions.csv" --format comirec --model youtubednn --protocol loo --epochs 3
      --dim 16 --batch-size 32 --threads 2 --quiet --checkpoint-every 20)

$BIN train "${ARGS[@]}" --out "$T/ref" >/dev/null 2>&1
[ -s "$T/ref/metrics.json" ] && [ ! -e "$T/ref/checkpoint.bin" ] && ok "finished run: no checkpoint left" ||
  bad "uninterrupted run"

# Kill -9 once epoch 1 is logged and two more checkpoints have replaced the one
# seen then (the epoch-end one, then one in the middle of epoch 2). Polling, not
# sleeping a fixed time: robust on a loaded machine.
$BIN train "${ARGS[@]}" --out "$T/run" >/dev/null 2>&1 &
pid=$!
seen="" changes=0
for _ in $(seq 1 3000); do
  kill -0 $pid 2>/dev/null || break
  if [ -s "$T/run/train_log.jsonl" ] && [ -e "$T/run/checkpoint.bin" ]; then
    now=$(stat -c %Y.%i "$T/run/checkpoint.bin" 2>/dev/null)  # each rename brings a new inode
    [ -n "$seen" ] && [ "$now" != "$seen" ] && changes=$((changes+1))
    seen=$now
    [ $changes -ge 2 ] && break
  fi
  sleep 0.01
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -e "$T/run/metrics.json" ]; then
  echo "skip kill -9 test: the run finished before it could be killed"
else
  [ -e "$T/run/checkpoint.bin" ] && ok "killed run left a checkpoint" || bad "killed run left no checkpoint"
  cp -r "$T/run" "$T/killed"
  if $BIN train --resume "$T/run" > "$T/resume.out" 2> "$T/resume.err"; then ok "resume after kill -9"
  else bad "resume after kill -9" "$(cat "$T/resume.err")"; fi
  echo "    $(grep resuming "$T/resume.err")"
  err=$(same_results "$T/ref" "$T/run" 2>&1) && ok "resumed run equals the uninterrupted one (metrics, log)" ||
    bad "resumed run differs" "$err"
  [ ! -e "$T/run/checkpoint.bin" ] && ! ls "$T/run"/*.tmp.* >/dev/null 2>&1 && ok "no checkpoint or temp files left" ||
    bad "leftovers after resume" "$(ls "$T/run")"
fi

# ---- refusals ---------------------------------------------------------------------
expect_fail "training already finished" "resume of a finished run" $BIN train --resume "$T/ref"
mkdir -p "$T/nockpt" && cp "$T/ref/config" "$T/nockpt/"
expect_fail "checkpoint.bin: no checkpoint" "resume without a checkpoint" $BIN train --resume "$T/nockpt"
expect_fail "not a run directory" "resume of a missing directory" $BIN train --resume "$T/nope"
$BIN train --resume "$T/ref" --epochs 5 >/dev/null 2>&1
[ $? -eq 2 ] && ok "resume with training options is a usage error" || bad "resume --epochs accepted"

# Damaged copies of the killed run (saved before it was resumed).
if [ -d "$T/killed" ]; then
  cp -r "$T/killed" "$T/edited" && sed -i 's/^lr = .*/lr = 0.5/' "$T/edited/config"
  expect_fail "config: differs from the configuration" "edited config refused" $BIN train --resume "$T/edited"
  cp -r "$T/killed" "$T/trunc"
  size=$(stat -c %s "$T/trunc/checkpoint.bin")
  truncate -s $((size / 2)) "$T/trunc/checkpoint.bin"
  expect_fail "trunc/checkpoint.bin: truncated" "truncated checkpoint refused, naming the file" \
    $BIN train --resume "$T/trunc"
  cp -r "$T/killed" "$T/flip"
  byte=$(od -An -tu1 -j $((size / 2)) -N1 "$T/flip/checkpoint.bin")
  printf "\\$(printf %03o $(( (byte + 1) % 256 )))" |
    dd of="$T/flip/checkpoint.bin" bs=1 seek=$((size / 2)) conv=notrunc status=none
  expect_fail "flip/checkpoint.bin: checksum mismatch" "corrupted checkpoint refused, naming the file" \
    $BIN train --resume "$T/flip"
  cp -r "$T/killed" "$T/model" && cp "$T/ref/model.bin" "$T/model/checkpoint.bin"
  expect_fail "model/checkpoint.bin: no trainer state" "model file as checkpoint refused" $BIN train --resume "$T/model"
  [ -e "$T/trunc/checkpoint.bin" ] && [ -e "$T/trunc/config" ] && [ -e "$T/trunc/train_log.jsonl" ] &&
    ok "a refused resume leaves the run directory alone" || bad "a refused resume removed files" "$(ls "$T/trunc")"
fi

echo
echo "resume: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
