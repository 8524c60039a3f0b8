#!/usr/bin/env bash
# End-to-end tests of serving: recommend, export (numpy- and Faiss-readable
# files) and the HTTP server — started on a free loopback port, its answers
# equal `cltower recommend --json`, bad input gets 4xx and a JSON error while
# the server keeps running, concurrent requests agree, SIGTERM stops it
# cleanly (exit 0; under ASan also no leaks). Uses curl, or Python's urllib
# when curl is missing; the Faiss check skips without python3-faiss.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${CLTOWER:-build/cltower}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
T=$(mktemp -d /tmp/cltower-serve-XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

. tests/cli/lib.sh  # ok, bad, expect_exit, expect_err

# http METHOD PATH [BODY-FILE]: prints the response body, then its status on a last line.
http() {
  local url="http://127.0.0.1:$PORT$2"
  if command -v curl >/dev/null; then
    if [ -n "${3:-}" ]; then curl -s -X "$1" --data-binary @"$3" -w '\n%{http_code}' "$url"
    else curl -s -X "$1" -w '\n%{http_code}' "$url"; fi
  else
    "$PY" - "$1" "$url" "${3:-}" <<'PYEOF'
import sys, urllib.request, urllib.error
method, url, body = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(body, 'rb').read() if body else None
try:
    r = urllib.request.urlopen(urllib.request.Request(url, data=data, method=method), timeout=30)
    code, text = r.status, r.read()
except urllib.error.HTTPError as e:
    code, text = e.code, e.read()
sys.stdout.write(text.decode().rstrip('\n') + '\n%d' % code)
PYEOF
  fi
}
# expect_http STATUS NAME METHOD PATH [BODY]: checks status and, for errors, a JSON {"error"}.
expect_http() {
  local status=$1 name=$2 method=$3 path=$4 body=${5-}
  local f=""
  if [ -n "${5+x}" ]; then f="$T/body.$RANDOM"; printf '%s' "$body" > "$f"; fi
  local out; out=$(http "$method" "$path" $f)
  local got; got=$(tail -n1 <<<"$out")
  if [ "$got" = "$status" ] && { [ "$status" = 200 ] || grep -q '^{"error":"' <<<"$out"; }; then ok "$name"
  else bad "$name (HTTP $got, expected $status)" "$out"; fi
}

# start_server NAME ARGS...: runs cltower serve on a free port, sets PORT.
start_server() {
  local name=$1; shift
  "$BIN" serve --port 0 --threads 4 --max-body 4096 "$@" 2> "$T/$name.err" &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 600); do
    PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$T/$name.err" | sed 's/.*://')
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$PORT" ]; then ok "serve $name listens on port $PORT"; else bad "serve $name did not start" "$(cat "$T/$name.err")"; fi
}
stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; local rc=$?; SERVER_PID=
  if [ "$rc" -eq 0 ] && grep -q "SIGTERM, stopping" "$T/$1.err"; then ok "serve $1 stops on SIGTERM (exit 0)"
  else bad "serve $1 exit $rc after SIGTERM" "$(cat "$T/$1.err")"; fi
}

# same_items A B: two recommend responses list the same items and scores.
same_items() {
  "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
a, b = (json.loads(open(p).read().strip().split('\n')[0]) for p in sys.argv[1:])
assert a["items"] == b["items"] and a["model"] == b["model"], (a, b)
assert len(a["items"]) > 0
PYEOF
}

# ---- usage --------------------------------------------------------------------
for c in recommend export serve; do expect_exit 0 "$c --help" $BIN $c --help; done
expect_exit 2 "recommend without --run" $BIN recommend --user 1
expect_exit 2 "recommend needs one of --user/--history" $BIN recommend --run x
expect_exit 2 "recommend with both --user and --history" $BIN recommend --run x --user 1 --history 2
expect_exit 2 "recommend k out of range" $BIN recommend --run x --user 1 --k 0
expect_exit 2 "export without --out" $BIN export --run x
expect_exit 2 "export bad index kind" $BIN export --run x --out "$T/e" --index lsh
expect_exit 2 "serve without --run" $BIN serve
expect_exit 1 "recommend on a non-run" $BIN recommend --run "$T" --user 1

# ---- a tiny single- and multi-interest model ------------------------------------
$BIN synth --out "$T/syn" --users 300 --items 200 --seed 5 --quiet >/dev/null 2>&1
common=(--data "$T/syn/interactions.csv" --format comirec --protocol loo --epochs 1 --dim 16 --batch-size 64 --quiet --threads 2)
if $BIN train "${common[@]}" --model youtubednn --out "$T/yt" > "$T/train.out" 2>&1 &&
   $BIN train "${common[@]}" --model mind --interests 3 --out "$T/mind" >> "$T/train.out" 2>&1
