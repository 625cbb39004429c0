package engine

import (
	"crypto/tls"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// BenchmarkTLSEcho is BenchmarkEcho over wss://. The client is crypto/tls
// in the same process, so its allocations count too: the one allocation
// per TLS 1.3 round trip is the client's (crypto/tls's readFromUntil, seen
// with -memprofilerate 1); the server's TLS 1.3 path allocates nothing
// while the connection's ciphers are in its loop's cache. Over TLS 1.2 the
// server's crypto/tls allocates as the client's does.
func BenchmarkTLSEcho(b *testing.B) {
	for _, v := range tlsVersions {
		for _, size := range []int{64, 1 << 10, 16 << 10, 1 << 20} {
			b.Run(v.name+"/"+byteSize(size), func(b *testing.B) {
				_, addr := startTLS(b, Handlers{
					Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
				}, func(c *Config) { largeConfig(c); c.EventLoops = 1 })
				c := dial(b, addr, &wstest.DialOptions{TLS: clientTLS(b, v.v)})
				frame := wstest.EncodeFrame(ws.OpBinary, true, 0, true, make([]byte, size))
				reply := make([]byte, len(codec.AppendFrame(nil, codec.OpBinary, make([]byte, size))))
				conn := c.Conn.(*tls.Conn)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := conn.Write(frame); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(conn, reply); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTLSEchoConns is BenchmarkTLSEcho (TLS 1.3, 64 B) over many
// connections taken in turn, more than the loop's cipher cache holds
// (64 before tls_cache.go), as a server with that many active clients
// sees them. The tick is the default one (the cache drops the ciphers of
// connections without traffic for a tick; tests tick every 20 ms).
func BenchmarkTLSEchoConns(b *testing.B) {
	for _, n := range []int{32, 1000} {
		b.Run("conns="+strconv.Itoa(n), func(b *testing.B) {
			_, addr := startTLS(b, Handlers{
				Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
			}, func(c *Config) { largeConfig(c); c.EventLoops = 1; c.TickInterval = DefaultTickInterval })
			conns := make([]*tls.Conn, n)
			cfg := clientTLS(b, tls.VersionTLS13)
			for i := range conns {
				conns[i] = dial(b, addr, &wstest.DialOptions{TLS: cfg}).Conn.(*tls.Conn)
			}
			frame := wstest.EncodeFrame(ws.OpBinary, true, 0, true, make([]byte, 64))
			reply := make([]byte, len(codec.AppendFrame(nil, codec.OpBinary, make([]byte, 64))))
			b.SetBytes(64)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				conn := conns[i%n]
				i++
				if _, err := conn.Write(frame); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, reply); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU (server and crypto/tls clients) per
			// round trip: on a loaded machine a steadier figure than ns/op.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
