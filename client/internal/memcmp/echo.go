package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-ws/switchboard/client"
)

// gorillaConn serializes writes: gorilla allows one writer at a time.
type gorillaConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (g *gorillaConn) write(p []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c.WriteMessage(websocket.BinaryMessage, p)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// echoRun starts one message on every connection; each echo is sent back
// at once (a closed loop per connection) for d.
func echoRun(impl string, conns []any, payload []byte, echoing *atomic.Bool, echoed *atomic.Int64, d time.Duration) {
	if len(payload) == 0 {
		payload = make([]byte, 64)
	}
	echoing.Store(true)
	cpu0, t0 := cpuTime(), time.Now()
	for _, v := range conns {
		switch c := v.(type) {
		case *client.Conn:
			_ = c.WriteBinary(payload)
		case *gorillaConn:
			_ = c.write(payload)
		}
	}
	time.Sleep(d)
	n := echoed.Load()
	cpu, el := cpuTime()-cpu0, time.Since(t0)
	echoing.Store(false)
	fmt.Printf("echo impl=%s size=%dB messages=%d rate=%.0f/s client_cpu_per_msg=%.2fµs\n",
		impl, len(payload), n, float64(n)/el.Seconds(), float64(cpu.Microseconds())/float64(max(n, 1)))
}
