// Command nbio is the benchmark's lesismal/nbio server: nbhttp on epoll
// event loops (non-blocking IO mod, the default) with its websocket
// Upgrader. Settings from nbio's examples for many connections: MaxLoad
// 1M, ReleaseWebsocketPayload on, compression off unless -compression
// no-context-takeover (Upgrader.EnableCompression: nbio always answers
// server_no_context_takeover and client_no_context_takeover, compresses
// every data message with compress/flate at level 1 from a pool, and has
// no context takeover mode). Heartbeat: nbio's own
// KeepaliveTime (a read deadline, 120s by default) stays on; the load
// generator's pings keep connections alive. Its message limit is 4 MiB by
// default; -max-message N sets it (Upgrader.MessageLengthLimit, and the
// engine's ReadLimit to at least 2N: it bounds the bytes a connection
// buffers while parsing, 64 MiB by default). It writes a message
// in 32 KiB frames (its MaxWebsocketFramePayloadSize), left as it is.
//
// -tls-cert and -tls-key serve wss:// instead (package tlsflag): crypto/tls
// with its defaults, through lesismal/llib v1.2.2, nbio's non-blocking
// fork of it (nbhttp.Config.AddrsTLS with an llib TLSConfig).
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"

	llibtls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/tlsflag"
)

var (
	mu    sync.RWMutex
	conns = map[*websocket.Conn]struct{}{}
)

func newUpgrader(maxMessage int, compress bool) *websocket.Upgrader {
	u := websocket.NewUpgrader()
	u.EnableCompression(compress)
	if maxMessage > 0 {
		u.MessageLengthLimit = maxMessage
	}
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.OnOpen(func(c *websocket.Conn) {
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		ctl.Conns.Add(1)
	})
	u.OnMessage(func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
		if ctl.Broadcast(data) {
			broadcast(data)
			return
		}
		_ = c.WriteMessage(typ, data)
	})
	u.OnClose(func(c *websocket.Conn, err error) {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
		ctl.Conns.Add(-1)
	})
	return u
}

// broadcast writes to every connection; nbio's WriteMessage queues on the
// connection without blocking.
func broadcast(data []byte) {
	mu.RLock()
	defer mu.RUnlock()
	for c := range conns {
		_ = c.WriteMessage(websocket.BinaryMessage, data)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9004", "listen address (loopback)")
	maxMsg := flag.Int("max-message", 0, "largest message in bytes (0: nbio's default, 4 MiB)")
	tlsFlags := tlsflag.Register()
	mode := flag.String("compression", "off", "permessage-deflate: off or no-context-takeover (nbio has no context takeover)")
	flag.Parse()
	if *mode != "off" && *mode != "no-context-takeover" {
		fmt.Fprintf(os.Stderr, "-compression %q: nbio offers off or no-context-takeover\n", *mode)
		os.Exit(2)
	}
	logging.SetLevel(logging.LevelError)
	u := newUpgrader(*maxMsg, *mode == "no-context-takeover")
	conf := nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{*addr},
		MaxLoad:                 1000000,
		ReadLimit:               max(nbhttp.DefaultHTTPReadLimit, 2**maxMsg),
		ReleaseWebsocketPayload: true,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = u.Upgrade(w, r, nil)
		}),
	}
	if tlsFlags.On() {
		// nbio's non-blocking TLS: lesismal/llib's
		// fork of crypto/tls (v1.2.2, the version nbio v1.6.8 requires)
		pair, err := llibtls.LoadX509KeyPair(*tlsFlags.Cert, *tlsFlags.Key)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		conf.Addrs, conf.AddrsTLS = nil, []string{*addr}
		conf.TLSConfig = &llibtls.Config{Certificates: []llibtls.Certificate{pair}}
	}
	engine := nbhttp.NewEngine(conf)
	if err := engine.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctl.Ready(*addr)
	select {}
}
