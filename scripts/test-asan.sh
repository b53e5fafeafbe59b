#!/usr/bin/env bash
# AddressSanitizer run: builds the addon with -fsanitize=address into build/asan/
# (build/Release, the normal addon, is left alone) and runs the vitest suite
# against it, with libasan preloaded into every node process.
#
#   npm run test:asan                 # both lines' suites
#   npm run test:asan -- test/TcpStream.test.ts   # files of the Effect 4 suite only
#
# Extra ASAN_OPTIONS from the environment are appended. Reports are written to
# build/asan/reports/ and printed at the end; any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

out="$PWD/build/asan"
rm -rf "$out"
mkdir -p "$out/reports"
cp -r binding.gyp native "$out/"

# npm puts its bundled node-gyp on PATH for scripts; fall back to npx otherwise.
gyp=(node-gyp)
command -v node-gyp >/dev/null || gyp=(npx --yes node-gyp)
(
  cd "$out"
  CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g -O1" \
  LDFLAGS="-fsanitize=address" \
    "${gyp[@]}" rebuild
)

# dist/ and effect3/dist/, which the examples' tests import by the package's name.
npm run build

# node-gyp-build loads $EFFECT_NETPOLL_PREBUILD/build/Release/*.node instead of ./build.
export EFFECT_NETPOLL_PREBUILD="$out"
export LD_PRELOAD
LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
# No leak detection by default: vitest's main process reports V8 allocations, and
# LeakSanitizer's exit code 23 from child processes (npm, sort, examples) fails
# tests that check exit codes. ASAN_OPTIONS=detect_leaks=1 turns it on.
export ASAN_OPTIONS="detect_leaks=0:log_path=$out/reports/asan:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

status=0
npx vitest run "$@" || status=$?
if [ "$#" -eq 0 ]; then
  (cd effect3 && npx vitest run) || status=$?
fi

reports=("$out"/reports/asan.*)
if [ -e "${reports[0]}" ]; then
  echo "AddressSanitizer reports (${#reports[@]}):" >&2
  cat "${reports[@]}" >&2
  exit 1
fi
echo "AddressSanitizer: no reports"
exit "$status"
