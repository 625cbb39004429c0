// Package interop tests the examples against independent WebSocket clients
// over real sockets: Python's websocket-client and websockets (Debian's
// python3-websocket and python3-websockets, run with /usr/bin/python3), Node's
// ws package and Node's built-in WebSocket, and headless Chromium (Debian's
// chromium) driving a page's own new WebSocket(...) through playwright-core.
//
// The test builds the real examples/echo binary (with -race when the test
// runs with -race), starts it on a free loopback port and runs each client's
// script from testdata/ against it as a subtest. Every client checks a
// multi-byte UTF-8 text round trip, a 1 MiB binary round trip, a fragmented
// message (a large text message for the clients that cannot send fragments),
// ping/pong (the server's pings answered, for the clients that cannot send
// pings) and a close with 1000 and a reason. See interop_test.go.
//
// `make test` installs the clients when missing (.ci/peers.d/interop.sh); a
// subtest whose client is absent skips and says how to get it. The npm
// packages live in node_modules here, pinned by package-lock.json.
// Screenshots of the browser's pages go to artifacts/ (git-ignored).
package interop
