#!/usr/bin/env bash
# Peer of the wss:// interop tests (internal/interop/tls_test.go) and of
# examples/internal/tlsflags's pin test: the openssl command line (Debian
# openssl), for `openssl s_client -tls1_2 / -tls1_3`. The other wss://
# clients are those of interop.sh. A no-op when openssl is present.
set -euo pipefail

command -v openssl >/dev/null 2>&1 && exit 0

say() { echo "peers/tls: $*"; }
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
		say "need root to install openssl"; exit 1
	fi
fi
# Wait up to 10 minutes for the dpkg lock (another install, or
# unattended-upgrades on a fresh machine) instead of failing at once.
apt() {
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}
install() { apt install -y -q --no-install-recommends openssl; }
say "installing openssl"
if ! install; then
	say "first attempt failed: apt-get update, then again"
	apt update -q && install
fi
