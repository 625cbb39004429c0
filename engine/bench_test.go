package engine

import (
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// BenchmarkEcho measures one round trip through the server (read, decode,
// OnMessage, write) over loopback. The client writes a pre-encoded masked
// frame and reads the echo into a fixed buffer, so the allocations reported
// are the server's steady state: 0.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 1 << 10, 16 << 10, 64 << 10, 1 << 20, 16 << 20} {
		b.Run(byteSize(size), func(b *testing.B) {
			_, addr := startServer(b, Handlers{
				Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
			}, func(c *Config) { largeConfig(c); c.EventLoops = 1 })
			c := dial(b, addr, nil)
			frame := wstest.EncodeFrame(ws.OpBinary, true, 0, true, make([]byte, size))
			reply := make([]byte, len(codec.AppendFrame(nil, codec.OpBinary, make([]byte, size))))
			conn := c.Conn.(*net.TCPConn)
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

// BenchmarkBroadcastPrepared writes one prepared frame to many connections
// on their loop, as the hub does: 0 allocations per delivery.
func BenchmarkBroadcastPrepared(b *testing.B) {
	const conns = 100
	opened := make(chan *Conn, conns)
	_, addr := startServer(b, Handlers{Open: func(c *Conn) { opened <- c }}, func(c *Config) { c.EventLoops = 1 })
	clients := make([]*net.TCPConn, conns)
	server := make([]*Conn, conns)
	for i := range conns {
		clients[i] = dial(b, addr, nil).Conn.(*net.TCPConn)
		server[i] = <-opened
	}
	frame := codec.NewPreparedFrame(codec.OpText, make([]byte, 64))
	buf := make([]byte, len(frame.Bytes()))
	done := make(chan struct{}, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = server[0].Loop().Execute(func() {
			for _, c := range server {
				_ = c.WritePrepared(frame)
			}
			done <- struct{}{}
		})
		<-done
		for _, cl := range clients {
			if _, err := io.ReadFull(cl, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(conns), "deliveries/op")
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
