// Command gnet is the floor: a plain gnet v2 TCP echo server, no WebSocket,
// with the gnet options switchboard's engine uses (multicore, one loop per
// CPU, SO_REUSEPORT, ticker, TCP_NODELAY, a 256 KiB read buffer per loop).
// TCP has no message framing, so it has no broadcast, but it keeps the same
// set of connections the other servers keep for theirs: the difference in
// memory between it and switchboard is the WebSocket layer alone.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
)

type server struct {
	gnet.BuiltinEventEngine
	addr  string
	mu    sync.Mutex
	conns map[int]struct{} // by fd: an 8-byte key, like the others' sets
}

func (s *server) OnBoot(gnet.Engine) gnet.Action {
	ctl.Ready(s.addr)
	return gnet.None
}

func (s *server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	s.mu.Lock()
	s.conns[c.Fd()] = struct{}{}
	s.mu.Unlock()
	ctl.Conns.Add(1)
	return nil, gnet.None
}

func (s *server) OnClose(c gnet.Conn, _ error) gnet.Action {
	s.mu.Lock()
	delete(s.conns, c.Fd())
	s.mu.Unlock()
	ctl.Conns.Add(-1)
	return gnet.None
}

// OnTick matches the engine's 250ms tick (its timer wheels run on it).
func (s *server) OnTick() (time.Duration, gnet.Action) { return 250 * time.Millisecond, gnet.None }

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9006", "listen address (loopback)")
	loops := flag.Int("loops", 0, "event loops (0: one per CPU)")
	// TCP has no messages: the flag every server takes changes nothing here.
	_ = flag.Int64("max-message", 0, "ignored (no messages in plain TCP)")
	flag.Parse()
	if *loops == 0 {
		*loops = runtime.NumCPU()
	}
	err := gnet.Run(&server{addr: *addr, conns: map[int]struct{}{}}, "tcp://"+*addr,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(*loops),
		gnet.WithReusePort(true),
		gnet.WithTicker(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReadBufferCap(256<<10), // engine.DefaultReadBufferSize
		gnet.WithLogLevel(logging.ErrorLevel),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
