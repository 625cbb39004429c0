#!/usr/bin/env bash
# Peers for the hub, hub/redisbroker and examples/broadcast tests:
# redis-server (Debian), Chromium (Debian, /usr/bin/chromium), Node.js and
# npm, and playwright-core in examples/broadcast/browsertest/node_modules
# (git-ignored; pinned by package-lock.json). Nothing downloads a browser.
# A no-op when everything is present.
set -euo pipefail
cd "$(dirname "$0")/../.."

sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi

need=()
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# apt waits up to 10 minutes for the dpkg lock (another install, or
# unattended-upgrades on a fresh machine) instead of failing at once.
apt() {
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}
install() {
	apt update -qq && apt install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
if [ ${#need[@]} -gt 0 ]; then
	echo "peers/hub: installing ${need[*]}"
	if ! install; then
		echo "peers/hub: install failed; retrying once"
		sleep 5
		install
	fi
fi

bt=examples/broadcast/browsertest
npm_ci() {
	(cd "$bt" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
}
if [ ! -f "$bt/node_modules/playwright-core/package.json" ]; then
	echo "peers/hub: installing playwright-core into $bt/node_modules"
	if ! npm_ci; then
		echo "peers/hub: npm ci failed; retrying once"
		sleep 5
		npm_ci
	fi
fi
