package client

import (
	"crypto/tls"
	"testing"

	"github.com/switchboard-ws/switchboard/engine"
)

// BenchmarkEchoRoundTrip: one connection, a 64-byte message to the engine's
// echo and back, written from the handler (on the loop). allocs/op counts
// the whole process: client and in-process server.
func BenchmarkEchoRoundTrip(b *testing.B) { benchEcho(b, 0) }

// BenchmarkEchoRoundTripWSS: the same over wss:// (TLS 1.3 on both sides'
// event-loop record layers; TLS 1.2 on crypto/tls in the second).
func BenchmarkEchoRoundTripWSS(b *testing.B) {
	b.Run("TLS1.3", func(b *testing.B) { benchEcho(b, tls.VersionTLS13) })
	b.Run("TLS1.2", func(b *testing.B) { benchEcho(b, tls.VersionTLS12) })
}

func benchEcho(b *testing.B, version uint16) {
	var tc, sc *tls.Config
	scheme := "ws://"
	if version != 0 {
		cert := testCert(b)
		sc, tc = cert.ServerConfig(), cert.ClientConfig("localhost")
		tc.MaxVersion = version
		scheme = "wss://"
	}
	_, addr := echoServer(b, func(c *engine.Config) {
		c.MaxMessagesPerSecond, c.MaxBytesPerSecond = 0, 0
		c.TLS = sc
	})
	cl := newClient(b)
	done := make(chan struct{})
	n := 0
	payload := make([]byte, 64)
	h := &Handlers{Message: func(c *Conn, _ MessageType, data []byte) {
		n++
		if n >= b.N {
			close(done)
			return
		}
		_ = c.WriteBinary(data)
	}, Close: func(_ *Conn, err error) {
		if n < b.N {
			b.Error(err)
			close(done)
		}
	}}
	c, err := (&Dialer{Client: cl, TLSConfig: tc}).Dial(ctx10(b), scheme+addr+"/", h)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	_ = c.WriteBinary(payload)
	<-done
}
