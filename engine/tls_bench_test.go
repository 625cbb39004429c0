package engine

import (
	"crypto/tls"
	"io"
	"testing"

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