then ok "train youtubednn and mind"; else bad "train" "$(cat "$T/train.out")"; fi
U1=$(cut -d, -f1 "$T/syn/interactions.csv" | sort -u | head -n 3 | tail -n 1)
read -r I1 I2 I3 < <(cut -d, -f2 "$T/syn/interactions.csv" | sort -u | head -n 3 | tr '\n' ' ')

# ---- recommend -------------------------------------------------------------------
$BIN recommend --run "$T/yt" --user "$U1" --k 7 > "$T/rec.txt" 2> "$T/rec.err"
if [ "$(wc -l < "$T/rec.txt")" -eq 7 ] && awk -F'\t' 'NF != 2 { exit 1 }' "$T/rec.txt"; then ok "recommend prints k id/score lines"
else bad "recommend lines" "$(cat "$T/rec.txt" "$T/rec.err")"; fi
if ! grep -qxF "$(grep "^$U1," "$T/syn/interactions.csv" | cut -d, -f2 | head -n1)" <(cut -f1 "$T/rec.txt"); then ok "recommend excludes seen items"
else bad "recommend recommended a seen item"; fi
expect_exit 1 "recommend unknown user" $BIN recommend --run "$T/yt" --user no-such-user
grep -q "unknown user id 'no-such-user'" <<<"$ERR" && ok "unknown user message" || bad "unknown user message" "$ERR"
expect_exit 1 "recommend unknown history item" $BIN recommend --run "$T/yt" --history "$I1,nope"

# ---- export ------------------------------------------------------------------------
if $BIN export --run "$T/mind" --out "$T/exp" --recall-queries 50 --quiet 2> "$T/exp.err" &&
   $BIN export --run "$T/yt" --out "$T/exp-ivf" --index ivf --nlist 4 --nprobe 4 --quiet 2>> "$T/exp.err"
then ok "export hnsw (mind) and ivf (youtubednn)"; else bad "export" "$(cat "$T/exp.err")"; fi
if "$PY" - "$T/exp" "$T/exp-ivf" <<'PYEOF'
import json, sys
import numpy as np
for d, shape in ((sys.argv[1], 3), (sys.argv[2], 2)):
    it, us = np.load(d + "/item_vectors.npy"), np.load(d + "/user_vectors.npy")
    meta = json.load(open(d + "/export.json"))
    assert it.dtype == np.float32 and it.shape == (meta["items"], meta["dim"]), it.shape
    assert us.ndim == shape and us.shape[0] == meta["users"] and us.shape[-1] == meta["dim"], us.shape
    assert len(open(d + "/items.tsv").read().split("\n")) == meta["items"] + 1
    assert len(open(d + "/users.tsv").read().split("\n")) == meta["users"] + 1
    assert meta["index"]["recall_at_50"] > 0.9, meta["index"]
PYEOF
then ok "export: npy shapes, id files, recall@50 in export.json"; else bad "export files"; fi
if "$PY" -c "import faiss" 2>/dev/null; then
  if "$PY" - "$T/exp" "$T/exp-ivf" <<'PYEOF'
import sys
import faiss, numpy as np
for d in sys.argv[1:]:
    index = faiss.read_index(d + "/index.faiss")
    items, users = np.load(d + "/item_vectors.npy"), np.load(d + "/user_vectors.npy")
    q = users.reshape(-1, items.shape[1])[:50]
    assert index.ntotal == items.shape[0]
    if index.d == items.shape[1] + 1:  # HNSW, MIPS-to-L2 form: query with [q, 0]
        assert index.metric_type == faiss.METRIC_L2
        _, rows = index.search(np.hstack([q, np.zeros((len(q), 1), np.float32)]), 10)
    else:
        assert index.d == items.shape[1] and index.metric_type == faiss.METRIC_INNER_PRODUCT
        _, rows = index.search(q, 10)
    exact = np.argsort(-(q @ items.T), axis=1, kind="stable")[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact)])
    assert recall > 0.9, (d, recall)
PYEOF
  then ok "faiss.read_index opens the exported indexes; Python search finds the exact top-10"; else bad "python faiss cannot read the index"; fi
else
  echo "skip python faiss check: python3-faiss not installed"
fi

