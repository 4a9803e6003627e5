#!/usr/bin/env bash
# Install what the project needs when it is missing, so that `make run` and
# `make test` work on a fresh Debian 12 machine (as root).  Nothing is
# installed when everything is already there.
#
#   scripts/deps.sh build   Debian packages to build and run the C tools
#   scripts/deps.sh test    + cross compiler, qemu, Chromium (the dashboard's test),
#                           systemd (systemd-analyze verify), man, PostgreSQL (the otad suites
#                           run on both stores), and the npm packages the tests use
#   scripts/deps.sh bench   + wrk, nginx and the npm peers the benchmarks compare against
#   scripts/deps.sh fuzz    + clang and its libFuzzer runtime (make fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(gcc make pkg-config libsodium-dev libmicrohttpd-dev libcjson-dev
            libcurl4-openssl-dev libsqlite3-dev sqlite3 libpq-dev curl ca-certificates)
test_pkgs=(gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
           qemu-system-arm nodejs npm valgrind iproute2
           chromium fonts-dejavu-core systemd man-db groff-base util-linux
           postgresql)
bench_pkgs=(wrk nginx-light)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  fuzz)  want+=("${fuzz_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench|fuzz" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # Accept a package as present when dpkg knows it is installed; for node and
  # npm, accept any working binary on PATH (they may come from elsewhere).
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm)    command -v npm  >/dev/null 2>&1 && continue ;;
  esac
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages and not root: run as root, or: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the tests and benchmarks, pinned by tests/js/package-lock.json.
if [ "${1:-build}" != build ] && [ "${1:-build}" != fuzz ] && [ -f tests/js/package.json ]; then
  if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.stamp ]; then
    echo "deps: npm ci in tests/js"
    (cd tests/js && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
  fi
fi
