#!/usr/bin/env bash
# Installs the peers of the interop tests (internal/interop) when they are
# missing; a quick no-op when everything is present.
#
#   Debian: python3-websocket, python3-websockets (for /usr/bin/python3),
#           chromium (/usr/bin/chromium), nodejs + npm when node is absent
#   npm:    ws, playwright-core into internal/interop/node_modules, pinned by
#           internal/interop/package-lock.json (no browser download, ever)
#
# `apt-get update` runs only when an install is needed and the first attempt
# (on the package lists already there) failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "peers/interop: $*"; }

missing=()
/usr/bin/python3 -c 'import websocket' >/dev/null 2>&1 || missing+=(python3-websocket)
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || missing+=(python3-websockets)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -gt 0 ]; then
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
			say "need root to install: ${missing[*]}"; exit 1
		fi
	fi
	# Wait up to 10 minutes for the dpkg lock (another install, or
	# unattended-upgrades on a fresh machine) instead of failing at once.
	apt() {
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=600 "$@"
	}
	apt_install() { apt install -y -q --no-install-recommends "${missing[@]}"; }
	say "installing ${missing[*]}"
	if ! apt_install; then
		say "first attempt failed: apt-get update, then again"
		apt update -q && apt_install
	fi
fi

# npm packages: install when node_modules is missing or older than the lock.
dir=internal/interop
stamp=$dir/node_modules/.package-lock.json
if [ ! -d "$dir/node_modules/ws" ] || [ ! -d "$dir/node_modules/playwright-core" ] ||
	[ ! -e "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
	npm_ci() { (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error); }
	say "npm ci in $dir"
	if ! npm_ci; then
		say "npm ci failed; retrying once"
		sleep 5
		npm_ci
	fi
fi
