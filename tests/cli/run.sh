#!/usr/bin/env bash
# End-to-end tests of the cltower command line: exit codes and messages for
# bad usage and bad data, no half-written run directories, the
# synth -> train -> eval flow, config files, and (when ../shared/data exists)
# MostPop on Amazon Beauty against an independent computation and YouTube DNN
# beating it. CLT_QUICK=1 skips the real-data training (sanitizer runs).
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${CLTOWER:-build/cltower}
DATA=${CLT_DATA_DIR:-../shared/data}
PY=python3
T=$(mktemp -d /tmp/cltower-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

. tests/cli/lib.sh  # ok, bad, expect_exit, expect_err

# ---- usage ------------------------------------------------------------------
expect_exit 0 "cltower --help" $BIN --help
for c in synth train eval compare; do expect_exit 0 "$c --help" $BIN $c --help; done
expect_exit 2 "unknown command" $BIN frobnicate
expect_exit 2 "unknown option" $BIN train --data x --out "$T/r" --bogus 1
expect_err "unknown option --bogus" "unknown option message"
expect_exit 2 "bad integer value" $BIN train --data x --out "$T/r" --epochs ten
expect_err "epochs: expected an integer" "bad integer message"
expect_exit 2 "out of range value" $BIN train --data x --out "$T/r" --dropout 2
expect_exit 2 "bad choice" $BIN train --data x --out "$T/r" --loss hinge
expect_err "expected one of sampled\|full\|bce" "bad choice message"
expect_exit 2 "missing --data" $BIN train --out "$T/r"
expect_exit 2 "unknown model" $BIN train --data x --out "$T/r" --model nope
expect_exit 2 "eval without --run" $BIN eval
[ ! -e "$T/r" ] && ok "no run dir after usage errors" || bad "run dir created after usage error"

# ---- bad data -----------------------------------------------------------------
printf '1,10,5,100\n1,11,5,101\n2,10\n' > "$T/short.csv"
expect_exit 1 "wrong column count" $BIN train --data "$T/short.csv" --format comirec --out "$T/r1" --quiet
expect_err "short.csv:3:" "error names file and line"
[ ! -e "$T/r1" ] && ok "no partial run dir after bad data" || bad "partial run dir left behind"
printf '1,10,5,100\n1,11,5,abc\n' > "$T/nonnum.csv"
expect_exit 1 "non-numeric timestamp" $BIN train --data "$T/nonnum.csv" --format comirec --out "$T/r2" --quiet
expect_err "nonnum.csv:2:" "non-numeric message"
: > "$T/empty.txt"
expect_exit 1 "empty file" $BIN train --data "$T/empty.txt" --format seq --out "$T/r3" --quiet
expect_exit 1 "missing file" $BIN train --data "$T/nope.txt" --format seq --out "$T/r4" --quiet
expect_err "nope.txt" "missing file message"
expect_exit 1 "eval of a non-run" $BIN eval --run "$T"

# ---- synth -> train -> eval ---------------------------------------------------
if $BIN synth --out "$T/syn" --users 600 --items 300 --seed 3 --quiet >/dev/null 2>&1 &&
   [ -s "$T/syn/interactions.csv" ] && [ -s "$T/syn/README.md" ]; then ok "synth writes csv + README"
else bad "synth"; fi
$BIN synth --out "$T/syn2" --users 600 --items 300 --seed 3 --quiet >/dev/null 2>&1
cmp -s "$T/syn/interactions.csv" "$T/syn2/interactions.csv" && ok "synth is deterministic" || bad "synth determinism"

cat > "$T/cfg" <<CFG
# a config file; the command line wins
model = youtubednn
epochs = 3
dim = 16
batch-size = 64
CFG
if $BIN train --config "$T/cfg" --data "$T/syn/interactions.csv" --format comirec --protocol loo \
     --epochs 2 --out "$T/run" --quiet --threads 2 > "$T/train.out" 2>&1; then ok "train youtubednn on synth"
else bad "train youtubednn on synth" "$(cat "$T/train.out")"; fi
for f in config model.bin items.tsv features.tsv metrics.json train_log.jsonl; do
  [ -s "$T/run/$f" ] || bad "run dir has $f"
done
grep -q "^epochs = 2$" "$T/run/config" && grep -q "^dim = 16$" "$T/run/config" && ok "config: file applied, command line wins" || bad "config precedence" "$(cat "$T/run/config")"
[ "$(wc -l < "$T/run/train_log.jsonl")" -eq 2 ] && ok "one log line per epoch" || bad "train_log lines"
expect_exit 2 "existing run dir refused" $BIN train --data "$T/syn/interactions.csv" --format comirec --out "$T/run" --quiet

$BIN eval --run "$T/run" --json --quiet > "$T/eval.json" 2>/dev/null
if $PY - "$T/run/metrics.json" "$T/eval.json" <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1]))["test"]; b = json.load(open(sys.argv[2]))["test"]
assert a["users"] == b["users"] > 0, (a, b)
for k in ("HR@10", "Recall@20", "NDCG@50"):
    assert abs(a[k] - b[k]) < 1e-9, (k, a[k], b[k])
PYEOF
then ok "eval reproduces metrics.json"; else bad "eval reproduces metrics.json"; fi

