package engine

import (
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
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

// BenchmarkTLSHandshake opens wss:// connections (TCP, TLS 1.3 handshake,
// upgrade, then a reset) from conc goroutines, against the engine and
// against net/http + crypto/tls (a goroutine per connection, the upgrade
// answered by hand after Hijack) serving the same certificate in the same
// process. The clients are the same crypto/tls code for both, so the
// difference in cpu-us/conn (the process's CPU per connection, clients
// included) is the servers'. resume=1: the clients share a session cache,
// so every connection after the first resumes a TLS 1.3 session (PSK with
// a fresh key exchange, no certificate). Run both with -count to
// interleave them:
//
//	go test -run '^$' -bench 'TLSHandshake' -count 4 ./engine/
func BenchmarkTLSHandshake(b *testing.B) {
	up := func(w http.ResponseWriter, r *http.Request) {
		h, ok := w.(http.Hijacker)
		if !ok {
			return
		}
		conn, brw, err := h.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			wstest.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		_ = brw.Flush()
		_, _ = io.Copy(io.Discard, brw) // until the client's reset
	}
	for _, resume := range []bool{false, true} {
		for _, conc := range []int{1, 16} {
			for _, name := range []string{"engine", "nethttp"} {
				sub := name + "/conc=" + strconv.Itoa(conc)
				if resume {
					sub += "/resume=1"
				}
				b.Run(sub, func(b *testing.B) {
					var addr string
					if name == "engine" {
						_, addr = startTLS(b, Handlers{}, func(c *Config) {
							c.MaxHandshakesPerSecond = 0
							c.Logger = slog.New(slog.DiscardHandler)
						})
					} else {
						ln, err := net.Listen("tcp", "127.0.0.1:0")
						if err != nil {
							b.Fatal(err)
						}
						srv := &http.Server{Handler: http.HandlerFunc(up), TLSConfig: cert(b).ServerConfig(), ErrorLog: log.New(io.Discard, "", 0)}
						go func() { _ = srv.ServeTLS(ln, "", "") }()
						b.Cleanup(func() { _ = srv.Close() })
						addr = ln.Addr().String()
					}
					opts := &wstest.DialOptions{TLS: clientTLS(b, tls.VersionTLS13)}
					if resume {
						opts.TLS.ClientSessionCache = tls.NewLRUClientSessionCache(64)
					}
					var failed atomic.Int64
					next := make(chan struct{})
					var wg sync.WaitGroup
					for range conc {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for range next {
								c, err := wstest.Dial(addr, opts)
								if err != nil {
									failed.Add(1)
									continue
								}
								nc := c.Conn.(*tls.Conn).NetConn().(*net.TCPConn)
								_ = nc.SetLinger(0)
								_ = nc.Close()
							}
						}()
					}
					runtime.GC()
					cpu0 := cpuTime()
					b.ResetTimer()
					for range b.N {
						next <- struct{}{}
					}
					close(next)
					wg.Wait()
					b.StopTimer()
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/conn")
					if n := failed.Load(); n > 0 {
						b.Fatalf("%d connections failed", n)
					}
				})
			}
		}
	}
}
