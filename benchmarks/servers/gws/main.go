// Command gws is the benchmark's lxzan/gws server: gws.NewServer (one
// goroutine per connection running ReadLoop), recovery on, compression off
// unless -compression no-context-takeover|context-takeover turns on gws's
// PermessageDeflate (its defaults otherwise: level 1 with klauspost/compress,
// threshold 512 bytes, a pool of 32 compressors; under context takeover
// -compression-window bits, 12 by default, both directions, as
// switchboard's),
// and the heartbeat of gws's README: a read deadline of ping interval plus
// wait (25s + 10s) set at open and pushed back on every ping from the
// client (the load generator pings every 20s). Broadcast uses
// gws.Broadcaster (encode once, written through each connection's queue).
// Its payload limits are 16 MiB each way by default; -max-message N sets
// both (ReadMaxPayloadSize, WriteMaxPayloadSize).
//
// -tls-cert and -tls-key serve wss:// instead (package tlsflag): crypto/tls
// with its defaults.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/lxzan/gws"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/tlsflag"
)

const (
	pingInterval = 25 * time.Second
	pingWait     = 10 * time.Second
)

var (
	mu    sync.RWMutex
	conns = map[*gws.Conn]struct{}{}
)

type handler struct{ gws.BuiltinEventHandler }

func (handler) OnOpen(c *gws.Conn) {
	_ = c.SetDeadline(time.Now().Add(pingInterval + pingWait))
	mu.Lock()
	conns[c] = struct{}{}
	mu.Unlock()
	ctl.Conns.Add(1)
}

func (handler) OnClose(c *gws.Conn, err error) {
	mu.Lock()
	delete(conns, c)
	mu.Unlock()
	ctl.Conns.Add(-1)
}

func (handler) OnPing(c *gws.Conn, payload []byte) {
	_ = c.SetDeadline(time.Now().Add(pingInterval + pingWait))
	_ = c.WritePong(payload)
}

func (handler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	data := m.Bytes()
	if ctl.Broadcast(data) {
		broadcast(append([]byte(nil), data...))
		return
	}
	_ = c.WriteMessage(m.Opcode, data)
}

func broadcast(data []byte) {
	b := gws.NewBroadcaster(gws.OpcodeBinary, data)
	defer b.Close()
	mu.RLock()
	defer mu.RUnlock()
	for c := range conns {
		_ = b.Broadcast(c)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9003", "listen address (loopback)")
	maxMsg := flag.Int("max-message", 0, "largest message in bytes, read and written (0: gws's default, 16 MiB)")
	mode := flag.String("compression", "off", "permessage-deflate: off, no-context-takeover or context-takeover")
	window := flag.Int("compression-window", 12, "window bits (9..15) per connection and direction under context-takeover")
	tlsFlags := tlsflag.Register()
	flag.Parse()
	pd := gws.PermessageDeflate{Enabled: false}
	switch *mode {
	case "off":
	case "no-context-takeover":
		pd = gws.PermessageDeflate{Enabled: true}
	case "context-takeover":
		pd = gws.PermessageDeflate{Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true,
			ServerMaxWindowBits: *window, ClientMaxWindowBits: *window}
	default:
		fmt.Fprintf(os.Stderr, "-compression %q: want off, no-context-takeover or context-takeover\n", *mode)
		os.Exit(2)
	}
	srv := gws.NewServer(handler{}, &gws.ServerOption{
		Recovery:            gws.Recovery,
		PermessageDeflate:   pd,
		ReadMaxPayloadSize:  *maxMsg, // 0: the default
		WriteMaxPayloadSize: *maxMsg,
	})
	srv.OnError = func(net.Conn, error) {}
	ln, err := tlsFlags.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctl.Ready(ln.Addr().String())
	if err := srv.RunListener(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