# ---- serve: exact search, youtubednn ------------------------------------------------
start_server yt --run "$T/yt"
if [ -n "$PORT" ]; then
  expect_http 200 "GET /v1/health" GET /v1/health
  out=$(http GET /v1/info)
  grep -q '"model":"youtubednn","items":' <<<"$out" && grep -q '"index":"exact"' <<<"$out" && ok "GET /v1/info" || bad "GET /v1/info" "$out"
  printf '{"user": "%s", "k": 7}' "$U1" > "$T/q1"
  printf '{"history": ["%s", "%s", "%s"], "k": 5, "exclude_seen": false}' "$I1" "$I2" "$I3" > "$T/q2"
  http POST /v1/recommend "$T/q1" > "$T/s1"; http POST /v1/recommend "$T/q2" > "$T/s2"
  $BIN recommend --run "$T/yt" --user "$U1" --k 7 --json > "$T/r1"
  $BIN recommend --run "$T/yt" --history "$I1,$I2,$I3" --k 5 --no-exclude-seen --json > "$T/r2"
  same_items "$T/s1" "$T/r1" && ok "server = recommend (user)" || bad "server vs recommend (user)" "$(cat "$T/s1" "$T/r1")"
  same_items "$T/s2" "$T/r2" && ok "server = recommend (history)" || bad "server vs recommend (history)" "$(cat "$T/s2" "$T/r2")"

  expect_http 400 "bad JSON -> 400" POST /v1/recommend '{"user": '
  expect_http 400 "empty body -> 400" POST /v1/recommend ''
  expect_http 400 "not an object -> 400" POST /v1/recommend '[1, 2]'
  expect_http 400 "unknown field -> 400" POST /v1/recommend "{\"user\": \"$U1\", \"kk\": 3}"
  expect_http 400 "k out of range -> 400" POST /v1/recommend "{\"user\": \"$U1\", \"k\": 100000}"
  expect_http 400 "user and history -> 400" POST /v1/recommend "{\"user\": \"$U1\", \"history\": [\"$I1\"]}"
  expect_http 404 "unknown user -> 404" POST /v1/recommend '{"user": "no-such-user"}'
  expect_http 404 "unknown item -> 404" POST /v1/recommend "{\"history\": [\"$I1\", \"no-such-item\"]}"
  expect_http 413 "oversized body -> 413" POST /v1/recommend "{\"history\": [$(printf '"x",%.0s' $(seq 1 2000))\"x\"]}"
  expect_http 405 "GET /v1/recommend -> 405" GET /v1/recommend
  expect_http 405 "POST /v1/health -> 405" POST /v1/health ''
  expect_http 404 "unknown path -> 404" GET /nope
  printf '\x00\xff\xfe{{{' > "$T/garbage"
  out=$(http POST /v1/recommend "$T/garbage"); [ "$(tail -n1 <<<"$out")" = 400 ] && ok "binary garbage -> 400" || bad "binary garbage" "$out"
  expect_http 200 "still healthy after bad input" GET /v1/health

  for i in $(seq 1 16); do http POST /v1/recommend "$T/q1" > "$T/par.$i" & done; wait $(jobs -p | grep -v "^$SERVER_PID$") 2>/dev/null
  nsame=0; for i in $(seq 1 16); do same_items "$T/par.$i" "$T/r1" 2>/dev/null && nsame=$((nsame+1)); done
  [ "$nsame" -eq 16 ] && ok "16 concurrent requests agree" || bad "concurrent requests: $nsame of 16 agree"
  stop_server yt
fi

# ---- serve: Faiss index, multi-interest mind ------------------------------------------
start_server mind --run "$T/mind" --index "$T/exp/index.faiss"
if [ -n "$PORT" ]; then
  http GET /v1/info | grep -q '"index":"hnsw"' && ok "info names the hnsw index" || bad "info index"
  http POST /v1/recommend "$T/q1" > "$T/s3"
  $BIN recommend --run "$T/mind" --index "$T/exp/index.faiss" --user "$U1" --k 7 --json > "$T/r3"
  same_items "$T/s3" "$T/r3" && ok "server = recommend (mind, index)" || bad "server vs recommend (mind)" "$(cat "$T/s3" "$T/r3")"
  stop_server mind
fi
expect_exit 1 "index of another run (same shape) refused" timeout 120 $BIN serve --run "$T/mind" --index "$T/exp-ivf/index.faiss" --port 0
grep -q "another run" <<<"$ERR" && ok "index mismatch message" || bad "index mismatch message" "$ERR"

echo
echo "serve cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
