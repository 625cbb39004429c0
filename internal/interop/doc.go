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
// tls_test.go runs the same clients and cases over wss://, against the echo
// serving TLS only with a certificate from a CA the test makes: each client
// verifies the certificate against that CA (INTEROP_CA; Node's built-in
// WebSocket through NODE_EXTRA_CA_CERTS), and Chromium accepts it by its
// SPKI pin (INTEROP_SPKI, --ignore-certificate-errors-spki-list). It also
// drives the echo through `openssl s_client` forced to TLS 1.2 and to TLS
// 1.3 (upgrade and masked frames on its stdin), and checks that
// -tls-self-signed -tls-addr serves ws:// and wss:// at once with the SPKI
// pin the echo prints.
//
// `make test` installs the clients when missing (.ci/peers.d/interop.sh); a
// subtest whose client is absent skips and says how to get it. The npm
// packages live in node_modules here, pinned by package-lock.json.
// Screenshots of the browser's pages go to artifacts/ (git-ignored).
package interop
