#!/usr/bin/env bash
# Installs the servers that test/realServers.test.ts starts on loopback (redis-server, nginx),
# that the DNS example's test starts (dnsmasq, from the package dnsmasq-base) and PostgreSQL for
# the cluster tests (test/cluster.test.ts on each line), from Debian's packages when they are
# missing; a no-op when all are there. The tests start
# their own instances on free ports: the packages' system services are never started.
set -uo pipefail

need=()
for bin in redis-server nginx; do
  PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v "$bin" >/dev/null || need+=("$bin")
done
# The binary alone: dnsmasq-base ships no system service to keep from starting.
PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
# Debian keeps initdb and postgres off $PATH, in /usr/lib/postgresql/<major>/bin.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ||
  PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v initdb >/dev/null || need+=(postgresql)
[ "${#need[@]}" -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! sudo -n true 2>/dev/null; then
    echo "test-servers: ${need[*]} missing and no root to install them; install them (Debian:" \
      "apt-get install --no-install-recommends redis-server nginx dnsmasq-base postgresql) or the tests that need them fail" >&2
    exit 0
  fi
  sudo="sudo -n"
fi
if ! command -v apt-get >/dev/null; then
  echo "test-servers: ${need[*]} missing and no apt-get; install them by hand" >&2
  exit 0
fi

echo "test-servers: installing ${need[*]}"
# A policy-rc.d that answers 101 keeps the packages' scripts from starting the services.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
  echo "test-servers: could not install ${need[*]}; the tests that need them fail" >&2
[ -z "$policy" ] || $sudo rm -f "$policy"
exit 0
