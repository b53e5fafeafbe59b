#!/usr/bin/env bash
# npm run test:stress: the stress parts in full (test/stress/*.stress.ts), on real loopback sockets:
# 100,000 randomly interrupted connect/accept/read/write/close cycles with fds and heap checked,
# the fault proxy (1-byte slices, stalls, resets, half-close, blackhole), a fast-check fuzz of every
# public function's arguments, EMFILE under `ulimit -n 64`, and worker threads ended mid-traffic.
# `npm test` runs the same parts at reduced scale (test/stress/reduced.test.ts).
#
#   npm run test:stress                     both lines, every part
#   STRESS_LINE=effect4 npm run test:stress  one line (effect4 or effect3)
#   npm run test:stress -- cycles fuzz       only the parts whose file names match (vitest filters)
#   STRESS_SEED=123 npm run test:stress      another seed (the default is fixed; failures print it)
set -uo pipefail
cd "$(dirname "$0")/.."

line="${STRESS_LINE:-both}"
case "$line" in
  both | effect4 | effect3) ;;
  *) echo "test-stress: STRESS_LINE must be effect4, effect3 or both, not '$line'" >&2; exit 2 ;;
esac

# The worker part loads the built package (dist/, effect3/dist/) in its worker threads.
npm run build || exit 1

status=0
start=$SECONDS
if [ "$line" != effect3 ]; then
  echo "test-stress: Effect 4 line"
  npx vitest run --config test/stress/vitest.config.ts "$@" || status=1
fi
if [ "$line" != effect4 ]; then
  echo "test-stress: Effect 3 line"
  (cd effect3 && npx vitest run --config test/stress/vitest.config.ts "$@") || status=1
fi
echo "test-stress: $((SECONDS - start)) s, $([ "$status" -eq 0 ] && echo passed || echo FAILED)"
exit "$status"
