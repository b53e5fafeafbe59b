#!/usr/bin/env bash
# Builds the bench's Go echo server and client (bench/go/main.go) into bench/go/bin/netbench,
# installing Go first when it is missing (`apt-get install -y golang-go`, as root or with
# passwordless sudo). Called by the bench runner (bench/run.ts) when `go` is one of the
# implementations; never by `npm test`. On failure it writes why to bench/go/bin/skip-reason,
# prints it and exits 1: the runner then skips the go row instead of failing the bench.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/go/bin"
mkdir -p "$bin"
rm -f "$bin/skip-reason"

skip() {
  echo "$*" > "$bin/skip-reason"
  echo "setup-go: $*" >&2
  exit 1
}

# apt's golang-go puts `go` in /usr/bin; a manual install is often in /usr/local/go/bin.
export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"

if ! command -v go >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    skip "go is not installed and installing it needs root (apt-get install -y golang-go)"
  fi
  command -v apt-get >/dev/null 2>&1 || skip "go is not installed and there is no apt-get to install it"
  echo "setup-go: go not found; installing golang-go with apt-get" >&2
  log="$bin/apt.log"
  if ! { "${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y golang-go; } >"$log" 2>&1; then
    skip "apt-get install -y golang-go failed (see ${log#"$here/../"}): $(tail -n 1 "$log")"
  fi
  command -v go >/dev/null 2>&1 || skip "golang-go installed but go is not on PATH"
fi

# A private build cache under bin/ when HOME has none to offer.
export GOCACHE="${GOCACHE:-$(go env GOCACHE 2>/dev/null)}"
case "$GOCACHE" in "" | off) export GOCACHE="$bin/cache" ;; esac
export GOFLAGS="${GOFLAGS:-} -mod=mod" GO111MODULE=on GOTOOLCHAIN=local

if ! out="$(cd "$here/go" && go build -trimpath -o "$bin/netbench.tmp" . 2>&1)"; then
  skip "go build failed: $out"
fi
mv "$bin/netbench.tmp" "$bin/netbench"
go version > "$bin/version"
echo "setup-go: built bench/go/bin/netbench with $(cat "$bin/version")" >&2