# ---- compare: several models on one split, resumable -------------------------
$BIN synth --out "$T/syc" --users 300 --items 150 --seed 5 --quiet >/dev/null 2>&1
OPTS=(--data "$T/syc/interactions.csv" --format comirec --protocol comirec --epochs 2 --dim 16 --threads 2)
CMP=("${OPTS[@]}" --out "$T/cmp")
expect_exit 2 "compare: unknown model" $BIN compare "${CMP[@]}" --models mostpop,nope
expect_err "unknown model 'nope' \(expected one of: mostpop, " "compare: unknown model lists the registered ones"
expect_exit 2 "compare: duplicate model" $BIN compare "${CMP[@]}" --models mostpop,youtubednn,mostpop
expect_exit 2 "compare: empty --models" $BIN compare "${CMP[@]}" --models ""
[ ! -e "$T/cmp" ] && ok "compare: no directory after usage errors" || bad "compare dir created after usage error"
if $BIN compare "${CMP[@]}" --models mostpop,youtubednn,comirec-sa > "$T/cmp.out" 2>&1 &&
   grep -q '^\[3/3\] comirec-sa: training (defaults: ' "$T/cmp.out"; then ok "compare trains three models"
else bad "compare trains three models" "$(cat "$T/cmp.out")"; fi
for f in results.md results.json recall50_by_popularity.svg mostpop/metrics.json comirec-sa/model.bin; do
  [ -s "$T/cmp/$f" ] || bad "compare wrote $f"
done
if $PY - "$T/cmp" <<'PYEOF'
import json, sys, xml.dom.minidom
d = sys.argv[1]
r = json.load(open(d + "/results.json"))
assert [m["model"] for m in r["models"]] == ["mostpop", "youtubednn", "comirec-sa"], r["models"]
for m in r["models"]:
    assert m["test"]["users"] == r["split"]["test_users"] > 0, m
    assert len(m["popularity_recall"]) == 5 and sum(m["popularity_targets"]) > 0, m
    assert m["test"] == json.load(open("%s/%s/metrics.json" % (d, m["model"])))["test"]
svg = xml.dom.minidom.parse(d + "/recall50_by_popularity.svg")
assert len(svg.getElementsByTagName("rect")) == 1 + 3 * 5 + 3
assert "| comirec-sa |" in open(d + "/results.md").read()
PYEOF
then ok "compare: results.json has every model, the svg is well-formed XML"; else bad "compare results"; fi
$BIN eval --run "$T/cmp/youtubednn" --quiet >/dev/null 2>&1 && ok "compare: a model's dir is a run" || bad "eval of a compare run"
$BIN train "${OPTS[@]}" --model comirec-sa --out "$T/cmp-sa" --quiet >/dev/null 2>&1
if $PY -c 'import json, sys; a, b = (json.load(open(p))["test"] for p in sys.argv[1:]); assert a == b, (a, b)' \
     "$T/cmp/comirec-sa/metrics.json" "$T/cmp-sa/metrics.json"
then ok "compare trains a model exactly as train does"; else bad "compare vs train"; fi
cp "$T/cmp/results.json" "$T/cmp1.json"
$BIN compare "${CMP[@]}" --models mostpop,youtubednn,comirec-sa > "$T/cmp2.out" 2>&1
if [ "$(grep -c 'already trained, skipped' "$T/cmp2.out")" -eq 3 ] && cmp -s "$T/cmp/results.json" "$T/cmp1.json"
then ok "compare: a rerun skips finished models"; else bad "compare rerun" "$(cat "$T/cmp2.out")"; fi

# ---- real data ----------------------------------------------------------------
BEAUTY="$DATA/amazon-beauty/Beauty.txt"
if [ ! -f "$BEAUTY" ]; then
  echo "skip real-data tests: $BEAUTY not found"
else
  $BIN train --data "$BEAUTY" --format seq --model mostpop --protocol loo --out "$T/mp" --quiet >/dev/null 2>&1
  $PY tests/reference/mostpop_loo.py "$BEAUTY" 10 20 50 > "$T/mp_ref.json"
  if $PY - "$T/mp/metrics.json" "$T/mp_ref.json" <<'PYEOF'
import json, sys
ours = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))
for split in ("valid", "test"):
    for k in ("HR@10", "HR@20", "HR@50", "NDCG@10", "NDCG@50"):
        assert abs(ours[split][k] - ref[split][k]) < 1e-9, (split, k, ours[split][k], ref[split][k])
print("    MostPop test HR@10 %.6f (independent: %.6f)" % (ours["test"]["HR@10"], ref["test"]["HR@10"]))
PYEOF
  then ok "MostPop on Beauty equals the independent computation"; else bad "MostPop on Beauty vs independent"; fi

  if [ -n "${CLT_QUICK:-}" ]; then
    echo "skip youtubednn on Beauty (CLT_QUICK)"
  else
    $BIN train --data "$BEAUTY" --format seq --item-features "$DATA/amazon-beauty/Beauty_item2attributes.json" \
      --model youtubednn --protocol loo --epochs 12 --out "$T/yt" --quiet >/dev/null 2>&1
    if $PY - "$T/mp/metrics.json" "$T/yt/metrics.json" <<'PYEOF'
import json, sys
mp = json.load(open(sys.argv[1]))["test"]; yt = json.load(open(sys.argv[2]))["test"]
print("    test HR@10 youtubednn %.4f vs mostpop %.4f; NDCG@10 %.4f vs %.4f" % (yt["HR@10"], mp["HR@10"], yt["NDCG@10"], mp["NDCG@10"]))
assert yt["HR@10"] > 2 * mp["HR@10"] and yt["NDCG@10"] > 2 * mp["NDCG@10"]
PYEOF
    then ok "youtubednn beats MostPop on Beauty (HR@10, NDCG@10)"; else bad "youtubednn vs MostPop on Beauty"; fi
  fi
fi

echo
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
