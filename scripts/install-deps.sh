#!/usr/bin/env bash
# Installs the Debian packages cltower needs, only those missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --parity   + PyTorch (the reference for make test-parity)
#   scripts/install-deps.sh --bench    + PyTorch, Faiss, hyperfine, wrk (benchmarks)
#   scripts/install-deps.sh --fuzz     + clang-14 and its libFuzzer/sanitizer runtimes (make fuzz)
set -euo pipefail

pkgs=(gcc make libc6-dev libopenblas-openmp-dev libcjson-dev zlib1g-dev python3
      g++ libfaiss-dev libmicrohttpd-dev curl)  # serving: Faiss (C++; LAPACK comes from OpenBLAS), HTTP; curl for tests
for arg in "$@"; do
  case "$arg" in
    --parity) pkgs+=(python3-torch python3-numpy) ;;
    --bench) pkgs+=(python3-torch python3-numpy python3-faiss hyperfine wrk time) ;;
    --fuzz) pkgs+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
