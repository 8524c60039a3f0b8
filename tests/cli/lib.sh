# Helpers shared by the CLI test scripts (sourced): pass/fail counting and
# exit-code / message checks.
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2"; }

# expect_exit CODE NAME CMD...: runs CMD, checks its exit code; keeps stderr in $ERR.
expect_exit() {
  local code=$1 name=$2; shift 2
  ERR=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ "$rc" -eq "$code" ]; then ok "$name"; else bad "$name (exit $rc, expected $code)" "$ERR"; fi
}
# expect_err PATTERN NAME: the last stderr matches PATTERN and is one line.
expect_err() {
  if grep -qE "$1" <<<"$ERR" && [ "$(wc -l <<<"$ERR")" -eq 1 ]; then ok "$2"; else bad "$2" "$ERR"; fi
}
